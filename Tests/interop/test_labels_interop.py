"""map<string, string> labels against the official library: the bytes of an entry, the order of
entries, last-wins for a repeated key, and what each side makes of the other's order."""

from google.protobuf import json_format

from interop_support import canonical, message_class


def _request(labels):
    message = message_class("RegisterServiceRequest")(service_name="checkout")
    message.labels.update(labels)
    return message


def test_an_entry_is_a_message_of_key_and_value(probe):
    message = _request({"team": "payments"})
    data = message.SerializeToString(deterministic=True)
    assert data.hex() == "0a08636865636b6f7574" + "aa0110" + "0a047465616d" + "12087061796d656e7473"
    status, swift_bytes, swift_json = probe.roundtrip("RegisterServiceRequest", data)
    assert status == "ok" and swift_bytes == data
    assert swift_json == json_format.MessageToDict(message) == {"serviceName": "checkout", "labels": {"team": "payments"}}


def test_a_key_given_twice_keeps_the_last_value_on_both_sides(probe):
    first, second = _request({"team": "core"}), _request({"team": "payments", "tier": "web"})
    data = first.SerializeToString() + second.SerializeToString()
    official = message_class("RegisterServiceRequest")()
    official.ParseFromString(data)
    assert dict(official.labels) == {"team": "payments", "tier": "web"}
    status, swift_bytes, _ = probe.roundtrip("RegisterServiceRequest", data)
    assert status == "ok" and swift_bytes == canonical(official)


def test_prefix_keys_are_ordered_shorter_first_and_both_orders_parse(probe):
    """Deterministic serialization is not canonical across libraries: for "a" and "ab", upb (this
    Python library) writes "ab" first, Topology writes "a" first, as the C++ and Go libraries do.
    Each side reads the other's bytes to the same map."""
    message = _request({"ab": "1", "a": "2", "": "3", "b": "4"})
    upb_bytes = message.SerializeToString(deterministic=True)
    status, swift_bytes, swift_json = probe.roundtrip("RegisterServiceRequest", upb_bytes)
    assert status == "ok"
    assert swift_json["labels"] == {"ab": "1", "a": "2", "": "3", "b": "4"}
    entries = swift_bytes[len(b"\x0a\x08checkout"):]
    keys = []
    while entries:
        assert entries[:2] == b"\xaa\x01"
        size = entries[2]
        entry = entries[3:3 + size]
        keys.append(entry[2:2 + entry[1]].decode())
        entries = entries[3 + size:]
    assert keys == ["", "a", "ab", "b"]
    reparsed = message_class("RegisterServiceRequest")()
    reparsed.ParseFromString(swift_bytes)
    assert reparsed == message
