"""The existing runtime's `service TopologyService` declaration (seed_topology_service.txt, copied from
Michael--/modular-runtime), parsed: what a stub generated from Schema/topology.proto has to match."""

import re
from pathlib import Path

SEED_SERVICE = Path(__file__).with_name("seed_topology_service.txt")
PACKAGE = "runtime.v1"
SERVICE = "TopologyService"

_RPC = re.compile(r"rpc (\w+)\((stream )?(\w+)\) returns \((stream )?(\w+)\);")


def parse_service_declaration(text):
    """{method: (request type, client streams, response type, server streams)} of the one
    `service TopologyService { ... }` block in text, types as full names. Every line must be blank,
    a comment, an rpc or one of the block's braces: anything else is an AssertionError naming it, so a
    declaration this parser does not understand fails the test instead of being half read."""
    methods, inside, closed = {}, False, False
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith("//"):
            continue
        rpc = _RPC.fullmatch(line) if inside else None
        if line == f"service {SERVICE} {{" and not inside and not closed:
            inside = True
        elif line == "}" and inside:
            inside, closed = False, True
        elif rpc:
            name, client_stream, request, server_stream, response = rpc.groups()
            assert name not in methods, f"rpc {name} is declared twice"
            methods[name] = (f"{PACKAGE}.{request}", client_stream is not None,
                             f"{PACKAGE}.{response}", server_stream is not None)
        else:
            raise AssertionError(f"unparsed line in the service declaration: {line!r}")
    assert closed, f"no complete `service {SERVICE} {{ ... }}` block"
    return methods


def seed_methods():
    return parse_service_declaration(SEED_SERVICE.read_text(encoding="utf-8"))


def descriptor_methods(service):
    """The same shape as parse_service_declaration, from a protobuf ServiceDescriptor."""
    return {method.name: (method.input_type.full_name, method.client_streaming,
                          method.output_type.full_name, method.server_streaming)
            for method in service.methods}
