"""A small protobuf (proto3) binary codec, driven by dataclass field metadata.

Messages are dataclasses decorated with :func:`message`; each field declares its protobuf number,
kind and label with :func:`pb`. The codec follows the official libraries:

- implicit-presence scalars are written only when not default; ``optional`` fields (``None`` when
  absent) and singular message fields are written whenever set; fields in number order;
- repeated scalars are written packed, and accepted packed or unpacked;
- ``map<string, string>`` (label ``MAP``, a ``dict``) is written one entry message per key (key = 1,
  value = 2, both always written) in the keys' UTF-8 byte order; a key seen twice keeps the last value;
- a singular message field seen twice is merged, a scalar seen twice is last-one-wins, a different
  oneof member replaces the earlier one;
- unknown fields, and known fields arriving with another wire type, are skipped;
- enums are open: a number this package does not know stays a plain ``int``;
- every length is checked against the bytes that remain before anything is sliced.

No I/O here, no clock.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import struct
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple, Type, TypeVar, cast

from .errors import DecodeError

MAX_FIELD_NUMBER = (1 << 29) - 1
_MASK64 = (1 << 64) - 1
_DOUBLE = struct.Struct("<d")
_ZERO_DOUBLE_BITS = b"\x00" * 8

# Wire types.
VARINT, FIXED64, LENGTH_DELIMITED, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5

# Field kinds.
STRING, BOOL, INT32, INT64, UINT64, SINT32, DOUBLE, ENUM, MESSAGE = (
    "string", "bool", "int32", "int64", "uint64", "sint32", "double", "enum", "message")
_VARINT_KINDS = frozenset((BOOL, INT32, INT64, UINT64, SINT32, ENUM))

# Labels.
IMPLICIT, OPTIONAL, REPEATED, MAP = "implicit", "optional", "repeated", "map"


# --------------------------------------------------------------------------------------------------
# Primitives
# --------------------------------------------------------------------------------------------------

def encode_varint(value: int) -> bytes:
    """The varint of ``value``; a negative value is written as its 64-bit two's complement."""
    value &= _MASK64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes, pos: int, end: int, what: str = "varint", max_bytes: int = 10) -> Tuple[int, int]:
    """Reads a varint at ``pos``: (value, position after it). At most ``max_bytes`` bytes (10 admit
    every 64-bit value); bits past 64 dropped. ``what`` names it in the error."""
    start = pos
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise DecodeError("truncated", f"{what} at offset {start} runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 7 * max_bytes:
            raise DecodeError("malformed_varint", f"{what} at offset {start} is longer than {max_bytes} bytes")


def decode_varint32(data: bytes, pos: int, end: int, what: str = "tag") -> Tuple[int, int]:
    """Reads a tag or a length: a varint of at most 5 bytes (both are 32-bit; the official libraries
    reject longer ones too)."""
    return decode_varint(data, pos, end, what, 5)


def zigzag32(value: int) -> int:
    return ((value << 1) ^ (value >> 31)) & 0xFFFFFFFF


def unzigzag32(raw: int) -> int:
    raw &= 0xFFFFFFFF
    return (raw >> 1) ^ -(raw & 1)


def _to_int32(raw: int) -> int:
    raw &= 0xFFFFFFFF
    return raw - (1 << 32) if raw & 0x80000000 else raw


def _to_int64(raw: int) -> int:
    raw &= _MASK64
    return raw - (1 << 64) if raw & (1 << 63) else raw


# --------------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FieldSpec:
    number: int
    name: str
    kind: str
    label: str
    json_name: str
    enum_type: Optional[Type[enum.IntEnum]] = None
    message_type: Optional[Type["Message"]] = None
    oneof: Optional[str] = None


def pb(number: int, kind: str, label: str = IMPLICIT, *, enum_type: Optional[Type[enum.IntEnum]] = None,
       message_type: Optional[Type["Message"]] = None, oneof: Optional[str] = None) -> Any:
    """Declares a dataclass field as protobuf field ``number``; supplies the proto3 default."""
    meta = {"pb": (number, kind, label, enum_type, message_type, oneof)}
    if label == REPEATED:
        return dataclasses.field(default_factory=list, metadata=meta)
    if label == MAP:
        assert kind == STRING, "only map<string, string> is supported"
        return dataclasses.field(default_factory=dict, metadata=meta)
    if label == OPTIONAL or kind == MESSAGE or oneof is not None:
        return dataclasses.field(default=None, metadata=meta)
    default: Any = {STRING: "", BOOL: False, DOUBLE: 0.0}.get(kind, 0)
    if kind == ENUM and enum_type is not None:
        default = enum_type(0)
    return dataclasses.field(default=default, metadata=meta)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


M = TypeVar("M", bound="Message")


class Message:
    """Base of the message dataclasses: ``encode()``, ``decode()``, ``to_dict()``."""

    FULL_NAME: ClassVar[str] = ""
    _pb_fields: ClassVar[Tuple[FieldSpec, ...]] = ()
    _pb_by_number: ClassVar[Dict[int, FieldSpec]] = {}

    def encode(self) -> bytes:
        out = bytearray()
        _encode_into(self, out)
        return bytes(out)

    @classmethod
    def decode(cls: Type[M], data: bytes) -> M:
        """Decodes ``data``; raises :class:`DecodeError` if it is not a valid encoding."""
        obj = cls()
        _merge(obj, bytes(data), 0, len(data))
        return obj

    def to_dict(self) -> Dict[str, Any]:
        """The proto3 JSON mapping (as ``MessageToDict``): lowerCamelCase names, 64-bit integers as
        strings, enums by name, defaults left out."""
        return _to_dict(self)


def message(full_name: str) -> Callable[[Type[M]], Type[M]]:
    """Class decorator for a :class:`Message` dataclass (put it above ``@dataclass``): builds the
    field table the codec runs on from the fields' :func:`pb` metadata."""

    def wrap(cls: Type[M]) -> Type[M]:
        specs: List[FieldSpec] = []
        # fields() raises TypeError for a class without @dataclass. (cast: mypy's is_dataclass()
        # narrowing of type[M] proves one branch or the other unreachable, wrongly.)
        for f in dataclasses.fields(cast(Any, cls)):
            if "pb" not in f.metadata:
                continue
            number, kind, label, enum_type, message_type, oneof = f.metadata["pb"]
            specs.append(FieldSpec(number, f.name, kind, label, _camel(f.name), enum_type, message_type, oneof))
        specs.sort(key=lambda s: s.number)
        cls._pb_fields = tuple(specs)
        cls._pb_by_number = {s.number: s for s in specs}
        cls.FULL_NAME = full_name
        return cls

    return wrap


def enum_value(enum_type: Optional[Type[enum.IntEnum]], number: int) -> int:
    """``enum_type(number)`` when the number is known, else the plain int (enums are open)."""
    if enum_type is None:
        return number
    try:
        return enum_type(number)
    except ValueError:
        return number


# --------------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------------

def _tag(number: int, wire_type: int) -> bytes:
    return encode_varint((number << 3) | wire_type)


def _scalar_payload(kind: str, value: Any) -> bytes:
    if kind == SINT32:
        return encode_varint(zigzag32(int(value)))
    if kind == BOOL:
        return b"\x01" if value else b"\x00"
    return encode_varint(int(value))


def _is_default(kind: str, value: Any) -> bool:
    if kind == DOUBLE:
        return _DOUBLE.pack(float(value)) == _ZERO_DOUBLE_BITS
    if kind == STRING:
        return bool(value == "")
    return not value


def _encode_into(msg: Message, out: bytearray) -> None:
    for spec in msg._pb_fields:
        value = getattr(msg, spec.name)
        kind = spec.kind
        if spec.label == MAP:
            for key in sorted(value, key=lambda k: k.encode("utf-8")):
                entry = bytearray()
                for number, text in ((1, key), (2, value[key])):
                    raw = text.encode("utf-8")
                    entry += _tag(number, LENGTH_DELIMITED) + encode_varint(len(raw)) + raw
                out += _tag(spec.number, LENGTH_DELIMITED) + encode_varint(len(entry)) + entry
            continue
        if spec.label == REPEATED:
            if not value:
                continue
            if kind in _VARINT_KINDS:
                payload = b"".join(_scalar_payload(kind, v) for v in value)
                out += _tag(spec.number, LENGTH_DELIMITED)
                out += encode_varint(len(payload))
                out += payload
            elif kind == DOUBLE:
                payload = b"".join(_DOUBLE.pack(float(v)) for v in value)
                out += _tag(spec.number, LENGTH_DELIMITED)
                out += encode_varint(len(payload))
                out += payload
            else:
                for item in value:
                    _encode_one(spec, item, out)
            continue
        if value is None:
            continue
        if spec.label == IMPLICIT and kind != MESSAGE and spec.oneof is None and _is_default(kind, value):
            continue
        _encode_one(spec, value, out)


def _encode_one(spec: FieldSpec, value: Any, out: bytearray) -> None:
    kind = spec.kind
    if kind == STRING:
        raw = value.encode("utf-8")
        out += _tag(spec.number, LENGTH_DELIMITED)
        out += encode_varint(len(raw))
        out += raw
    elif kind == MESSAGE:
        body = bytearray()
        _encode_into(value, body)
        out += _tag(spec.number, LENGTH_DELIMITED)
        out += encode_varint(len(body))
        out += body
    elif kind == DOUBLE:
        out += _tag(spec.number, FIXED64)
        out += _DOUBLE.pack(float(value))
    else:
        out += _tag(spec.number, VARINT)
        out += _scalar_payload(kind, value)


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------

def _convert_varint(spec: FieldSpec, raw: int) -> Any:
    kind = spec.kind
    if kind == UINT64:
        return raw
    if kind == INT64:
        return _to_int64(raw)
    if kind == INT32:
        return _to_int32(raw)
    if kind == BOOL:
        return raw != 0
    if kind == SINT32:
        return unzigzag32(raw)
    return enum_value(spec.enum_type, _to_int32(raw))  # ENUM


def _read_length(data: bytes, pos: int, end: int) -> Tuple[int, int]:
    start = pos
    length, pos = decode_varint32(data, pos, end, "length")
    if length > end - pos:
        raise DecodeError("truncated", f"length {length} at offset {start} but only {end - pos} bytes left")
    return length, pos


def _skip(data: bytes, pos: int, end: int, wire_type: int) -> int:
    if wire_type == VARINT:
        return decode_varint(data, pos, end)[1]
    if wire_type == FIXED64:
        if end - pos < 8:
            raise DecodeError("truncated", f"fixed64 at offset {pos} runs past the end")
        return pos + 8
    if wire_type == FIXED32:
        if end - pos < 4:
            raise DecodeError("truncated", f"fixed32 at offset {pos} runs past the end")
        return pos + 4
    length, pos = _read_length(data, pos, end)
    return pos + length


def _read_string(data: bytes, pos: int, end: int, number: int, field_offset: int) -> Tuple[str, int]:
    length, pos = _read_length(data, pos, end)
    try:
        return data[pos:pos + length].decode("utf-8"), pos + length
    except UnicodeDecodeError:
        raise DecodeError("invalid_utf8", f"string field {number} at offset {field_offset}") from None


def _merge_map_entry(target: Dict[str, str], data: bytes, pos: int, end: int) -> None:
    """One map<string, string> entry: key = 1, value = 2, either missing meaning ""; other fields
    skipped."""
    key = value = ""
    while pos < end:
        field_offset = pos
        tag, pos = decode_varint32(data, pos, end)
        number, wire_type = tag >> 3, tag & 7
        if number < 1 or number > MAX_FIELD_NUMBER:
            raise DecodeError("invalid_field_number", f"field number {number} at offset {field_offset}")
        if wire_type in (6, 7):
            raise DecodeError("invalid_wire_type", f"wire type {wire_type} for field {number} at offset {field_offset}")
        if wire_type in (START_GROUP, END_GROUP):
            raise DecodeError("group", f"group wire type for field {number} at offset {field_offset}")
        if number in (1, 2) and wire_type == LENGTH_DELIMITED:
            text, pos = _read_string(data, pos, end, number, field_offset)
            if number == 1:
                key = text
            else:
                value = text
        else:
            pos = _skip(data, pos, end, wire_type)
    target[key] = value


def _merge(obj: Message, data: bytes, pos: int, end: int) -> None:
    by_number = obj._pb_by_number
    while pos < end:
        field_offset = pos
        key, pos = decode_varint32(data, pos, end)
        number = key >> 3
        wire_type = key & 7
        if number < 1 or number > MAX_FIELD_NUMBER:
            raise DecodeError("invalid_field_number", f"field number {number} at offset {field_offset}")
        if wire_type in (6, 7):
            raise DecodeError("invalid_wire_type", f"wire type {wire_type} for field {number} at offset {field_offset}")
        if wire_type in (START_GROUP, END_GROUP):
            raise DecodeError("group", f"group wire type for field {number} at offset {field_offset}")
        spec = by_number.get(number)
        if spec is None:
            pos = _skip(data, pos, end, wire_type)
            continue
        kind = spec.kind
        if spec.label == MAP:
            if wire_type != LENGTH_DELIMITED:
                pos = _skip(data, pos, end, wire_type)
                continue
            length, pos = _read_length(data, pos, end)
            _merge_map_entry(getattr(obj, spec.name), data, pos, pos + length)
            pos += length
            continue
        if kind in _VARINT_KINDS:
            if wire_type == VARINT:
                raw, pos = decode_varint(data, pos, end)
                value = _convert_varint(spec, raw)
                if spec.label == REPEATED:
                    getattr(obj, spec.name).append(value)
                else:
                    setattr(obj, spec.name, value)
            elif wire_type == LENGTH_DELIMITED and spec.label == REPEATED:
                length, pos = _read_length(data, pos, end)
                sub_end = pos + length
                values = getattr(obj, spec.name)
                while pos < sub_end:
                    raw, pos = decode_varint(data, pos, sub_end)
                    values.append(_convert_varint(spec, raw))
            else:
                pos = _skip(data, pos, end, wire_type)
        elif kind == DOUBLE:
            if wire_type == FIXED64:
                if end - pos < 8:
                    raise DecodeError("truncated", f"double at offset {pos} runs past the end")
                value = _DOUBLE.unpack_from(data, pos)[0]
                pos += 8
                if spec.label == REPEATED:
                    getattr(obj, spec.name).append(value)
                else:
                    setattr(obj, spec.name, value)
            else:
                pos = _skip(data, pos, end, wire_type)
        elif wire_type != LENGTH_DELIMITED:
            pos = _skip(data, pos, end, wire_type)
        elif kind == STRING:
            text, pos = _read_string(data, pos, end, number, field_offset)
            if spec.label == REPEATED:
                getattr(obj, spec.name).append(text)
            else:
                setattr(obj, spec.name, text)
        else:  # MESSAGE
            length, pos = _read_length(data, pos, end)
            assert spec.message_type is not None
            if spec.label == REPEATED:
                item = spec.message_type()
                _merge(item, data, pos, pos + length)
                getattr(obj, spec.name).append(item)
            else:
                existing = getattr(obj, spec.name)
                if existing is None:
                    existing = spec.message_type()
                    if spec.oneof is not None:
                        for other in obj._pb_fields:
                            if other.oneof == spec.oneof:
                                setattr(obj, other.name, None)
                _merge(existing, data, pos, pos + length)
                setattr(obj, spec.name, existing)
            pos += length


# --------------------------------------------------------------------------------------------------
# proto3 JSON mapping (as the official MessageToDict produces it)
# --------------------------------------------------------------------------------------------------

def _json_scalar(spec: FieldSpec, value: Any) -> Any:
    kind = spec.kind
    if kind in (INT64, UINT64):
        return str(int(value))
    if kind == DOUBLE:
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if kind == ENUM:
        if isinstance(value, enum.IntEnum):
            return value.name
        return int(value)
    if kind == MESSAGE:
        return _to_dict(value)
    if kind in (INT32, SINT32):
        return int(value)
    return value


def _to_dict(msg: Message) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for spec in msg._pb_fields:
        value = getattr(msg, spec.name)
        if spec.label == MAP:
            if value:
                out[spec.json_name] = dict(value)
            continue
        if spec.label == REPEATED:
            if value:
                out[spec.json_name] = [_json_scalar(spec, v) for v in value]
            continue
        if value is None:
            continue
        if spec.label == IMPLICIT and spec.kind != MESSAGE and spec.oneof is None and _is_default(spec.kind, value):
            continue
        out[spec.json_name] = _json_scalar(spec, value)
    return out
