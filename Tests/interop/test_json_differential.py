"""Differential tests of the Swift proto3 JSON reader (JSONDecodableMessage, through
topology-wire-probe's `json` lines) against the official `json_format.Parse`: for each input both
accept it and make the same bytes, or both refuse it. Where the two differ on purpose, the case is
listed in DIVERGENCES with the reason, and the test holds each side to its listed answer."""

import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from interop_support import message_class, messages

# The messages the Swift reader knows: the six RPCs' requests and what they contain.
READABLE = ["ServiceMetadata", "ServiceMetrics", "ApplicationHealth", "RegisterServiceRequest", "HeartbeatRequest",
            "LatencyHistogram", "ReportActivityRequest", "UnregisterServiceRequest", "TopologyQuery",
            "GetTopologyRequest", "WatchTopologyRequest"]


def official(name, text):
    """The official library's bytes for `text`, or None when it refuses it."""
    try:
        return json_format.Parse(text, message_class(name)()).SerializeToString(deterministic=True)
    except (json_format.ParseError, UnicodeDecodeError, ValueError):
        return None


CASES = [
    ("RegisterServiceRequest", "{}"),
    ("RegisterServiceRequest", ' {\t"serviceName" :\r\n"checkout" } '),
    ("RegisterServiceRequest", '{"serviceName": "checkout", "serviceType": "SERVICE_TYPE_HYBRID", "language": '
                               '"SERVICE_LANGUAGE_SWIFT", "version": "2.4.1", "address": "10.0.3.17:8443", "host": "h", '
                               '"metadata": {"region": "eu", "versionHash": "9f1c", "programName": ""}, "serviceId": "id"}'),
    ("RegisterServiceRequest", '{"service_name": "a", "service_type": 2, "metadata": {"version_hash": "x", '
                               '"service_interface": "grpc"}, "service_id": "id"}'),
    ("RegisterServiceRequest", '{"serviceType": 42, "language": -1}'),
    ("RegisterServiceRequest", '{"language": 1.0}'),
    ("RegisterServiceRequest", '{"serviceType": "SERVER"}'),
    ("RegisterServiceRequest", '{"serviceType": 2147483648}'),
    ("RegisterServiceRequest", '{"serviceName": 5}'),
    ("RegisterServiceRequest", '{"serviceName": ["a"]}'),
    ("RegisterServiceRequest", '{"serviceName": null, "serviceType": null, "version": null, "metadata": null}'),
    ("RegisterServiceRequest", '{"version": "", "metadata": {}}'),
    ("RegisterServiceRequest", '{"metadata": "eu"}'),
    ("RegisterServiceRequest", '{"servicename": "a"}'),
    ("RegisterServiceRequest", '{"serviceName": "a", "serviceName": "b"}'),
    ("RegisterServiceRequest", '{} x'),
    ("RegisterServiceRequest", '{"serviceName": "a",}'),
    ("RegisterServiceRequest", '{"serviceName": "a"'),
    ("RegisterServiceRequest", '["serviceName"]'),
    ("RegisterServiceRequest", 'null'),
    ("RegisterServiceRequest", ''),
    ("RegisterServiceRequest", '{"serviceName": "\\ud800"}'),
    ("RegisterServiceRequest", '{"serviceName": "\\udc00\\ud800"}'),
    ("RegisterServiceRequest", '{"serviceName": "\\ud83d\\ude80 \\u00e9 \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"}'),
    ("RegisterServiceRequest", '{"serviceName": "caf\u00e9 \U0001F680 \u2028"}'),
    ("RegisterServiceRequest", '{"serviceName": "a\tb"}'),
    ("RegisterServiceRequest", '{"serviceName": "\\x41"}'),
    ("RegisterServiceRequest", '{"language": 01}'),
    ("RegisterServiceRequest", '{"language": +1}'),
    ("RegisterServiceRequest", '{"serviceName":\u00a0"a"}'),
    ("RegisterServiceRequest", '{"serviceName":\f"a"}'),
    ("RegisterServiceRequest", '\ufeff{}'),
    ("RegisterServiceRequest", b'{"serviceName": "\xff"}'),
    ("RegisterServiceRequest", b'{"serviceName": "\xed\xa0\x80"}'),
    ("HeartbeatRequest", '{"serviceId": "s", "sequence": "9007199254740993"}'),
    ("HeartbeatRequest", '{"sequence": 9007199254740993}'),
    ("HeartbeatRequest", '{"sequence": "-9223372036854775808"}'),
    ("HeartbeatRequest", '{"sequence": "9223372036854775807"}'),
    ("HeartbeatRequest", '{"sequence": "9223372036854775808"}'),
    ("HeartbeatRequest", '{"sequence": -9223372036854775809}'),
    ("HeartbeatRequest", '{"sequence": 1.5}'),
    ("HeartbeatRequest", '{"sequence": "1.5"}'),
    ("HeartbeatRequest", '{"sequence": "1e2"}'),
    ("HeartbeatRequest", '{"sequence": 1e2}'),
    ("HeartbeatRequest", '{"sequence": "1.0"}'),
    ("HeartbeatRequest", '{"sequence": 1e400}'),
    ("HeartbeatRequest", '{"sequence": " 1"}'),
    ("HeartbeatRequest", '{"sequence": "Infinity"}'),
    ("HeartbeatRequest", '{"sequence": true}'),
    ("HeartbeatRequest", '{"sequence": "abc"}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": 12.5, "memoryBytes": "18446744073709551615"}}'),
    ("HeartbeatRequest", '{"metrics": {"memoryBytes": 18446744073709551616}}'),
    ("HeartbeatRequest", '{"metrics": {"memoryBytes": -1}}'),
    ("HeartbeatRequest", '{"metrics": {"memoryBytes": "-0"}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": "NaN"}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": "Infinity"}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": "-Infinity"}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": NaN}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": Infinity}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": 1e400}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": "1.5e3"}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": -0.0}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": 5e-324}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": 0.1}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": 1.7976931348623157e308}}'),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": "nan"}}'),
    ("HeartbeatRequest", '{"health": {"state": "HEALTH_STATE_DEGRADED", "message": "", "errorCount": 0}}'),
    ("HeartbeatRequest", '{"health": {"state": 7, "error_count": -2147483648}}'),
    ("HeartbeatRequest", '{"health": {"errorCount": 2147483648}}'),
    ("HeartbeatRequest", '{"health": {"errorCount": 1e2}}'),
    ("HeartbeatRequest", '{"health": {"extra": 1}}'),
    ("ReportActivityRequest", '{"serviceId": "a", "targetService": "b", "type": "ACTIVITY_TYPE_ERROR", '
                              '"timestampMs": "1732350000123", "latencyMs": 12, "method": "/x", "success": false, '
                              '"batchSize": 0, "errorMessage": "e", "latencyHistogram": {"indexes": [-2147483648, 0, '
                              '2147483647], "counts": ["18446744073709551615", 0, 1], "zeroCount": "3"}, "errorCount": 1}'),
    ("ReportActivityRequest", '{"success": "true"}'),
    ("ReportActivityRequest", '{"success": 1}'),
    ("ReportActivityRequest", '{"success": null, "timestampMs": null}'),
    ("ReportActivityRequest", '{"latencyHistogram": {"indexes": [1.5]}}'),
    ("ReportActivityRequest", '{"latencyHistogram": {"indexes": 1}}'),
    ("ReportActivityRequest", '{"latencyHistogram": {"counts": [null]}}'),
    ("ReportActivityRequest", '{"latencyHistogram": {"indexes": []}}'),
    ("UnregisterServiceRequest", '{"serviceId": "x"}'),
    ("UnregisterServiceRequest", '{"service_id": "x"}'),
    ("UnregisterServiceRequest", '{"serviceId": {}}'),
    ("GetTopologyRequest", '{"query": {"serviceNames": ["a", "", "b"], "includeIdle": true, "states": '
                           '["SERVICE_STATE_DEAD", 1, 99], "environments": [], "teams": ["t"], "regions": null}}'),
    ("GetTopologyRequest", '{"query": {"states": [1, null]}}'),
    ("GetTopologyRequest", '{"query": {"states": ["DEAD"]}}'),
    ("GetTopologyRequest", '{"query": {"serviceNames": "a"}}'),
    ("GetTopologyRequest", '{"query": {"include_stale": true, "service_names": ["x"]}}'),
    ("GetTopologyRequest", '{"query": {}}'),
    ("WatchTopologyRequest", '{"query": {"teams": ["a"]}, "resumeAfterRevision": "18446744073709551615", '
                             '"resumeServerEpoch": "e"}'),
    ("WatchTopologyRequest", '{"resume_after_revision": 0}'),
    ("RegisterServiceRequest", '{"serviceName": "a", "labels": {"team": "payments", "tier": "", "é 🚀": "x\\"y"}}'),
    ("RegisterServiceRequest", '{"labels": {}}'),
    ("RegisterServiceRequest", '{"labels": null}'),
    ("RegisterServiceRequest", '{"labels": {"team": null}}'),
    ("RegisterServiceRequest", '{"labels": {"n": 1}}'),
    ("RegisterServiceRequest", '{"labels": {"b": true}}'),
    ("RegisterServiceRequest", '{"labels": {"o": {}}}'),
    ("RegisterServiceRequest", '{"labels": [["k", "v"]]}'),
    ("RegisterServiceRequest", '{"labels": "team=payments"}'),
    ("RegisterServiceRequest", '{"labels": {"k": "a", "k": "b"}}'),
    ("GetTopologyRequest", '{"query": {"labelSelectors": ["team=payments", "canary", "a=b=c"]}}'),
    ("GetTopologyRequest", '{"query": {"label_selectors": "team=payments"}}'),
    ("WatchTopologyRequest", '{"resumeAfterRevision": "-1"}'),
    ("WatchTopologyRequest", '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'),
]

# Where the readers differ on purpose: (message, input) -> (Swift accepts?, official accepts?, why).
DIVERGENCES = {
    ("RegisterServiceRequest", '{"serviceName": "a", "service_name": "b"}'):
        (False, True, "one field by both names: the official parser takes the last; Swift refuses to guess, as protojson does"),
    ("RegisterServiceRequest", '{"serviceType": "2"}'):
        (False, True, "an enum number in a string: the official parser tries int(); the mapping allows a name or a number"),
    ("RegisterServiceRequest", '{"serviceType": true}'):
        (False, True, "Python's int(True) is 1; a boolean is no enum value"),
    ("HeartbeatRequest", '{"sequence": "+1"}'):
        (False, True, "Python's int() takes a '+' sign; Swift takes JSON number grammar in strings"),
    ("HeartbeatRequest", '{"sequence": "1_000"}'):
        (False, True, "Python's int() takes digit separators; JSON number grammar has none"),
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": "1e400"}}'):
        (False, True, "the official parser turns an out-of-range string into Infinity; Swift refuses it as for numbers"),
}

# Both accept, but make different bytes: (message, input) -> why.
VALUE_DIVERGENCES = {
    ("HeartbeatRequest", '{"sequence": "9007199254740993.0"}'):
        "the official parser goes through a float and rounds to ...992; Swift reads the digits exactly",
    ("HeartbeatRequest", '{"metrics": {"cpuPercent": -0}}'):
        "Python's json reads -0 as the integer 0 and loses the sign; Swift reads the double -0.0",
}


@pytest.mark.parametrize("name,text", CASES)
def test_handwritten_inputs_agree(probe, name, text):
    answer = probe.from_json(name, text)
    expected = official(name, text)
    if expected is None:
        assert answer[0] == "err", f"Swift accepted what the official parser refuses: {text!r}"
    else:
        assert answer[0] == "ok", f"Swift refused {text!r}: {answer[1]}"
        assert answer[1].hex() == expected.hex(), text


@pytest.mark.parametrize("key", list(DIVERGENCES))
def test_listed_divergences_hold(probe, key):
    name, text = key
    swift_accepts, official_accepts, _why = DIVERGENCES[key]
    assert (probe.from_json(name, text)[0] == "ok") == swift_accepts
    assert (official(name, text) is not None) == official_accepts


@pytest.mark.parametrize("key", list(VALUE_DIVERGENCES))
def test_listed_value_divergences_hold(probe, key):
    name, text = key
    answer = probe.from_json(name, text)
    expected = official(name, text)
    assert answer[0] == "ok" and expected is not None
    assert answer[1] != expected


@given(st.sampled_from(READABLE).flatmap(lambda name: st.tuples(st.just(name), messages(name))),
       st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.sampled_from([None, 0, 2]))
def test_official_json_of_random_messages_reads_the_same(probe, named, proto_names, enum_numbers, ascii_only,
                                                          all_fields, indent):
    """Whatever the official writer writes, in any of its styles, the Swift reader reads to the
    bytes the official reader makes of it."""
    name, original = named
    text = json_format.MessageToJson(original, preserving_proto_field_name=proto_names, indent=indent,
                                     use_integers_for_enums=enum_numbers, ensure_ascii=ascii_only,
                                     always_print_fields_with_no_presence=all_fields)
    expected = official(name, text)
    assert expected is not None
    answer = probe.from_json(name, text)
    assert answer[0] == "ok", f"Swift refused {text!r}: {answer[1]}"
    assert answer[1].hex() == expected.hex(), text
