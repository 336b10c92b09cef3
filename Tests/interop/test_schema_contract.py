"""Schema/topology.proto compiles with the official protoc, and keeps the wire contract: every message,
field number, type and presence that CONTRACT.md lists (section 1 and the Frame/Status block of
section 2), every enum value; additions only at field numbers 20 and up. Its `service TopologyService` is the
existing runtime's (seed_topology_service.txt, a copy of that runtime's declaration): same methods,
request and response types and streaming kinds, which CONTRACT.md's list of RPCs names too.

CONTRACT.md lives in the project's shared folder (../shared/CONTRACT.md next to the repository);
TOPOLOGY_CONTRACT overrides the path."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from interop_support import FD, REPO, pb
from seed_service import SEED_SERVICE, SERVICE, descriptor_methods, parse_service_declaration, seed_methods

SCHEMA = REPO / "Schema" / "topology.proto"

SCALARS = {
    "string": FD.TYPE_STRING, "bool": FD.TYPE_BOOL, "int32": FD.TYPE_INT32, "int64": FD.TYPE_INT64,
    "uint64": FD.TYPE_UINT64, "uint32": FD.TYPE_UINT32, "double": FD.TYPE_DOUBLE, "float": FD.TYPE_FLOAT,
    "sint32": FD.TYPE_SINT32, "sint64": FD.TYPE_SINT64, "bytes": FD.TYPE_BYTES,
}


def contract_path():
    configured = os.environ.get("TOPOLOGY_CONTRACT")
    return Path(configured) if configured else REPO.parent / "shared" / "CONTRACT.md"


@pytest.fixture(scope="module")
def contract():
    path = contract_path()
    if not path.is_file():
        pytest.skip(f"CONTRACT.md not found at {path} (set TOPOLOGY_CONTRACT)")
    return path.read_text(encoding="utf-8")


def test_protoc_compiles_the_schema(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{SCHEMA.parent}", "--fatal_warnings",
         f"--descriptor_set_out={tmp_path / 'topology.pb'}", f"--python_out={tmp_path}", SCHEMA.name],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", f"protoc warnings: {result.stderr}"
    files = descriptor_pb2.FileDescriptorSet.FromString((tmp_path / "topology.pb").read_bytes())
    (file,) = files.file
    assert file.package == "runtime.v1"
    assert file.syntax == "proto3"


def parse_contract_messages(text):
    """{message: {field: (number, type, optional, repeated)}} from the contract's Messages list."""
    section = text.split("Messages (field = number : type):", 1)[1].split("\nThe RPCs", 1)[0]
    messages = {}
    for line in section.strip().splitlines():
        match = re.fullmatch(r"- (\w+): (.*)", line.strip())
        assert match, f"unparsed contract line: {line!r}"
        fields = {}
        for item in match.group(2).split(", "):
            m = re.fullmatch(r"(\w+)=(\d+) (opt |repeated )?(\w+)", item.strip())
            assert m, f"unparsed field {item!r} in {line!r}"
            name, number, modifier, type_name = m.groups()
            fields[name] = (int(number), type_name, modifier == "opt ", modifier == "repeated ")
        messages[match.group(1)] = fields
    return messages


def parse_contract_transport(text):
    """The Frame and Status messages of section 2, written there as proto: {message: {field: ...}}."""
    messages = {}
    for name, body in re.findall(r"message (\w+) \{(.*?)\n    \}", text, re.S):
        fields = {}
        for type_name, field, number in re.findall(r"^\s+(\w+)\s+(\w+)\s*=\s*(\d+);", body, re.M):
            fields[field] = (int(number), type_name, False, False)
        messages[name] = fields
    return messages


def parse_contract_enums(text):
    section = text.split("Enums (zero value first):", 1)[1].split("Messages (field", 1)[0]
    enums = {}
    for line in section.strip().splitlines():
        match = re.fullmatch(r"- (\w+): (.*) \((?:each )?prefixed (\w+)\)", line.strip())
        assert match, f"unparsed contract line: {line!r}"
        enum, values, prefix = match.groups()
        parsed = {}
        for item in values.split(", "):
            value_name, number = item.strip().split("=")
            parsed[value_name if value_name.startswith(prefix) else prefix + value_name] = int(number)
        enums[enum] = parsed
    return enums


def field_kind(field):
    if field.type == FD.TYPE_MESSAGE:
        return field.message_type.name
    if field.type == FD.TYPE_ENUM:
        return field.enum_type.name
    return next(name for name, t in SCALARS.items() if t == field.type)


def is_proto3_optional(field):
    oneof = field.containing_oneof
    return oneof is not None and oneof.name == "_" + field.name


def check_message(name, fields, problems):
    descriptor = pb.DESCRIPTOR.message_types_by_name.get(name)
    if descriptor is None:
        problems.append(f"{name}: missing from the schema")
        return
    for field_name, (number, type_name, optional, repeated) in fields.items():
        field = descriptor.fields_by_name.get(field_name)
        if field is None:
            problems.append(f"{name}.{field_name}: missing")
            continue
        if field.number != number:
            problems.append(f"{name}.{field_name}: number {field.number}, contract says {number}")
        if field_kind(field) != type_name:
            problems.append(f"{name}.{field_name}: type {field_kind(field)}, contract says {type_name}")
        if is_proto3_optional(field) != optional:
            problems.append(f"{name}.{field_name}: optional={is_proto3_optional(field)}, contract says {optional}")
        if field.is_repeated != repeated:
            problems.append(f"{name}.{field_name}: repeated={field.is_repeated}, contract says {repeated}")
    contract_numbers = {number for number, *_ in fields.values()}
    for field in descriptor.fields:
        if field.name not in fields and field.number < 20 and name != "Frame":
            problems.append(f"{name}.{field.name} = {field.number}: an addition must be numbered 20 or up")
        if field.name not in fields and field.number in contract_numbers:
            problems.append(f"{name}.{field.name} reuses contract number {field.number}")


def test_contract_messages_match_the_schema(contract):
    messages = parse_contract_messages(contract)
    assert len(messages) == 21, f"parsed {len(messages)} messages from the contract's list"
    problems = []
    for name, fields in messages.items():
        check_message(name, fields, problems)
    assert not problems, "\n".join(problems)


def test_contract_frame_and_status_match_the_schema(contract):
    messages = parse_contract_transport(contract)
    assert set(messages) == {"Frame", "Status"}
    assert len(messages["Frame"]) == 15 and len(messages["Status"]) == 2
    problems = []
    for name, fields in messages.items():
        check_message(name, fields, problems)
    frame = pb.DESCRIPTOR.message_types_by_name["Frame"]
    members = {f.name: f.number for f in frame.oneofs_by_name["message"].fields}
    contract_members = {name: number for name, (number, *_) in messages["Frame"].items() if number >= 10}
    assert set(contract_members) <= set(members), "a contract oneof member is missing from the schema"
    # Topology's own members (the authenticate handshake) come after the contract's, never between.
    for name, number in members.items():
        if name not in contract_members and number <= max(contract_members.values()):
            problems.append(f"Frame.{name} = {number}: an added oneof member must be numbered past the contract's")
    assert not problems, "\n".join(problems)


def test_authenticate_additions():
    frame = pb.DESCRIPTOR.message_types_by_name["Frame"]
    assert frame.fields_by_name["authenticate_request"].number == 22
    assert frame.fields_by_name["authenticate_response"].number == 23
    assert frame.fields_by_name["authenticate_request"].containing_oneof.name == "message"
    request = pb.DESCRIPTOR.message_types_by_name["AuthenticateRequest"]
    assert [(f.name, f.number, f.type) for f in request.fields] == [("token", 1, FD.TYPE_STRING)]
    response = pb.DESCRIPTOR.message_types_by_name["AuthenticateResponse"]
    assert [(f.name, f.number, f.type) for f in response.fields] == [("authenticated", 1, FD.TYPE_BOOL)]


def test_contract_enums_match_the_schema(contract):
    enums = parse_contract_enums(contract)
    assert len(enums) == 7
    problems = []
    for enum, values in enums.items():
        descriptor = pb.DESCRIPTOR.enum_types_by_name.get(enum)
        if descriptor is None:
            problems.append(f"enum {enum}: missing")
            continue
        schema_values = {v.name: v.number for v in descriptor.values}
        for value_name, number in values.items():
            if schema_values.get(value_name) != number:
                problems.append(f"{enum}.{value_name}: schema {schema_values.get(value_name)}, contract {number}")
        assert descriptor.values[0].number == 0
        for value_name, number in schema_values.items():
            if value_name not in values and number in values.values():
                problems.append(f"{enum}.{value_name} reuses contract number {number}")
    assert not problems, "\n".join(problems)


def test_issue_2_enum_additions():
    language = pb.DESCRIPTOR.enum_types_by_name["ServiceLanguage"]
    assert language.values_by_name["SERVICE_LANGUAGE_C"].number == 8
    assert language.values_by_name["SERVICE_LANGUAGE_SWIFT"].number == 9


def test_the_contract_parser_catches_a_renumbered_field():
    """The comparison must be able to fail."""
    problems = []
    check_message("HeartbeatRequest", {"service_id": (1, "string", False, False),
                                       "sequence": (3, "int64", False, False),
                                       "metrics": (3, "ServiceMetrics", False, False)}, problems)
    assert any("sequence: number 2" in p for p in problems)
    assert any("metrics: optional=True" in p for p in problems)


# The contract's words for the streaming kinds: (client streams, server streams).
CONTRACT_KINDS = {"unary": (False, False), "client stream": (True, False), "server stream": (False, True),
                  "bidirectional stream": (True, True)}


def parse_contract_rpcs(text):
    """{method: (client streams, server streams)} from "The RPCs these belong to: ..." of section 1."""
    sentence = " ".join(text.split("The RPCs these belong to:", 1)[1].split(".", 1)[0].split())
    rpcs = {}
    for item in sentence.split(", "):
        match = re.fullmatch(r"(\w+) \(([a-z ]+)\)", item)
        assert match and match.group(2) in CONTRACT_KINDS, f"unparsed RPC {item!r} in the contract"
        rpcs[match.group(1)] = CONTRACT_KINDS[match.group(2)]
    return rpcs


def service_differences(expected, actual):
    problems = [f"{name}: missing from the schema" for name in expected.keys() - actual.keys()]
    problems += [f"{name}: not in the seed's service" for name in actual.keys() - expected.keys()]
    for name in expected.keys() & actual.keys():
        if expected[name] != actual[name]:
            problems.append(f"{name}: schema (request, client streams, response, server streams) = "
                            f"{actual[name]}, the seed declares {expected[name]}")
    return problems


def test_the_service_is_the_seeds():
    seed = seed_methods()
    assert len(seed) == 6, f"parsed {len(seed)} RPCs from the seed's declaration"
    service = pb.DESCRIPTOR.services_by_name.get(SERVICE)
    assert service is not None, f"Schema/topology.proto declares no service {SERVICE}"
    assert service.full_name == "runtime.v1.TopologyService"
    problems = service_differences(seed, descriptor_methods(service))
    assert not problems, "\n".join(problems)
    assert list(pb.DESCRIPTOR.services_by_name) == [SERVICE], "the schema declares one service only"


def test_the_contracts_rpcs_are_the_seeds(contract):
    seed = {name: (client, server) for name, (_, client, _, server) in seed_methods().items()}
    assert parse_contract_rpcs(contract) == seed


def test_the_service_comparison_catches_a_changed_declaration():
    """The comparison must be able to fail: a lost stream, a changed type, a renamed RPC, a line the
    parser does not understand."""
    declaration = SEED_SERVICE.read_text(encoding="utf-8")
    changed = (declaration
               .replace("rpc Heartbeat(stream HeartbeatRequest)", "rpc Heartbeat(HeartbeatRequest)")
               .replace("returns (GetTopologyResponse)", "returns (TopologySnapshot)")
               .replace("rpc UnregisterService(", "rpc Unregister("))
    schema = descriptor_methods(pb.DESCRIPTOR.services_by_name[SERVICE])
    problems = service_differences(parse_service_declaration(changed), schema)
    assert len(problems) == 4, problems
    assert any(p.startswith("Heartbeat: schema") for p in problems), problems
    assert any(p.startswith("GetTopology: schema") for p in problems), problems
    assert "Unregister: missing from the schema" in problems
    assert "UnregisterService: not in the seed's service" in problems
    with pytest.raises(AssertionError, match="unparsed line"):
        parse_service_declaration(declaration.replace("service TopologyService {",
                                                      "service TopologyService {\n  option deprecated = true;"))
