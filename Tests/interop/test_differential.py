"""Differential tests: random messages of every type, built and encoded by the official protobuf
library, decoded and re-encoded by the Swift codec (through topology-wire-probe), and back."""

import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from interop_support import (MESSAGE_NAMES, any_message, canonical, contains_nan, has_prefix_map_keys, json_difference,
                              message_class, messages)


def check_round_trip(probe, name, original, data=None):
    """Official bytes -> Swift decode + re-encode -> official decode. (a) Swift's bytes are exactly the
    official deterministic encoding; (b) the official library decodes them to an equal message;
    (c) Swift's JSON equals MessageToDict."""
    expected = canonical(original)
    if data is None:
        data = original.SerializeToString(deterministic=True)
    answer = probe.roundtrip(name, data)
    assert answer[0] == "ok", f"Swift rejected official bytes {data.hex()} for {name}: {answer[1]}"
    _, swift_bytes, swift_json = answer
    # Map entries whose keys are prefixes of one another are the one place where upb's deterministic
    # order differs from Topology's (see MAP_OF_TEXT): there (b) below is the check.
    if not has_prefix_map_keys(original):
        assert swift_bytes.hex() == expected.hex(), f"re-encoding of {name} from {data.hex()}"

    decoded = message_class(name)()
    decoded.ParseFromString(swift_bytes)
    # NaN != NaN, so messages holding one are compared by their serializations (which carry the bits).
    assert decoded.SerializeToString(deterministic=True) == expected
    if not contains_nan(original):
        assert decoded == original

    difference = json_difference(swift_json, json_format.MessageToDict(original))
    assert difference is None, f"JSON of {name} from {data.hex()}: {difference}"


@given(any_message())
def test_random_messages_of_every_type(probe, named):
    name, original = named
    check_round_trip(probe, name, original)


@given(messages("Frame"))
def test_random_frames(probe, frame):
    check_round_trip(probe, "Frame", frame)


@pytest.mark.parametrize("name", MESSAGE_NAMES)
@settings(max_examples=40)
@given(data=st.data())
def test_random_messages_per_type(probe, name, data):
    check_round_trip(probe, name, data.draw(messages(name)))


@given(st.sampled_from(MESSAGE_NAMES).flatmap(
    lambda name: st.tuples(st.just(name), messages(name), messages(name))))
def test_concatenated_encodings_merge_like_the_official_library(probe, triple):
    """Protobuf defines the concatenation of two encodings as their merge: scalars of the second win,
    repeated fields append, message fields merge, a oneof member replaces another. Both sides must
    agree on the merged message."""
    name, first, second = triple
    data = first.SerializeToString(deterministic=True) + second.SerializeToString(deterministic=True)
    merged = message_class(name)()
    merged.ParseFromString(data)
    check_round_trip(probe, name, merged, data)


def _unpacked(message):
    """The message's encoding with every packed repeated scalar written unpacked (one tag per element),
    built from the fields: encode each field on its own, and re-encode packed ones element by element."""
    from interop_support import FD, generator
    cls = type(message)
    out = b""
    for field, value in message.ListFields():
        single = cls()
        if field.is_repeated and field.type != FD.TYPE_MESSAGE and field.type != FD.TYPE_STRING:
            for item in value:
                if field.type == FD.TYPE_SINT32:
                    out += generator.f_varint(field.number, generator.zigzag32(item))
                else:
                    out += generator.f_varint(field.number, item)
            continue
        if field.is_repeated:
            getattr(single, field.name).extend(value)
        elif field.type == FD.TYPE_MESSAGE:
            getattr(single, field.name).CopyFrom(value)
        else:
            setattr(single, field.name, value)
        out += single.SerializeToString(deterministic=True)
    return out


@given(st.sampled_from(["LatencyHistogram", "TopologyQuery"]).flatmap(
    lambda name: st.tuples(st.just(name), messages(name))))
def test_unpacked_repeated_scalars_are_accepted(probe, named):
    name, original = named
    data = _unpacked(original)
    parsed = message_class(name)()
    parsed.ParseFromString(data)
    assert canonical(parsed) == canonical(original)
    check_round_trip(probe, name, original, data)


@given(st.sampled_from(MESSAGE_NAMES).flatmap(lambda name: st.tuples(st.just(name), messages(name))),
       st.lists(st.tuples(st.integers(1, (1 << 29) - 1), st.sampled_from([0, 1, 2, 5]), st.binary(max_size=9),
                          st.integers(0, (1 << 64) - 1)), min_size=1, max_size=4),
       st.data())
def test_unknown_fields_are_skipped(probe, named, unknowns, data):
    """Unknown fields of every wire type, inserted between the known ones, are skipped by both."""
    from interop_support import generator
    name, original = named
    known = {f.number for f in original.DESCRIPTOR.fields}
    encoded = original.SerializeToString(deterministic=True)
    pieces = []
    for number, wire_type, payload, number_value in unknowns:
        if number in known:
            continue
        if wire_type == 0:
            pieces.append(generator.f_varint(number, number_value))
        elif wire_type == 1:
            pieces.append(generator.f_fixed64(number, (payload + bytes(8))[:8]))
        elif wire_type == 2:
            pieces.append(generator.f_bytes(number, payload))
        else:
            pieces.append(generator.f_fixed32(number, (payload + bytes(4))[:4]))
    at = data.draw(st.sampled_from(["start", "end"]))
    blob = b"".join(pieces)
    data_bytes = blob + encoded if at == "start" else encoded + blob
    check_round_trip(probe, name, original, data_bytes)
