#!/usr/bin/env python3
"""Generates the OTLP golden vectors in Schema/testdata/otlp/ with the official opentelemetry-proto
package (and the official protobuf runtime under it).

One JSON file per case, `<case>.json`. A decodable vector:

    {"description": "...",
     "hex": "<ExportTraceServiceRequest bytes, SerializeToString()>",
     "json": "<the same request in the OTLP JSON encoding: MessageToJson with enums as numbers,
              trace and span ids turned from base64 into hex as OTLP JSON requires>",
     "value": <MessageToDict of the request, with ids in hex, keeping only the fields Topology reads
               (resource attributes; span ids, name, kind, times, attributes, status)>}

An error vector has "error" (truncated, too_deep, invalid_id) instead of "json" and "value"; the
official library's view of the bytes is in the description.

    .venv/bin/python scripts/generate_otlp_vectors.py           # (re)write Schema/testdata/otlp
    .venv/bin/python scripts/generate_otlp_vectors.py --check   # exit 1 if the files are stale

Readers: Tests/TopologyWireTests/OTLPGoldenVectorTests.swift, Tests/Fuzz/make_corpus.py (seeds of the
`otlp` fuzz target).
"""

import argparse
import base64
import json
import sys
from pathlib import Path

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

OUT = Path(__file__).resolve().parent.parent / "Schema" / "testdata" / "otlp"
ID_FIELDS = {"traceId", "spanId", "parentSpanId"}
# What OTLPTraceRequest decodes; everything else is skipped as unknown.
KEPT = {
    "request": {"resourceSpans"},
    "resourceSpans": {"resource", "scopeSpans"},
    "resource": {"attributes"},
    "scopeSpans": {"spans"},
    "spans": {"traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano", "endTimeUnixNano",
              "attributes", "status"},
    "status": {"code", "message"},
}


def attr(key, value):
    return KeyValue(key=key, value=value)


def sv(text):
    return AnyValue(string_value=text)


def sdk_like_request():
    """What the Python SDK sends for one CLIENT call that failed: resource, scope, attributes."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend([
        attr("service.name", sv("checkout")), attr("service.namespace", sv("shop")),
        attr("service.version", sv("1.4.2")), attr("deployment.environment", sv("prod")),
        attr("telemetry.sdk.language", sv("python")),
    ])
    resource_spans.schema_url = "https://opentelemetry.io/schemas/1.21.0"
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "opentelemetry.instrumentation.requests"
    scope.scope.version = "0.48b0"
    span = scope.spans.add(
        trace_id=bytes(range(1, 17)), span_id=bytes(range(0xA1, 0xA9)), parent_span_id=bytes(range(0xB1, 0xB9)),
        name="POST /charge", kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_000_042_500_000,
        status=Status(code=Status.STATUS_CODE_ERROR, message="502 Bad Gateway"),
    )
    span.attributes.extend([
        attr("peer.service", sv("payments")), attr("server.address", sv("payments.internal")),
        attr("server.port", AnyValue(int_value=8443)), attr("http.request.method", sv("POST")),
        attr("http.response.status_code", AnyValue(int_value=502)), attr("retried", AnyValue(bool_value=True)),
        attr("sample.ratio", AnyValue(double_value=0.25)), attr("payload", AnyValue(bytes_value=b"\x00\xffok")),
        attr("tags", AnyValue(array_value=ArrayValue(values=[sv("a"), AnyValue(int_value=-1)]))),
        attr("labels", AnyValue(kvlist_value=KeyValueList(values=[attr("tier", sv("gold"))]))),
    ])
    span.flags = 0x101
    span.trace_state = "vendor=1"
    event = span.events.add(name="exception", time_unix_nano=1_700_000_000_040_000_000)
    event.attributes.append(attr("exception.type", sv("HTTPError")))
    span.links.add(trace_id=bytes(16), span_id=bytes(8))
    span.dropped_attributes_count = 3
    return request


def many_resources_request():
    request = ExportTraceServiceRequest()
    for service in ("frontend", "orders"):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.append(attr("service.name", sv(service)))
        for library in ("grpc", "sql"):
            scope = resource_spans.scope_spans.add()
            scope.scope.name = library
            for index, kind in enumerate((Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT, Span.SPAN_KIND_PRODUCER)):
                span = scope.spans.add(
                    trace_id=bytes([index + 1] * 16), span_id=bytes([index + 0x10] * 8), name=f"{library}-{index}",
                    kind=kind, start_time_unix_nano=1_000, end_time_unix_nano=1_000 + 250_000 * (index + 1))
                if library == "sql":
                    span.attributes.extend([attr("db.system", sv("postgresql")), attr("db.name", sv("orders"))])
                else:
                    span.attributes.extend([attr("rpc.service", sv("shop.Orders")), attr("rpc.method", sv("Place"))])
    return request


def edge_values_request():
    """Extremes: timestamps past 2^63, int64 bounds, an unknown enum number, empty strings, no ids."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    span = scope.spans.add(name="", kind=9, start_time_unix_nano=2**64 - 1, end_time_unix_nano=2**63)
    span.attributes.extend([
        attr("min", AnyValue(int_value=-(2**63))), attr("max", AnyValue(int_value=2**63 - 1)),
        attr("", sv("")), attr("unset", AnyValue()),
        attr("nested", AnyValue(array_value=ArrayValue(values=[
            AnyValue(kvlist_value=KeyValueList(values=[attr("inner", AnyValue(array_value=ArrayValue(values=[
                AnyValue(double_value=-1.5e300)])))]))]))),
    ])
    span.status.SetInParent()
    scope.spans.add(kind=Span.SPAN_KIND_CONSUMER, status=Status(code=Status.STATUS_CODE_OK))
    return request


def nested_value(depth):
    value = sv("bottom")
    for _ in range(depth):
        value = AnyValue(array_value=ArrayValue(values=[value]))
    return value


def deep_request(depth):
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(name="deep")
    span.attributes.append(attr("deep", nested_value(depth)))
    return request


def bad_id_request(field, length):
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(name="bad id", **{field: bytes(range(length))})
    return request


def otlp_dict(message):
    """MessageToDict with OTLP JSON's differences: enums as numbers, ids in hex."""
    value = json_format.MessageToDict(message, use_integers_for_enums=True)

    def hexify(node):
        if isinstance(node, dict):
            return {key: (base64.b64decode(item).hex() if key in ID_FIELDS else hexify(item))
                    for key, item in node.items()}
        if isinstance(node, list):
            return [hexify(item) for item in node]
        return node
    return hexify(value)


def kept(node, name="request"):
    """The parts of an OTLP dict that Topology decodes."""
    keys = KEPT.get(name)
    if keys is None:  # attributes and values: kept whole, minus empty values
        if isinstance(node, list):
            return [kept(item, name) for item in node]
        if isinstance(node, dict):
            return {key: kept(item, key) for key, item in node.items() if not (key == "value" and item == {})}
        return node
    if isinstance(node, list):
        return [kept(item, name) for item in node]
    return {key: kept(item, key) for key, item in node.items() if key in keys}


def decodable(description, request):
    data = request.SerializeToString()
    assert ExportTraceServiceRequest.FromString(data) == request
    as_dict = otlp_dict(request)
    return {"description": description, "hex": data.hex(), "json": json.dumps(as_dict, sort_keys=True),
            "value": kept(as_dict)}


def error(description, data, kind):
    try:
        ExportTraceServiceRequest.FromString(data)
        official = "the official library accepts these bytes"
    except DecodeError as exc:
        official = f"the official library rejects them too ({exc})"
    return {"description": f"{description}; {official}", "hex": data.hex(), "error": kind}


def vectors():
    sdk = sdk_like_request().SerializeToString()
    return {
        "sdk_like": decodable("a CLIENT span as the SDK sends it, every AnyValue kind, events, links, "
                              "flags and scope skipped", sdk_like_request()),
        "empty": decodable("an empty request: no spans", ExportTraceServiceRequest()),
        "many_resources": decodable("two resources, two scopes each, server/client/producer spans",
                                    many_resources_request()),
        "edge_values": decodable("timestamps past 2^63, int64 bounds, an unknown span kind, unset and "
                                 "nested values, an empty status", edge_values_request()),
        "nested_within_limit": decodable("an attribute value nested 12 arrays deep (the limit is 32 "
                                         "messages: 13 levels)", deep_request(12)),
        "truncated_in_span": error("the SDK-like request cut in the middle of its span", sdk[:len(sdk) - 40],
                                   "truncated"),
        "truncated_in_length": error("the SDK-like request cut after its first tag", sdk[:1], "truncated"),
        "too_deep": error("an attribute value nested 40 arrays deep", deep_request(40).SerializeToString(),
                          "too_deep"),
        "short_trace_id": error("a 5-byte trace id", bad_id_request("trace_id", 5).SerializeToString(),
                                "invalid_id"),
        "long_span_id": error("a 9-byte span id", bad_id_request("span_id", 9).SerializeToString(), "invalid_id"),
        "short_parent_id": error("a 4-byte parent span id", bad_id_request("parent_span_id", 4).SerializeToString(),
                                 "invalid_id"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ from what would be written")
    args = parser.parse_args()
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, vector in vectors().items():
        text = json.dumps(vector, indent=1, sort_keys=True) + "\n"
        path = OUT / f"{name}.json"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("stale OTLP vectors (run scripts/generate_otlp_vectors.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
