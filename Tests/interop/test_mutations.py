"""Hostile bytes: random byte strings, and truncations and mutations of valid encodings. Whatever the
input, the Swift codec must not crash, must reject what the official library rejects, and when both
accept, must produce the same canonical encoding and JSON.

Disagreements that are understood, and allowed here (each one named; any other fails the test):

- GROUP_ACCEPTED_BY_OFFICIAL: the official library (upb) accepts a well-formed group (wire types 3/4)
  and keeps it as an unknown field; Topology rejects groups outright (the issue asks for that: the
  schema has none, and they are deprecated).
"""

import pytest
from google.protobuf import json_format
from hypothesis import example, given
from hypothesis import strategies as st

from interop_support import (
    MESSAGE_NAMES, generator, DecodeError, ProbeCrashed, canonical, has_unknown_group, json_difference, message_class,
    messages,
)

GROUP_ACCEPTED_BY_OFFICIAL = "official accepts a group as an unknown field; Topology rejects groups"


def official(name, data):
    message = message_class(name)()
    try:
        message.ParseFromString(data)
    except DecodeError:
        return None
    return message


def compare(probe, name, data):
    """Returns None when both sides agree, the name of an allowed disagreement, or fails the test."""
    try:
        answer = probe.roundtrip(name, data)
    except ProbeCrashed as crash:
        pytest.fail(str(crash))
    expected = official(name, data)
    if expected is None and answer[0] == "err":
        return None
    if expected is not None and answer[0] == "ok":
        _, swift_bytes, swift_json = answer
        assert swift_bytes.hex() == canonical(expected).hex(), f"{name} {data.hex()}: re-encodings differ"
        difference = json_difference(swift_json, json_format.MessageToDict(expected))
        assert difference is None, f"{name} {data.hex()}: JSON differs: {difference}"
        return None
    if expected is not None and has_unknown_group(expected):
        return GROUP_ACCEPTED_BY_OFFICIAL
    if expected is None:
        pytest.fail(f"{name} {data.hex()}: the official library rejects it, Swift decoded {answer[1].hex()}")
    pytest.fail(f"{name} {data.hex()}: the official library decodes it, Swift says: {answer[1]}")


def valid_encodings():
    return st.sampled_from(MESSAGE_NAMES).flatmap(
        lambda name: st.tuples(st.just(name), messages(name).map(lambda m: m.SerializeToString(deterministic=True))))


@given(st.sampled_from(MESSAGE_NAMES), st.binary(max_size=48))
@example("ServiceMetrics", bytes.fromhex("2b2c"))          # group: GROUP_ACCEPTED_BY_OFFICIAL
@example("HeartbeatResponse", bytes.fromhex("88808080800001"))  # tag padded past 5 bytes
def test_random_bytes(probe, name, data):
    compare(probe, name, data)


@given(valid_encodings(), st.data())
def test_truncations_of_valid_encodings(probe, named, data):
    name, encoded = named
    cut = data.draw(st.integers(0, max(len(encoded) - 1, 0)))
    compare(probe, name, encoded[:cut])


@given(valid_encodings(), st.data())
def test_mutations_of_valid_encodings(probe, named, data):
    name, encoded = named
    mutated = bytearray(encoded)
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "append"]))
        at = data.draw(st.integers(0, len(mutated)))
        if kind == "flip" and at < len(mutated):
            mutated[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set" and at < len(mutated):
            mutated[at] = data.draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, 0x0B, 0x0C, 0x0E, 0x0F])
                                    | st.integers(0, 255))
        elif kind == "insert":
            mutated[at:at] = data.draw(st.binary(min_size=1, max_size=6))
        elif kind == "delete":
            del mutated[at:at + data.draw(st.integers(1, 4))]
        else:
            mutated += data.draw(st.binary(min_size=1, max_size=6))
    compare(probe, name, bytes(mutated))


def wire_fields(depth=0):
    """Random protobuf-shaped bytes: fields with small numbers (so they hit known fields, often with the
    wrong wire type), every wire type (mostly the four valid ones), varints of every width, and
    length-delimited payloads that are themselves random fields (so nested messages decode)."""
    number = st.one_of(st.integers(1, 24), st.sampled_from([0, 20, 21, 22, 23, 24, (1 << 29) - 1, 1 << 29]))
    wire_type = st.one_of(st.sampled_from([0, 1, 2, 5]), st.integers(0, 7))
    varint_value = st.one_of(st.integers(0, 300), st.integers(0, (1 << 64) - 1), st.integers(-(1 << 63), -1))
    text = st.text(max_size=6).map(lambda t: t.encode("utf-8"))
    payload = st.one_of(text, st.binary(max_size=8), st.just(b""))
    if depth < 2:
        payload = st.one_of(payload, st.deferred(lambda: wire_fields(depth + 1)))

    def encode(parts):
        number, wire_type, value, raw = parts
        key = generator.varint(number << 3 | wire_type)
        if wire_type == 0:
            return key + generator.varint(value)
        if wire_type == 1:
            return key + (raw + bytes(8))[:8]
        if wire_type == 5:
            return key + (raw + bytes(4))[:4]
        if wire_type == 2:
            return key + generator.varint(len(raw)) + raw
        return key + raw[:2]  # groups and the undefined wire types 6 and 7

    field = st.tuples(number, wire_type, varint_value, payload).map(encode)
    return st.lists(field, max_size=6).map(b"".join)


@given(st.sampled_from(MESSAGE_NAMES), wire_fields())
def test_random_wire_shaped_bytes(probe, name, data):
    compare(probe, name, data)


def test_the_allowed_disagreements_are_real(probe):
    """Each allowed disagreement exists as described (so the allowance is not dead code); if one goes
    away, update the list in the module docstring."""
    assert compare(probe, "ServiceMetrics", bytes.fromhex("2b2c")) == GROUP_ACCEPTED_BY_OFFICIAL
    assert compare(probe, "Frame", bytes.fromhex("6204" "0b0c" "0801")) == GROUP_ACCEPTED_BY_OFFICIAL


# Tags and length prefixes are 32-bit: like upb and C++, the decoder rejects one padded past 5 bytes.
@pytest.mark.parametrize("name,hex_input", [
    ("HeartbeatResponse", "88808080800001"),                 # tag 08 padded to 6 bytes, then value 01
    ("UnregisterServiceRequest", "0a838080808000616263"),    # length 3 padded to 6 bytes
    ("UnregisterServiceRequest", "f8ffffff8f0000"),          # tag of field 2^29-1 in 6 bytes
])
def test_overlong_tag_and_length_varints_are_rejected_like_upb(probe, name, hex_input):
    data = bytes.fromhex(hex_input)
    assert official(name, data) is None
    assert probe.roundtrip(name, data)[0] == "err"
