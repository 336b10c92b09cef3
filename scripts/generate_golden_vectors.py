#!/usr/bin/env python3
"""Generates the golden vectors in Schema/testdata/ with the official protobuf library.

Every vector is one JSON file, `<snake_case_message>__<case>.json`, read by the Swift, C and Python
tests alike. A decodable vector:

    {"description": "...", "message": "runtime.v1.HeartbeatRequest",
     "hex": "<input bytes>",
     "canonical_hex": "<the official library's serialization of the parsed message, unknown fields
                       discarded; equal to hex unless the input is not canonical>",
     "value": <json_format.MessageToDict(parsed message), default options>}

An error vector (bytes that must not decode):

    {"description": "...", "message": "...", "hex": "...", "error": "<kind>"}

with kind one of truncated, malformed_varint, invalid_wire_type, group, invalid_utf8,
invalid_field_number. The official library is asked about every one of them; where it accepts bytes
that Topology rejects, the description says so.

The schema is compiled at run time with `python -m grpc_tools.protoc` into a temporary directory;
no generated code is committed. The output is deterministic: running the script twice gives
identical files.

    .venv/bin/python scripts/generate_golden_vectors.py           # (re)write Schema/testdata
    .venv/bin/python scripts/generate_golden_vectors.py --check   # exit 1 if the files are stale
"""

import argparse
import importlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from google.protobuf import json_format
from google.protobuf import message as message_module

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "Schema" / "topology.proto"
TESTDATA = REPO / "Schema" / "testdata"
PACKAGE = "runtime.v1"
ERROR_KINDS = {
    "truncated", "malformed_varint", "invalid_wire_type", "group", "invalid_utf8", "invalid_field_number",
}


# --------------------------------------------------------------------------------------------------
# The official library on our schema
# --------------------------------------------------------------------------------------------------

def load_schema(build_dir):
    """Compiles Schema/topology.proto into build_dir and imports the generated module."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{SCHEMA.parent}", f"--python_out={build_dir}",
         SCHEMA.name],
        check=True,
    )
    sys.path.insert(0, str(build_dir))
    try:
        sys.modules.pop("topology_pb2", None)
        return importlib.import_module("topology_pb2")
    finally:
        sys.path.remove(str(build_dir))


# --------------------------------------------------------------------------------------------------
# Hand-made wire bytes, for inputs the official encoder would never write
# --------------------------------------------------------------------------------------------------

def varint(n):
    """Varint of n; negative numbers as their 64-bit two's complement (10 bytes), as protobuf does."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(field, wire_type):
    return varint(field << 3 | wire_type)


def f_varint(field, n):
    return tag(field, 0) + varint(n)


def f_fixed64(field, raw8):
    return tag(field, 1) + raw8


def f_double(field, x):
    return tag(field, 1) + struct.pack("<d", x)


def f_fixed32(field, raw4):
    return tag(field, 5) + raw4


def f_bytes(field, payload):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return tag(field, 2) + varint(len(payload)) + payload


def zigzag32(n):
    return (n << 1) ^ (n >> 31)


INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1
MAX_FIELD = (1 << 29) - 1


# --------------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------------

class Vectors:
    def __init__(self, pb):
        self.pb = pb
        self.files = {}  # file name -> JSON text

    def _name(self, message, case):
        snake = "".join("_" + c.lower() if c.isupper() else c for c in message).lstrip("_")
        name = f"{snake}__{case}.json"
        if name in self.files:
            raise SystemExit(f"duplicate vector {name}")
        return name

    def valid(self, case, description, msg_or_name, raw=None, canonical=True):
        """A decodable vector. Pass a message (encoded deterministically) or a name and raw bytes.
        `canonical` states whether the input is what a conforming encoder writes; it is checked."""
        if raw is None:
            message_name = msg_or_name.DESCRIPTOR.name
            raw = msg_or_name.SerializeToString(deterministic=True)
        else:
            message_name = msg_or_name
        parsed = getattr(self.pb, message_name)()
        parsed.ParseFromString(raw)
        parsed.DiscardUnknownFields()
        canonical_bytes = parsed.SerializeToString(deterministic=True)
        if (canonical_bytes == raw) != canonical:
            raise SystemExit(
                f"{message_name} {case}: input {raw.hex()} is {'not ' if canonical else ''}canonical "
                f"(official encoding {canonical_bytes.hex()}); fix the case's `canonical` flag")
        value = _sorted_maps(json_format.MessageToDict(parsed))
        self._write(message_name, case, {
            "description": description,
            "message": f"{PACKAGE}.{message_name}",
            "hex": raw.hex(),
            "canonical_hex": canonical_bytes.hex(),
            "value": value,
        })

    def error(self, case, description, message_name, raw, kind, official_accepts=False):
        """An error vector. `official_accepts` states whether the official library parses the bytes
        (it is checked, and said in the description)."""
        assert kind in ERROR_KINDS, kind
        parsed = getattr(self.pb, message_name)()
        try:
            parsed.ParseFromString(raw)
            accepted = True
        except message_module.DecodeError:
            accepted = False
        if accepted != official_accepts:
            raise SystemExit(
                f"{message_name} {case}: the official library {'accepts' if accepted else 'rejects'} "
                f"{raw.hex()}; fix the case's `official_accepts` flag")
        description = description.rstrip(".") + "."
        if official_accepts:
            description += (" NOTE: the official protobuf library accepts these bytes (it keeps them as"
                            " an unknown field); Topology rejects them.")
        else:
            description += " The official protobuf library rejects them too."
        self._write(message_name, case, {
            "description": description,
            "message": f"{PACKAGE}.{message_name}",
            "hex": raw.hex(),
            "error": kind,
        })

    def _write(self, message_name, case, obj):
        name = self._name(message_name, case)
        self.files[name] = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _sorted_maps(value):
    """MessageToDict's value with every map ("labels", the schema's one map field) in key order: upb
    iterates a map in hash order, which changes from run to run."""
    if isinstance(value, list):
        return [_sorted_maps(item) for item in value]
    if isinstance(value, dict):
        return {key: dict(sorted(item.items())) if key == "labels" else _sorted_maps(item)
                for key, item in value.items()}
    return value


def full_messages(pb):
    """One message of every type with every field set (for Frame: every non-oneof field and one
    member), with values that are not defaults and exercise the field's encoding."""
    metadata = pb.ServiceMetadata(
        region="eu-west-1", environment="production", team="payments", version_hash="9f1c2ab",
        service_interface="grpc", service_role="backend", program_name="checkout-api")
    metrics = pb.ServiceMetrics(cpu_percent=37.5, memory_bytes=268435456)
    health = pb.ApplicationHealth(
        state=pb.HEALTH_STATE_DEGRADED, message="queue depth above 1000", error_count=7)
    register = pb.RegisterServiceRequest(
        service_name="checkout", service_type=pb.SERVICE_TYPE_HYBRID, language=pb.SERVICE_LANGUAGE_SWIFT,
        version="2.4.1", address="10.0.3.17:8443", host="node-17", metadata=metadata,
        service_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", labels={"tier": "backend", "team": "payments"})
    handle = pb.ServiceHandle(
        service_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", heartbeat_interval_ms=5000,
        timeout_multiplier=3, server_epoch="e-1732350000-41d3", activity_flush_ms=1000)
    heartbeat = pb.HeartbeatRequest(
        service_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", sequence=42, metrics=metrics, health=health)
    heartbeat_response = pb.HeartbeatResponse(sequence=42, acknowledged=True, server_epoch="e-1732350000-41d3")
    histogram = pb.LatencyHistogram(indexes=[-3, 0, 1, 150, 300], counts=[1, 4, 9, 300, 2], zero_count=5)
    activity = pb.ReportActivityRequest(
        service_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", target_service="inventory",
        type=pb.ACTIVITY_TYPE_RESPONSE_RECEIVED, timestamp_ms=1732350000123, latency_ms=12,
        method="/inventory.v1.Stock/Reserve", success=True, batch_size=20, error_message="2 timeouts",
        latency_histogram=histogram, error_count=2)
    activity_response = pb.ReportActivityResponse(acknowledged=True, accepted_events=1200)
    unregister = pb.UnregisterServiceRequest(service_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301")
    unregister_response = pb.UnregisterServiceResponse(removed=True)
    query = pb.TopologyQuery(
        service_names=["checkout", "inventory"], include_idle=True, include_stale=True,
        states=[pb.SERVICE_STATE_ACTIVE, pb.SERVICE_STATE_IDLE], environments=["production", "staging"],
        teams=["payments"], regions=["eu-west-1", "us-east-2"], label_selectors=["tier=backend", "canary"])
    node = pb.ServiceNode(
        service_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", service_name="checkout",
        service_type=pb.SERVICE_TYPE_SERVER, language=pb.SERVICE_LANGUAGE_GO, version="2.4.1",
        address="10.0.3.17:8443", host="node-17", metadata=metadata, state=pb.SERVICE_STATE_ACTIVE,
        last_heartbeat_ms=1732350000000, last_activity_ms=1732350000456, health=pb.HEALTH_STATE_HEALTHY,
        metrics=metrics, health_detail=health, registered_ms=1732340000000,
        labels={"tier": "backend", "team": "payments", "canary": ""}, observed=True)
    edge = pb.ServiceEdge(
        source_service_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301", target_service="inventory",
        state=pb.CONNECTION_STATE_ACTIVE, last_activity_ms=1732350000456, total_requests=987654,
        total_errors=321, avg_latency_ms=12.75, rps=41.2, target_service_id="6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        error_rate=0.0325, latency_p50_ms=9.5, latency_p95_ms=31.0, latency_p99_ms=88.125)
    snapshot = pb.TopologySnapshot(
        nodes=[node], edges=[edge], timestamp_ms=1732350000500, revision=77, server_epoch="e-1732350000-41d3")
    update = pb.TopologyUpdate(
        type=pb.UPDATE_TYPE_SNAPSHOT, node=node, edge=edge, snapshot=snapshot, revision=78, coalesced=True,
        resync=True)
    status = pb.Status(code=5, message="service 3f2504e0 is not registered: register again")
    authenticate = pb.AuthenticateRequest(token="s3cr3t-7f9c2ba4e88f827d616045507605853e")
    return {
        "ServiceMetadata": metadata,
        "ServiceMetrics": metrics,
        "ApplicationHealth": health,
        "RegisterServiceRequest": register,
        "ServiceHandle": handle,
        "RegisterServiceResponse": pb.RegisterServiceResponse(handle=handle),
        "HeartbeatRequest": heartbeat,
        "HeartbeatResponse": heartbeat_response,
        "LatencyHistogram": histogram,
        "ReportActivityRequest": activity,
        "ReportActivityResponse": activity_response,
        "UnregisterServiceRequest": unregister,
        "UnregisterServiceResponse": unregister_response,
        "TopologyQuery": query,
        "GetTopologyRequest": pb.GetTopologyRequest(query=query),
        "GetTopologyResponse": pb.GetTopologyResponse(snapshot=snapshot),
        "WatchTopologyRequest": pb.WatchTopologyRequest(
            query=query, resume_after_revision=76, resume_server_epoch="e-1732350000-41d3"),
        "WatchTopologyResponse": pb.WatchTopologyResponse(update=update),
        "TopologySnapshot": snapshot,
        "ServiceNode": node,
        "ServiceEdge": edge,
        "TopologyUpdate": update,
        "AuthenticateRequest": authenticate,
        "AuthenticateResponse": pb.AuthenticateResponse(authenticated=True),
        "Status": status,
        "Frame": pb.Frame(call_id=7, end_of_stream=True, status=status, heartbeat_response=heartbeat_response),
    }


FRAME_MEMBERS = [
    "register_service_request", "register_service_response", "heartbeat_request", "heartbeat_response",
    "report_activity_request", "report_activity_response", "unregister_service_request",
    "unregister_service_response", "get_topology_request", "get_topology_response",
    "watch_topology_request", "watch_topology_response", "authenticate_request", "authenticate_response",
]


def build(pb):
    v = Vectors(pb)
    full = full_messages(pb)
    message_names = [d.name for d in pb.DESCRIPTOR.message_types_by_name.values()]
    assert sorted(message_names) == sorted(full), "full_messages must cover every message of the schema"

    # -- Every message: all fields set, and all defaults -----------------------------------------
    for name in message_names:
        v.valid("all_fields", f"{name} with every field set", full[name])
        v.valid("empty", f"{name} with every field at its default: encodes to no bytes, JSON {{}}",
                getattr(pb, name)())

    # -- Frame: every oneof member, status + end_of_stream, oneof rules ----------------------------
    for number, member in enumerate(FRAME_MEMBERS, start=10):
        inner_name = pb.Frame.DESCRIPTOR.fields_by_name[member].message_type.name
        frame = pb.Frame(call_id=number)
        getattr(frame, member).CopyFrom(full[inner_name])
        v.valid(f"oneof_{member}", f"Frame carrying {member} (oneof field {number}), every inner field set",
                frame)
    v.valid("status_end_of_stream",
            "Frame ending a call with an error: Status NOT_FOUND and end_of_stream, no oneof member",
            pb.Frame(call_id=3, end_of_stream=True, status=pb.Status(code=5, message="unknown service")))
    v.valid("end_of_stream_only", "Frame with only end_of_stream (the client closing a stream)",
            pb.Frame(call_id=9, end_of_stream=True))
    frame = pb.Frame(call_id=1)
    frame.heartbeat_request.SetInParent()
    v.valid("oneof_empty_member", "Frame whose oneof member is set to an empty message: still present (62 00)",
            frame)
    v.valid("call_id_max", "Frame with call_id = 2^64-1", pb.Frame(call_id=UINT64_MAX, end_of_stream=True))
    v.valid("status_ok_code_zero_present",
            "Frame with an empty Status message: the message field is present, its fields are defaults",
            pb.Frame(call_id=0, status=pb.Status()))
    v.valid("oneof_other_member_replaces",
            "Frame with heartbeat_request then heartbeat_response: the later oneof member replaces the first",
            "Frame", f_bytes(12, f_bytes(1, "svc") + f_varint(2, 1)) + f_bytes(13, f_varint(1, 1)),
            canonical=False)
    v.valid("oneof_same_member_merged",
            "Frame with heartbeat_request twice: the two occurrences of the same member are merged",
            "Frame", f_bytes(12, f_bytes(1, "svc") + f_varint(2, 1)) + f_bytes(12, f_varint(2, 2)),
            canonical=False)
    v.valid("negative_status_code",
            "Frame whose Status code is -1 (int32 negative: a 10-byte varint)",
            pb.Frame(call_id=2, status=pb.Status(code=-1, message="negative")))

    # -- proto3 optional: present with its default value ----------------------------------------
    v.valid("optional_defaults",
            "RegisterServiceRequest with every optional field present at its default (version=\"\", "
            "address=\"\", host=\"\", empty metadata, service_id=\"\"): all written, all in JSON",
            pb.RegisterServiceRequest(version="", address="", host="", metadata=pb.ServiceMetadata(),
                                      service_id=""))
    v.valid("optional_defaults", "ApplicationHealth with message=\"\" and error_count=0 present",
            pb.ApplicationHealth(message="", error_count=0))
    v.valid("optional_defaults",
            "ReportActivityRequest with every optional field present at its default (timestamp_ms=0, "
            "latency_ms=0, method=\"\", success=false, batch_size=0, error_message=\"\", empty "
            "latency_histogram, error_count=0)",
            pb.ReportActivityRequest(timestamp_ms=0, latency_ms=0, method="", success=False, batch_size=0,
                                     error_message="", latency_histogram=pb.LatencyHistogram(), error_count=0))
    v.valid("optional_empty_strings", "ServiceMetadata with all seven optional strings present and empty",
            pb.ServiceMetadata(region="", environment="", team="", version_hash="", service_interface="",
                               service_role="", program_name=""))
    v.valid("empty_submessages", "HeartbeatRequest with metrics and health present but empty",
            pb.HeartbeatRequest(metrics=pb.ServiceMetrics(), health=pb.ApplicationHealth()))
    v.valid("optional_defaults",
            "ServiceNode with its optional fields present at defaults (version/address/host empty, empty "
            "metadata, metrics and health_detail)",
            pb.ServiceNode(version="", address="", host="", metadata=pb.ServiceMetadata(),
                           metrics=pb.ServiceMetrics(), health_detail=pb.ApplicationHealth()))
    v.valid("empty_submessages", "TopologyUpdate with node, edge and snapshot present but empty",
            pb.TopologyUpdate(node=pb.ServiceNode(), edge=pb.ServiceEdge(), snapshot=pb.TopologySnapshot()))
    v.valid("resume_after_revision_zero", "WatchTopologyRequest with resume_after_revision=0 present",
            pb.WatchTopologyRequest(resume_after_revision=0))
    v.valid("empty_query_present", "GetTopologyRequest with an empty query present (0a 00)",
            pb.GetTopologyRequest(query=pb.TopologyQuery()))
    v.valid("empty_handle_present", "RegisterServiceResponse with an empty handle present",
            pb.RegisterServiceResponse(handle=pb.ServiceHandle()))

    # -- Negative and extreme numbers ----------------------------------------------------------
    v.valid("negative_int32", "ServiceHandle with int32 fields -1 and INT32_MIN (10-byte varints)",
            pb.ServiceHandle(heartbeat_interval_ms=-1, timeout_multiplier=INT32_MIN, activity_flush_ms=INT32_MAX))
    v.valid("int64_min", "HeartbeatRequest with sequence = INT64_MIN",
            pb.HeartbeatRequest(service_id="s", sequence=INT64_MIN))
    v.valid("int64_max", "HeartbeatResponse with sequence = INT64_MAX", pb.HeartbeatResponse(sequence=INT64_MAX))
    v.valid("int64_minus_one", "HeartbeatResponse with sequence = -1", pb.HeartbeatResponse(sequence=-1))
    v.valid("uint64_max", "ServiceMetrics with memory_bytes = 2^64-1",
            pb.ServiceMetrics(cpu_percent=100.0, memory_bytes=UINT64_MAX))
    v.valid("negative_zero", "ServiceMetrics with cpu_percent = -0.0 (not the default: it is written)",
            pb.ServiceMetrics(cpu_percent=-0.0))
    v.valid("nan", "ServiceMetrics with cpu_percent = NaN (JSON \"NaN\")", pb.ServiceMetrics(cpu_percent=math.nan))
    v.valid("infinity", "ServiceMetrics with cpu_percent = +Infinity", pb.ServiceMetrics(cpu_percent=math.inf))
    v.valid("negative_infinity", "ServiceMetrics with cpu_percent = -Infinity",
            pb.ServiceMetrics(cpu_percent=-math.inf))
    v.valid("subnormal", "ServiceMetrics with cpu_percent = 5e-324, the smallest subnormal double",
            pb.ServiceMetrics(cpu_percent=5e-324))
    v.valid("extreme_doubles",
            "ServiceEdge with double extremes: DBL_MAX, -DBL_MAX, smallest normal, 0.1, 1e-7, 1e21, 2^53+2, -1.5",
            pb.ServiceEdge(avg_latency_ms=sys.float_info.max, rps=-sys.float_info.max,
                           error_rate=sys.float_info.min, latency_p50_ms=0.1, latency_p95_ms=1e-7,
                           latency_p99_ms=1e21, total_requests=UINT64_MAX, total_errors=1,
                           last_activity_ms=INT64_MIN))
    v.valid("integral_doubles", "ServiceEdge with integral doubles 2^53+2, 1e16 and -1.5",
            pb.ServiceEdge(avg_latency_ms=float(2 ** 53 + 2), rps=1e16, error_rate=-1.5))
    v.valid("nan_with_payload",
            "ServiceMetrics with a NaN that has a payload and the sign bit set: the bits round-trip",
            "ServiceMetrics", f_fixed64(1, bytes.fromhex("0100000000f8ffff")))
    v.valid("sint32_extremes", "LatencyHistogram indexes with INT32_MIN, -1, 0, 1, INT32_MAX (zigzag)",
            pb.LatencyHistogram(indexes=[INT32_MIN, -1, 0, 1, INT32_MAX], counts=[0, 1, UINT64_MAX, 2, 3]))
    v.valid("negative_numbers",
            "ReportActivityRequest with negative timestamp_ms, latency_ms, batch_size and error_count",
            pb.ReportActivityRequest(timestamp_ms=INT64_MIN, latency_ms=-1, batch_size=INT32_MIN,
                                     error_count=-7))
    v.valid("negative_error_count", "ApplicationHealth with error_count = INT32_MIN",
            pb.ApplicationHealth(error_count=INT32_MIN))
    v.valid("int32_as_5_byte_varint",
            "Status code -1 sent as a 5-byte varint (ff ff ff ff 0f), as some encoders write int32: "
            "decodes to -1, re-encodes as 10 bytes",
            "Status", f_varint(1, 0xFFFFFFFF), canonical=False)
    v.valid("int32_from_64_bit_varint",
            "Status code sent as a varint above 2^32 (0x1_0000_0005): the low 32 bits are kept (5)",
            "Status", f_varint(1, (1 << 32) + 5), canonical=False)
    v.valid("varint_overflow_bits_dropped",
            "ServiceMetrics memory_bytes as a 10-byte varint whose last byte is 7f: bits past the 64th "
            "are dropped, as the official library does",
            "ServiceMetrics", tag(2, 0) + bytes.fromhex("ffffffffffffffffff7f"), canonical=False)
    v.valid("overlong_varint",
            "HeartbeatResponse sequence=1 written as a 10-byte varint with padding (81 80 ... 00): "
            "re-encoded as 1 byte",
            "HeartbeatResponse", tag(1, 0) + bytes.fromhex("81808080808080808000"), canonical=False)
    v.valid("bool_not_one",
            "HeartbeatResponse acknowledged given as varint 2: any non-zero varint is true, re-encoded as 01",
            "HeartbeatResponse", f_varint(2, 2), canonical=False)
    v.valid("bool_from_wide_varint",
            "UnregisterServiceResponse removed given as 2^32 (a value whose low 32 bits are zero): "
            "still true",
            "UnregisterServiceResponse", f_varint(1, 1 << 32), canonical=False)

    # -- Non-ASCII and awkward strings ------------------------------------------------------
    v.valid("non_ascii",
            "RegisterServiceRequest with multi-byte UTF-8: Latin-1, CJK, Cyrillic, emoji (astral, "
            "4 bytes), a ZWJ sequence and combining marks",
            pb.RegisterServiceRequest(
                service_name="zürich-🚀", version="版本-2", host="хост.example",
                metadata=pb.ServiceMetadata(team="équipe 👩‍💻", region="東京", program_name="e\u0301\u0301")))
    v.valid("non_ascii_message", "Status with an emoji and CJK in the message",
            pb.Status(code=3, message="bad name «名前» 🙅: use ASCII?"))
    v.valid("non_ascii_names", "TopologyQuery with non-ASCII service names and an astral-plane character",
            pb.TopologyQuery(service_names=["café", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "日本語"], regions=["ζ"]))
    v.valid("json_escapes",
            "UnregisterServiceRequest id with characters JSON must escape: quote, backslash, newline, "
            "tab, U+0001, U+001F, DEL, U+2028, U+FFFF",
            pb.UnregisterServiceRequest(service_id="a\"b\\c\nd\te\x01f\x1fg\x7fh\u2028i\uffff"))
    v.valid("nul_character", "Status message containing a NUL character (valid UTF-8, must be kept)",
            pb.Status(message="before\x00after"))
    v.valid("long_string",
            "UnregisterServiceRequest with a 300-byte id: the length takes a 2-byte varint (ac 02)",
            pb.UnregisterServiceRequest(service_id="x" * 300))
    v.valid("max_code_point", "Status message with U+10FFFF, the largest code point",
            pb.Status(message="\U0010ffff"))

    # -- Unknown fields: skipped on decode, so canonical_hex drops them ----------------------------
    base = full["ServiceMetrics"].SerializeToString(deterministic=True)
    v.valid("unknown_varint", "ServiceMetrics with an unknown varint field 9 (=150) after the known fields",
            "ServiceMetrics", base + f_varint(9, 150), canonical=False)
    v.valid("unknown_fixed64", "ServiceMetrics with an unknown fixed64 field 10 before the known fields",
            "ServiceMetrics", f_fixed64(10, bytes(range(8))) + base, canonical=False)
    v.valid("unknown_length_delimited",
            "ServiceMetrics with an unknown length-delimited field 11 holding bytes that are not UTF-8",
            "ServiceMetrics", base[:9] + f_bytes(11, b"\xff\xfe\x00\x80") + base[9:], canonical=False)
    v.valid("unknown_fixed32", "ServiceMetrics with an unknown fixed32 field 12",
            "ServiceMetrics", base + f_fixed32(12, b"\xde\xad\xbe\xef"), canonical=False)
    v.valid("unknown_max_field_number",
            "ServiceMetrics with an unknown varint field 536870911 (2^29-1, the largest field number)",
            "ServiceMetrics", f_varint(MAX_FIELD, 1) + base, canonical=False)
    v.valid("unknown_every_wire_type",
            "Frame with unknown fields of every wire type (varint, fixed64, length-delimited, fixed32) "
            "between its known fields, and an unknown length-delimited field holding a nested message",
            "Frame",
            f_varint(1, 5) + f_varint(4, 1) + f_fixed64(5, b"\x01" * 8) + f_varint(2, 1)
            + f_bytes(6, f_bytes(1, "nested") + f_varint(2, 3)) + f_fixed32(7, b"\x02" * 4)
            + f_bytes(13, f_varint(1, 9)) + f_varint(99, UINT64_MAX),
            canonical=False)
    v.valid("unknown_in_nested",
            "HeartbeatRequest whose metrics and health each carry an unknown field",
            "HeartbeatRequest",
            f_bytes(1, "svc") + f_bytes(3, f_double(1, 1.5) + f_varint(15, 7))
            + f_bytes(4, f_fixed32(9, b"\x00" * 4) + f_varint(1, 2)),
            canonical=False)
    v.valid("unknown_empty_length_delimited",
            "UnregisterServiceResponse with an unknown zero-length field 3",
            "UnregisterServiceResponse", f_bytes(3, b"") + f_varint(1, 1), canonical=False)
    v.valid("known_field_wrong_wire_type",
            "ServiceMetrics with cpu_percent (a double, fixed64) sent as a varint and memory_bytes sent "
            "as fixed32: a known number with another wire type is an unknown field, skipped",
            "ServiceMetrics", f_varint(1, 5) + f_fixed32(2, b"\x01\x00\x00\x00"), canonical=False)
    v.valid("string_field_wrong_wire_type",
            "RegisterServiceRequest with service_name sent as a varint and metadata sent as fixed64: "
            "skipped as unknown",
            "RegisterServiceRequest",
            f_varint(1, 1) + f_fixed64(7, b"\x00" * 8) + f_varint(2, 1), canonical=False)
    v.valid("unknown_field_topology_addition_numbers",
            "ServiceMetadata (which has no field 20) with a field 20 string: unknown, skipped",
            "ServiceMetadata", f_bytes(1, "eu") + f_bytes(20, "later-addition"), canonical=False)

    # -- Repeated scalars: packed and unpacked -------------------------------------------------
    v.valid("packed", "LatencyHistogram with packed indexes (sint32) and counts (uint64)",
            pb.LatencyHistogram(indexes=[-1, 0, 1, 64, -65], counts=[1, 2, 3, 300, 1 << 40]))
    v.valid("unpacked",
            "LatencyHistogram with indexes and counts unpacked (one tag per element): accepted, re-encoded packed",
            "LatencyHistogram",
            b"".join(f_varint(1, zigzag32(i)) for i in [-1, 0, 1, 64, -65])
            + b"".join(f_varint(2, c) for c in [1, 2, 3, 300, 1 << 40]),
            canonical=False)
    v.valid("mixed_packed_unpacked",
            "LatencyHistogram with indexes given as a packed run, then one unpacked element, then another "
            "packed run: the elements are concatenated in order",
            "LatencyHistogram",
            f_bytes(1, varint(zigzag32(-2)) + varint(zigzag32(3))) + f_varint(1, zigzag32(5))
            + f_bytes(1, varint(zigzag32(7))) + f_varint(3, 4),
            canonical=False)
    v.valid("interleaved_fields",
            "LatencyHistogram with unpacked indexes and counts interleaved field by field",
            "LatencyHistogram",
            f_varint(1, zigzag32(1)) + f_varint(2, 10) + f_varint(1, zigzag32(2)) + f_varint(2, 20),
            canonical=False)
    v.valid("empty_packed_run", "LatencyHistogram with an empty packed run for indexes (0a 00): no elements",
            "LatencyHistogram", f_bytes(1, b"") + f_varint(3, 1), canonical=False)
    v.valid("states_packed", "TopologyQuery with packed states (repeated enum, field 20)",
            pb.TopologyQuery(states=[pb.SERVICE_STATE_REGISTERED, pb.SERVICE_STATE_ACTIVE, pb.SERVICE_STATE_DEAD]))
    v.valid("states_unpacked", "TopologyQuery with states unpacked: accepted, re-encoded packed",
            "TopologyQuery", f_varint(20, 1) + f_varint(20, 3) + f_varint(20, 5), canonical=False)
    v.valid("states_unknown_values",
            "TopologyQuery with unknown state numbers 42 and -1 in a packed run: kept as numbers",
            "TopologyQuery", f_bytes(20, varint(42) + varint(-1) + varint(2)))
    v.valid("repeated_strings_with_empty",
            "TopologyQuery with repeated strings including empty ones (each written, even when empty)",
            pb.TopologyQuery(service_names=["", "a", ""], teams=[""]))

    # -- Merge and last-one-wins ----------------------------------------------------------------
    v.valid("metrics_twice_merged",
            "HeartbeatRequest with metrics given twice (cpu_percent, then memory_bytes): merged into one",
            "HeartbeatRequest",
            f_bytes(3, f_double(1, 12.5)) + f_bytes(1, "svc") + f_bytes(3, f_varint(2, 4096)),
            canonical=False)
    v.valid("node_twice_merged",
            "TopologyUpdate with node given twice: scalars of the second replace, its metadata merges "
            "field by field",
            "TopologyUpdate",
            f_varint(1, 3)
            + f_bytes(2, f_bytes(1, "id-1") + f_bytes(2, "old-name") + f_bytes(8, f_bytes(1, "eu") + f_bytes(3, "t")))
            + f_bytes(2, f_bytes(2, "new-name") + f_bytes(8, f_bytes(2, "prod") + f_bytes(3, "team-2")) + f_varint(9, 3)),
            canonical=False)
    v.valid("histogram_twice_merged",
            "ReportActivityRequest with latency_histogram given twice: the repeated fields of the two "
            "parts are concatenated, zero_count is last-one-wins",
            "ReportActivityRequest",
            f_bytes(20, f_bytes(1, varint(zigzag32(1))) + f_bytes(2, varint(5)) + f_varint(3, 1))
            + f_bytes(20, f_bytes(1, varint(zigzag32(2))) + f_bytes(2, varint(6)) + f_varint(3, 9)),
            canonical=False)
    # -- map<string, string> labels: entries are messages (key = 1, value = 2) ---------------------
    def entry(*fields):
        return f_bytes(21, b"".join(fields))
    v.valid("labels_unsorted",
            "RegisterServiceRequest with label entries out of key order: re-encoded sorted by the keys' "
            "UTF-8 bytes (the official deterministic order), both key and value always written",
            "RegisterServiceRequest",
            entry(f_bytes(1, "zone"), f_bytes(2, "b")) + entry(f_bytes(1, "app"), f_bytes(2, "a"))
            + entry(f_bytes(1, "é"), f_bytes(2, "c")) + entry(f_bytes(1, "Z"), f_bytes(2, "d")),
            canonical=False)
    v.valid("labels_key_twice_last_wins",
            "RegisterServiceRequest with the label key 'team' given twice (core, then payments): last wins",
            "RegisterServiceRequest",
            entry(f_bytes(1, "team"), f_bytes(2, "core")) + entry(f_bytes(1, "tier"), f_bytes(2, "web"))
            + entry(f_bytes(1, "team"), f_bytes(2, "payments")),
            canonical=False)
    v.valid("labels_entry_value_missing",
            "RegisterServiceRequest with a label entry without its value field: the value is '' (and "
            "written as 12 00 when re-encoded)",
            "RegisterServiceRequest", entry(f_bytes(1, "canary")), canonical=False)
    # (An entry with an unknown field is left out: upb keeps the whole entry as an unknown field of
    # the message, where Topology reads its key and value; docs/protocol.md says so.)
    v.valid("labels_entry_fields_reversed",
            "RegisterServiceRequest with a label entry holding its value before its key: re-encoded key first",
            "RegisterServiceRequest", entry(f_bytes(2, "v1"), f_bytes(1, "track")), canonical=False)
    v.valid("labels_empty_value",
            "ServiceNode with a label whose value is empty: the entry still carries 12 00",
            "ServiceNode", f_bytes(23, f_bytes(1, "canary") + f_bytes(2, "")))
    v.valid("sequence_twice_last_wins", "HeartbeatRequest with sequence given twice (1, then 2): last wins",
            "HeartbeatRequest", f_varint(2, 1) + f_bytes(1, "svc") + f_varint(2, 2), canonical=False)
    v.valid("service_id_twice_last_wins", "UnregisterServiceRequest with service_id given twice: last wins",
            "UnregisterServiceRequest", f_bytes(1, "first") + f_bytes(1, "second"), canonical=False)
    v.valid("cpu_percent_twice_last_wins",
            "ServiceMetrics with cpu_percent given twice (1.0 then 0.0): last wins, and 0.0 is not written",
            "ServiceMetrics", f_double(1, 1.0) + f_double(1, 0.0), canonical=False)
    v.valid("optional_twice_last_wins",
            "ApplicationHealth with optional error_count given twice (5 then 0): last wins, 0 stays present",
            "ApplicationHealth", f_varint(3, 5) + f_varint(3, 0), canonical=False)
    v.valid("fields_out_of_order",
            "HeartbeatResponse with fields in reverse number order: re-encoded in number order",
            "HeartbeatResponse", f_bytes(20, "ep") + f_varint(2, 1) + f_varint(1, 9), canonical=False)
    v.valid("explicit_defaults_on_wire",
            "HeartbeatResponse with sequence=0, acknowledged=false and server_epoch=\"\" written explicitly: "
            "implicit-presence defaults are not re-encoded",
            "HeartbeatResponse", f_varint(1, 0) + f_varint(2, 0) + f_bytes(20, ""), canonical=False)
    v.valid("snapshot_many",
            "TopologySnapshot with three nodes and two edges (repeated messages keep their order)",
            pb.TopologySnapshot(
                nodes=[pb.ServiceNode(service_id="a", service_name="alpha"), pb.ServiceNode(),
                       pb.ServiceNode(service_id="c", state=pb.SERVICE_STATE_STALE)],
                edges=[pb.ServiceEdge(source_service_id="a", target_service="c", rps=1.0), pb.ServiceEdge()],
                timestamp_ms=1))

    # -- Unknown enum values --------------------------------------------------------------------
    v.valid("unknown_enum_state", "ServiceNode with state=42 (not in ServiceState): kept as the number",
            pb.ServiceNode(service_id="n", state=42))
    v.valid("unknown_enums",
            "RegisterServiceRequest with service_type=99 and language=-5 (negative: 10-byte varint)",
            pb.RegisterServiceRequest(service_name="x", service_type=99, language=-5))
    v.valid("unknown_health_state", "ApplicationHealth with state=1000", pb.ApplicationHealth(state=1000))
    v.valid("unknown_update_type", "TopologyUpdate with type=INT32_MAX", pb.TopologyUpdate(type=INT32_MAX))
    v.valid("progress_update", "TopologyUpdate of type UPDATE_TYPE_PROGRESS (a Topology addition) with a revision",
            pb.TopologyUpdate(type=pb.UPDATE_TYPE_PROGRESS, revision=UINT64_MAX))

    # -- Authentication (the handshake of docs/protocol.md, byte for byte) ------------------------
    v.valid("authenticate_handshake",
            "Frame opening a connection to a server run with --auth-token-file: call 1 carries "
            "authenticate_request (oneof field 22) with the token",
            pb.Frame(call_id=1, authenticate_request=pb.AuthenticateRequest(token="correct-horse-battery-staple")))
    v.valid("authenticate_accepted",
            "Frame answering a good token: call 1, end_of_stream, Status OK (an empty Status), "
            "authenticate_response (oneof field 23) with authenticated=true",
            pb.Frame(call_id=1, end_of_stream=True, status=pb.Status(),
                     authenticate_response=pb.AuthenticateResponse(authenticated=True)))
    v.valid("unauthenticated_on_call_0",
            "Frame refusing a connection: call 0, end_of_stream, Status UNAUTHENTICATED (16)",
            pb.Frame(call_id=0, end_of_stream=True, status=pb.Status(code=16, message="bad token")))

    # -- Errors -------------------------------------------------------------------------------
    E = v.error
    E("truncated_tag", "A tag varint cut after its first byte (80)", "ServiceMetrics", b"\x80", "truncated")
    E("truncated_varint_value", "sequence's tag with no value after it (08)", "HeartbeatResponse", b"\x08",
      "truncated")
    E("truncated_varint_continuation", "sequence value ends on a continuation byte (08 80)",
      "HeartbeatResponse", b"\x08\x80", "truncated")
    E("truncated_length_delimited", "service_id claims 5 bytes, 3 follow (0a 05 61 62 63)",
      "UnregisterServiceRequest", bytes.fromhex("0a05616263"), "truncated")
    E("truncated_length_varint", "service_id's length varint is cut (0a 80)", "UnregisterServiceRequest",
      b"\x0a\x80", "truncated")
    E("truncated_fixed64", "cpu_percent has 4 of its 8 bytes", "ServiceMetrics", bytes.fromhex("0900000000"),
      "truncated")
    E("truncated_unknown_fixed32", "Unknown fixed32 field 5 with 2 of its 4 bytes", "ServiceMetrics",
      bytes.fromhex("2d0102"), "truncated")
    E("truncated_unknown_fixed64", "Unknown fixed64 field 9 with 7 of its 8 bytes", "ServiceMetrics",
      bytes.fromhex("49" + "00" * 7), "truncated")
    E("truncated_in_nested",
      "heartbeat_request of 2 bytes whose service_id claims 5: the nested length is checked against the "
      "nested message, not the frame", "Frame", bytes.fromhex("62020a05") + b"abcde", "truncated")
    E("labels_truncated_entry",
      "A label entry of 4 bytes whose key claims 6: checked against the entry, not the message",
      "RegisterServiceRequest", bytes.fromhex("aa01040a06") + b"abcdef", "truncated")
    E("labels_invalid_utf8_key", "A label key holding a lone continuation byte (80)", "RegisterServiceRequest",
      bytes.fromhex("aa01050a01801200"), "invalid_utf8")
    E("truncated_packed_run", "A packed indexes run that ends on a continuation byte (0a 01 80)",
      "LatencyHistogram", bytes.fromhex("0a0180"), "truncated")
    E("length_beyond_message", "service_id with a huge length (2^32) and 3 bytes", "UnregisterServiceRequest",
      b"\x0a" + varint(1 << 32) + b"abc", "truncated")
    E("malformed_varint_value", "sequence as an 11-byte varint (ff x10 01)", "HeartbeatResponse",
      b"\x08" + b"\xff" * 10 + b"\x01", "malformed_varint")
    E("malformed_varint_tag", "A tag that is an 11-byte varint", "ServiceMetrics",
      b"\x88" + b"\x80" * 9 + b"\x00", "malformed_varint")
    E("malformed_varint_length", "A length prefix that is an 11-byte varint", "UnregisterServiceRequest",
      b"\x0a" + b"\x80" * 10 + b"\x00", "malformed_varint")
    E("malformed_varint_padded_tag", "Tag 08 padded to 6 bytes: tags are 32-bit, at most 5 bytes",
      "HeartbeatResponse", b"\x88\x80\x80\x80\x80\x00\x01", "malformed_varint")
    E("malformed_varint_padded_length", "Length 3 padded to 6 bytes: lengths are 32-bit, at most 5 bytes",
      "UnregisterServiceRequest", b"\x0a\x83\x80\x80\x80\x80\x00abc", "malformed_varint")
    E("invalid_wire_type_6", "Tag 0e: field 1, wire type 6 (undefined)", "ServiceMetrics", b"\x0e\x00",
      "invalid_wire_type")
    E("invalid_wire_type_7", "Tag 17: field 2, wire type 7 (undefined), after a valid field", "HeartbeatResponse",
      bytes.fromhex("0801") + b"\x17\x00", "invalid_wire_type")
    E("invalid_wire_type_in_nested", "Wire type 7 inside a nested Status", "Frame",
      bytes.fromhex("1a02") + b"\x0f\x00", "invalid_wire_type")
    E("group_start_unterminated", "Start-group tag for field 5 (2b) with no end group", "ServiceMetrics",
      b"\x2b", "group")
    E("group_end_alone", "End-group tag for field 5 (2c) with no start group", "ServiceMetrics", b"\x2c", "group")
    E("group_well_formed",
      "A well-formed empty group for unknown field 5 (2b 2c): groups are rejected, the schema has none.",
      "ServiceMetrics", b"\x2b\x2c", "group", official_accepts=True)
    E("group_on_known_field",
      "A well-formed group with the number of field 1 (0b 0c): rejected, whatever the field.",
      "UnregisterServiceRequest", b"\x0b\x0c", "group", official_accepts=True)
    E("invalid_utf8_continuation", "service_id holding a lone continuation byte (80)", "UnregisterServiceRequest",
      bytes.fromhex("0a0180"), "invalid_utf8")
    E("invalid_utf8_cut_sequence", "service_id holding a cut 3-byte sequence (e2 82)", "UnregisterServiceRequest",
      bytes.fromhex("0a02e282"), "invalid_utf8")
    E("invalid_utf8_overlong", "service_id holding an overlong encoding of '/' (c0 af)",
      "UnregisterServiceRequest", bytes.fromhex("0a02c0af"), "invalid_utf8")
    E("invalid_utf8_surrogate", "service_id holding an encoded surrogate U+D800 (ed a0 80)",
      "UnregisterServiceRequest", bytes.fromhex("0a03eda080"), "invalid_utf8")
    E("invalid_utf8_above_max", "service_id holding U+110000 (f4 90 80 80)", "UnregisterServiceRequest",
      bytes.fromhex("0a04f4908080"), "invalid_utf8")
    E("invalid_utf8_repeated", "The second service_names element holds ff", "TopologyQuery",
      bytes.fromhex("0a0161") + bytes.fromhex("0a01ff"), "invalid_utf8")
    E("invalid_utf8_optional", "Optional region holding c3 28", "ServiceMetadata", bytes.fromhex("0a02c328"),
      "invalid_utf8")
    E("invalid_utf8_nested", "Frame whose Status message holds fe", "Frame", bytes.fromhex("1a031201fe"),
      "invalid_utf8")
    E("invalid_field_number_zero", "Tag 00: field number 0", "ServiceMetrics", b"\x00\x00",
      "invalid_field_number")
    E("invalid_field_number_zero_length_delimited", "Tag 02: field number 0, length-delimited",
      "UnregisterServiceRequest", b"\x02\x00", "invalid_field_number")
    E("invalid_field_number_too_large", "Field number 2^29 (one past the largest), varint",
      "ServiceMetrics", tag(1 << 29, 0) + b"\x00", "invalid_field_number")
    return v.files


def generate():
    with tempfile.TemporaryDirectory(prefix="topology-golden-") as build_dir:
        return build(load_schema(build_dir))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if Schema/testdata differs from what would be generated")
    args = parser.parse_args()
    files = generate()
    existing = {p.name for p in TESTDATA.glob("*.json")} if TESTDATA.is_dir() else set()
    if args.check:
        problems = []
        for name, text in sorted(files.items()):
            path = TESTDATA / name
            if not path.exists():
                problems.append(f"missing: {name}")
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"differs: {name}")
        problems += [f"not generated (stale): {name}" for name in sorted(existing - set(files))]
        if problems:
            print("Schema/testdata is out of date; run scripts/generate_golden_vectors.py", file=sys.stderr)
            print("\n".join(problems), file=sys.stderr)
            return 1
        print(f"Schema/testdata is up to date ({len(files)} vectors)")
        return 0
    TESTDATA.mkdir(parents=True, exist_ok=True)
    for name in sorted(existing - set(files)):
        (TESTDATA / name).unlink()
    for name, text in files.items():
        (TESTDATA / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} vectors to {TESTDATA.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
