"""The hand-rolled codec against the golden vectors and against the official protobuf library."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TESTDATA
from topology_client import _proto
from topology_client.errors import DecodeError
from topology_client.messages import MESSAGE_TYPES, Frame, HeartbeatRequest, ServiceMetrics, TopologyUpdate

VECTORS: List[Path] = sorted(TESTDATA.glob("*.json")) if TESTDATA.is_dir() else []


def _load(path: Path) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_golden_vectors_exist() -> None:
    assert VECTORS, f"no golden vectors in {TESTDATA}"
    handled = {_load(p)["message"] for p in VECTORS} & set(MESSAGE_TYPES)
    assert "runtime.v1.Frame" in handled


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_golden_vector(path: Path) -> None:
    vector = _load(path)
    cls = MESSAGE_TYPES.get(vector["message"])
    if cls is None:
        pytest.skip(f"{vector['message']} is not a message the client uses")
    data = bytes.fromhex(vector["hex"])
    if "error" in vector:
        with pytest.raises(DecodeError) as info:
            cls.decode(data)
        assert info.value.kind == vector["error"], vector["description"]
        return
    message = cls.decode(data)
    assert message.to_dict() == vector["value"], vector["description"]
    assert message.encode().hex() == vector["canonical_hex"], vector["description"]
    again = cls.decode(bytes.fromhex(vector["canonical_hex"]))
    assert again.encode() == message.encode()  # (bytes, not ==: NaN != NaN)


def test_every_decode_error_kind_is_covered() -> None:
    kinds = {_load(p).get("error") for p in VECTORS} - {None}
    assert kinds >= {"truncated", "malformed_varint", "invalid_wire_type", "group", "invalid_utf8"}


# --------------------------------------------------------------------------------------------------
# Hand-written edge cases
# --------------------------------------------------------------------------------------------------

def test_negative_int32_is_ten_bytes() -> None:
    from topology_client.messages import ApplicationHealth
    data = ApplicationHealth(error_count=-1).encode()
    assert data == bytes.fromhex("18ffffffffffffffffff01")
    assert ApplicationHealth.decode(data).error_count == -1


def test_optional_presence_round_trips() -> None:
    from topology_client.messages import ApplicationHealth
    assert ApplicationHealth(error_count=0).encode() == b"\x18\x00"
    assert ApplicationHealth.decode(b"\x18\x00").error_count == 0
    assert ApplicationHealth.decode(b"").error_count is None


def test_repeated_message_field_merges() -> None:
    first = HeartbeatRequest(metrics=ServiceMetrics(cpu_percent=1.5)).encode()
    second = HeartbeatRequest(metrics=ServiceMetrics(memory_bytes=7)).encode()
    merged = HeartbeatRequest.decode(first + second)
    assert merged.metrics == ServiceMetrics(cpu_percent=1.5, memory_bytes=7)


def test_oneof_last_member_wins() -> None:
    from topology_client.messages import HeartbeatResponse, UnregisterServiceResponse
    data = (Frame(heartbeat_response=HeartbeatResponse(sequence=1)).encode()
            + Frame(unregister_service_response=UnregisterServiceResponse(removed=True)).encode())
    frame = Frame.decode(data)
    assert frame.heartbeat_response is None
    assert frame.unregister_service_response == UnregisterServiceResponse(removed=True)


def test_unknown_enum_value_stays_an_int() -> None:
    update = TopologyUpdate.decode(bytes.fromhex("0863"))
    assert update.type == 99 and not hasattr(update.type, "name")
    assert update.encode() == bytes.fromhex("0863")
    assert update.to_dict() == {"type": 99}


@pytest.mark.parametrize("data, kind", [
    (b"\x08", "truncated"),
    (b"\x08" + b"\xff" * 10 + b"\x01", "malformed_varint"),
    (b"\x0f", "invalid_wire_type"),
    (b"\x00", "invalid_field_number"),
    (b"\x0b", "group"),
    (b"\x12\x7f", "truncated"),
    (b"\x1a\x05\x12\x03\xff\xfe\xfd", "invalid_utf8"),
])
def test_decode_errors(data: bytes, kind: str) -> None:
    with pytest.raises(DecodeError) as info:
        Frame.decode(data)
    assert info.value.kind == kind


# --------------------------------------------------------------------------------------------------
# Property tests against the official library
# --------------------------------------------------------------------------------------------------

_INT_RANGES = {
    "int32": (-(1 << 31), (1 << 31) - 1), "sint32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1), "uint64": (0, (1 << 64) - 1),
}
_DOUBLES = st.one_of(st.floats(allow_nan=False), st.just(math.nan), st.sampled_from([0.0, -0.0, 1.0, 1e300]))
_TEXT = st.text(max_size=12)
# map<string, string>: keys of one length, so none is a prefix of another (upb's deterministic order
# puts a longer key before its prefix; ours, like C++ and Go, the shorter: the Swift interop tests
# pin both orders).
_LABELS = st.integers(0, 4).flatmap(
    lambda size: st.dictionaries(st.text(min_size=size, max_size=size), _TEXT, max_size=3))


def _scalar(kind: str) -> st.SearchStrategy[Any]:
    if kind == "string":
        return _TEXT
    if kind == "bool":
        return st.booleans()
    if kind == "double":
        return _DOUBLES
    if kind == "enum":
        return st.one_of(st.integers(0, 9), st.integers(*_INT_RANGES["int32"]))
    low, high = _INT_RANGES[kind]
    return st.one_of(st.integers(low, high), st.sampled_from([0, low, high, 1, -1 if low < 0 else 2]))


@st.composite
def stub_messages(draw: st.DrawFn, cls: type, depth: int = 0) -> Any:
    """A random instance of a stub message class, built from its field table."""
    values: Dict[str, Any] = {}
    specs = list(cls._pb_fields)
    oneof_members = [s for s in specs if s.oneof]
    chosen_oneof = draw(st.sampled_from([None] + oneof_members)) if oneof_members else None
    for spec in specs:
        if spec.oneof and spec is not chosen_oneof:
            continue
        if spec.label == "map":
            values[spec.name] = draw(_LABELS)
            continue
        if spec.kind == "message":
            if spec.label == "repeated":
                values[spec.name] = draw(st.lists(stub_messages(spec.message_type, depth + 1), max_size=2 if depth < 2 else 0))
            elif spec.oneof or draw(st.booleans()):
                values[spec.name] = draw(stub_messages(spec.message_type, depth + 1))
            continue
        strategy = _scalar(spec.kind)
        if spec.kind == "enum":
            strategy = strategy.map(lambda v, e=spec.enum_type: _proto.enum_value(e, v))
        if spec.label == "repeated":
            values[spec.name] = draw(st.lists(strategy, max_size=3))
        elif spec.label == "optional":
            values[spec.name] = draw(st.none() | strategy)
        else:
            values[spec.name] = draw(st.just(_default(spec)) | strategy)
    return cls(**values)


def _default(spec: _proto.FieldSpec) -> Any:
    return {"string": "", "bool": False, "double": 0.0}.get(spec.kind, 0)


def _official_strategy(pb2: ModuleType, descriptor: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """A random official message for ``descriptor``, field by field (independent of the stub)."""
    from google.protobuf.descriptor import FieldDescriptor as FD

    kinds = {FD.TYPE_STRING: "string", FD.TYPE_BOOL: "bool", FD.TYPE_INT32: "int32", FD.TYPE_INT64: "int64",
             FD.TYPE_UINT64: "uint64", FD.TYPE_SINT32: "sint32", FD.TYPE_DOUBLE: "double", FD.TYPE_ENUM: "enum"}
    cls = getattr(pb2, descriptor.name)

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        msg = cls()
        oneof_fields = [f for f in descriptor.fields if f.containing_oneof is not None
                        and not f.containing_oneof.name.startswith("_")]
        chosen = draw(st.sampled_from([None] + oneof_fields)) if oneof_fields else None
        for field in descriptor.fields:
            if field in oneof_fields and field is not chosen:
                continue
            repeated = field.is_repeated
            if field.type == FD.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
                getattr(msg, field.name).update(draw(_LABELS))
                continue
            if field.type == FD.TYPE_MESSAGE:
                sub = _official_strategy(pb2, field.message_type, depth + 1)
                if repeated:
                    for item in draw(st.lists(sub, max_size=2 if depth < 2 else 0)):
                        getattr(msg, field.name).add().CopyFrom(item)
                elif field is chosen or draw(st.booleans()):
                    target = getattr(msg, field.name)
                    target.SetInParent()
                    target.CopyFrom(draw(sub))
                continue
            strategy = _scalar(kinds[field.type])
            if repeated:
                getattr(msg, field.name).extend(draw(st.lists(strategy, max_size=3)))
            elif draw(st.booleans()):
                setattr(msg, field.name, draw(strategy))
        return msg

    return build()


MESSAGE_NAMES = sorted(MESSAGE_TYPES)
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_official_encodings_decode_identically(pb2: ModuleType, name: str) -> None:
    from google.protobuf.json_format import MessageToDict

    cls = MESSAGE_TYPES[name]
    descriptor = pb2.DESCRIPTOR.message_types_by_name[name.split(".")[-1]]

    @_SETTINGS
    @given(_official_strategy(pb2, descriptor))
    def check(official: Any) -> None:
        data = official.SerializeToString(deterministic=True)  # maps in key order
        ours = cls.decode(data)
        assert _same_json(ours.to_dict(), MessageToDict(official))
        assert ours.encode() == data  # byte for byte: same canonical encoding

    check()


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_stub_encodings_decode_identically_in_official(pb2: ModuleType, name: str) -> None:
    from google.protobuf.json_format import MessageToDict

    cls = MESSAGE_TYPES[name]
    official_cls = getattr(pb2, name.split(".")[-1])

    @_SETTINGS
    @given(stub_messages(cls))
    def check(ours: Any) -> None:
        data = ours.encode()
        official = official_cls.FromString(data)
        assert _same_json(MessageToDict(official), ours.to_dict())
        assert official.SerializeToString(deterministic=True) == data
        assert cls.decode(data) == ours or _has_nan(ours)

    check()


def _has_nan(message: Any) -> bool:
    return "NaN" in json.dumps(message.to_dict())


def test_double_bits_survive(pb2: ModuleType) -> None:
    for bits in (0x7FF8000000000001, 0x8000000000000000, 0x0000000000000001):
        value = struct.unpack("<d", struct.pack("<Q", bits))[0]
        data = ServiceMetrics(cpu_percent=value).encode()
        assert data == pb2.ServiceMetrics(cpu_percent=value).SerializeToString()
