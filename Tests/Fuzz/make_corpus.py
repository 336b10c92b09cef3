"""Writes the seed corpora of the fuzz targets, Tests/Fuzz/corpus/<target>/, from the golden vectors
(Schema/testdata), a few handmade HTTP requests, the HPACK examples of RFC 7541 Appendix C
(Schema/hpack/rfc7541_appendix_c.json), and handmade HTTP/2 client streams. Each seed is laid out
as its target reads input (see Tests/Fuzz/README.md). Run it after the vectors change; with --check it writes nothing and fails
when the committed seeds are not what it would write (scripts/test.sh runs that).

    .venv/bin/python Tests/Fuzz/make_corpus.py [--check]
"""
import argparse
import importlib.util
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load_golden_generator():
    """scripts/generate_golden_vectors.py, for its varint (it needs the .venv's protobuf package)."""
    spec = importlib.util.spec_from_file_location("generate_golden_vectors", ROOT / "scripts" / "generate_golden_vectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


varint = _load_golden_generator().varint
TESTDATA = ROOT / "Schema" / "testdata"
CORPUS = ROOT / "Tests" / "Fuzz" / "corpus"
HPACK_EXAMPLES = ROOT / "Schema" / "hpack" / "rfc7541_appendix_c.json"

# The control byte of the stream targets: split the stream in the middle.
MIDDLE = 0x80
# The frame size limit of the `frame` and `c-client` targets.
MAX_FRAME = 1024

HTTP_REQUESTS = {
    "get_dashboard": b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: text/html\r\n\r\n",
    "get_topology_query": b"GET /api/v1/topology?service=check%20out&include_idle=true&x=a+b HTTP/1.1\r\n"
                          b"Host: localhost\r\nAccept: application/json\r\n\r\n",
    "watch_sse": b"GET /api/v1/watch HTTP/1.1\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
    "head_http10_keep_alive": b"HEAD /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "pipelined_then_close": b"GET /healthz HTTP/1.1\r\n\r\nGET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n",
    "leading_empty_lines": b"\r\n\r\nGET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",
    "content_length_zero_twice": b"GET / HTTP/1.1\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n",
    "body_refused": b"POST /api/v1/topology HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    "chunked_refused": b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "http2_refused": b"GET / HTTP/2.0\r\n\r\n",
    "obsolete_folding": b"GET / HTTP/1.1\r\nX-A: a\r\n  b\r\n\r\n",
    "bare_lf": b"GET / HTTP/1.1\nHost: x\n\n",
    "bad_percent_escape": b"GET /%zz?q=%e2%82 HTTP/1.1\r\n\r\n",
    "incomplete_head": b"GET /api/v1/topology HTTP/1.1\r\nHost: x\r\n",
    "topology_at_then_history": b"GET /api/v1/topology?at=1796624080000 HTTP/1.1\r\nHost: x\r\n\r\n"
                                b"GET /api/v1/history HTTP/1.1\r\nHost: x\r\n\r\n",
}


# Seeds of the `json` target beyond the golden vectors' JSON: (message, text) for the corners of
# the grammar and the mapping, valid and not.
JSON_TEXTS = {
    "escapes_and_surrogates": ("RegisterServiceRequest",
                               b'{"serviceName": "\\ud83d\\ude80 caf\\u00e9 \\" \\\\ \\/ \\b\\f\\n\\r\\t \\u0000",'
                               b' "serviceType": 42, "language": "SERVICE_LANGUAGE_SWIFT"}'),
    "lone_surrogate": ("UnregisterServiceRequest", b'{"serviceId": "\\ud800x"}'),
    "number_edges": ("HeartbeatRequest", b'{"sequence": "9007199254740993", "metrics": {"cpuPercent": -0.0e-0,'
                                         b' "memoryBytes": 1.8446744073709551615e19}, "health": {"errorCount": 1.0}}'),
    "number_out_of_range": ("HeartbeatRequest", b'{"metrics": {"cpuPercent": 1e400}}'),
    "proto_names_and_nulls": ("GetTopologyRequest", b'{"query": {"service_names": ["a", ""], "include_idle": true,'
                                                    b' "states": ["SERVICE_STATE_DEAD", 99], "teams": null}}'),
    "both_names": ("UnregisterServiceRequest", b'{"serviceId": "a", "service_id": "b"}'),
    "duplicate_key": ("UnregisterServiceRequest", b'{"serviceId": "a", "serviceId": "b"}'),
    "unknown_deep": ("WatchTopologyRequest", b'{"x": ' + b'[' * 20 + b']' * 20 + b', "resumeAfterRevision": "1"}'),
    "histogram": ("ReportActivityRequest", b'{"type": "ACTIVITY_TYPE_ERROR", "latencyHistogram": {"indexes":'
                                           b' [-2147483648, 2147483647], "counts": ["18446744073709551615", 0]}}'),
    "trailing_comma": ("TopologyQuery", b'{"regions": ["a",],}'),
}


def message_names():
    """Full names of the schema's messages, sorted: the selector order of `messages` and `c-client`."""
    proto = (ROOT / "Schema" / "topology.proto").read_text()
    package = re.search(r"^package\s+([\w.]+);", proto, re.M).group(1)
    return sorted(f"{package}.{name}" for name in re.findall(r"^message\s+(\w+)", proto, re.M))


def json_readable_names():
    """Full names of the messages the JSON reader knows, sorted: the selector order of `json`."""
    tables = (ROOT / "Sources" / "TopologyWire" / "JSON" / "RequestMessages+JSONSchema.swift").read_text()
    readable = set(re.findall(r"^extension\s+(\w+):\s+JSONDecodableMessage", tables, re.M))
    return [name for name in message_names() if name.rsplit(".", 1)[1] in readable]


def json_seeds():
    """`json` seeds: the official library's JSON of each golden vector of a readable message, and JSON_TEXTS."""
    names = json_readable_names()
    out = {}
    for path in sorted(TESTDATA.glob("*.json")):
        vector = json.loads(path.read_text())
        if "value" in vector and vector["message"] in names:
            text = json.dumps(vector["value"], ensure_ascii=False).encode()
            out[f"json/{path.stem}"] = bytes([names.index(vector["message"])]) + text
    for name, (message, text) in JSON_TEXTS.items():
        out[f"json/{name}"] = bytes([names.index(f"runtime.v1.{message}")]) + text
    return out


def otlp_seeds():
    """`otlp` seeds: each OTLP golden vector's protobuf bytes (control 0) and OTLP JSON (control 1)."""
    out = {}
    for path in sorted((TESTDATA / "otlp").glob("*.json")):
        vector = json.loads(path.read_text())
        out[f"otlp/{path.stem}"] = b"\x00" + bytes.fromhex(vector["hex"])
        if "json" in vector:
            out[f"otlp/{path.stem}_json"] = b"\x01" + vector["json"].encode()
    return out


def vectors():
    for path in sorted(TESTDATA.glob("*.json")):
        vector = json.loads(path.read_text())
        yield path.stem, vector["message"], bytes.fromhex(vector["hex"]), "error" not in vector


def frame_streams(frame_vectors):
    """Frame streams (without the control byte): each golden Frame alone, then a few whole streams."""
    streams = {}
    for name, body, _ in frame_vectors:
        streams[name] = varint(len(body)) + body
    decodable = [varint(len(body)) + body for _, body, ok in frame_vectors if ok]
    streams["every_decodable_frame"] = b"".join(decodable)
    streams["two_frames_then_a_cut_one"] = decodable[0] + decodable[1] + decodable[2][:-1]
    streams["empty_frames"] = b"\x00\x00\x00"
    streams["prefix_over_the_limit"] = varint(MAX_FRAME + 1)
    streams["prefix_over_five_bytes"] = b"\x80\x80\x80\x80\x80\x00"
    return streams


# The `hpack` target's control byte: the low 2 bits index its table sizes, the high 6 bits give the
# header list limit, 64 * (1 + bits).
HPACK_TABLE_SIZES = [0, 64, 256, 4096]
HPACK_LIMITS = {"limit_4096": 63, "limit_128": 1}


def hpack_seeds():
    """Each sequence of Appendix C as the blocks of one connection ([length] [block] each), with the
    RFC's table size, once with room for every list and once with a limit the lists go over."""
    out = {}
    for sequence in json.loads(HPACK_EXAMPLES.read_text())["sequences"]:
        name = sequence["name"].split()[0].lower().replace(".", "_")
        table = HPACK_TABLE_SIZES.index(sequence["max_table_size"])
        blocks = b"".join(bytes([len(block)]) + block for block in (bytes.fromhex(b["hex"]) for b in sequence["blocks"]))
        for limit_name, limit_bits in HPACK_LIMITS.items():
            out[f"hpack/{name}_{limit_name}"] = bytes([limit_bits << 2 | table]) + blocks
    return out


def h2_frame(frame_type, flags, stream, payload=b""):
    """One HTTP/2 frame (RFC 9113 §4.1): 24-bit length, type, flags, 31-bit stream id, payload."""
    return len(payload).to_bytes(3, "big") + bytes([frame_type, flags]) + stream.to_bytes(4, "big") + payload


def h2_literal(octets):
    """An HPACK string literal without Huffman coding, for strings under 127 octets."""
    return bytes([len(octets)]) + octets


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_SETTINGS = h2_frame(0x4, 0, 0)
# A gRPC request head: :method POST, :scheme http (static), then literals without indexing.
H2_REQUEST = (b"\x83\x86\x04" + h2_literal(b"/runtime.v1.TopologyService/GetTopology") + b"\x01" + h2_literal(b"127.0.0.1:50053")
              + b"\x0f\x10" + h2_literal(b"application/grpc") + b"\x00" + h2_literal(b"te") + h2_literal(b"trailers"))
# The same head with incremental indexing of :path, so later blocks can refer to entry 62.
H2_REQUEST_INDEXING = b"\x83\x86\x44" + h2_literal(b"/runtime.v1.TopologyService/WatchTopology") + b"\x01" + h2_literal(b"a")


def h2_streams():
    """Client byte streams for the `http2` target: a call, and one for each rule the connection enforces."""
    start = H2_PREFACE + H2_SETTINGS
    message = b"\x00\x00\x00\x00\x02\x08\x01"
    return {
        "grpc_call": start + h2_frame(0x8, 0, 0, (983041).to_bytes(4, "big")) + h2_frame(0x1, 0x4, 1, H2_REQUEST)
                     + h2_frame(0x0, 0x1, 1, message) + h2_frame(0x4, 0x1, 0) + h2_frame(0x6, 0, 0, bytes(range(8))),
        "continuation": start + h2_frame(0x1, 0x1, 1, H2_REQUEST[:9]) + h2_frame(0x9, 0, 1) + h2_frame(0x9, 0x4, 1, H2_REQUEST[9:]),
        "dynamic_table": start + h2_frame(0x1, 0x5, 1, H2_REQUEST_INDEXING) + h2_frame(0x1, 0x5, 3, b"\x83\x86\xbe\x01\x01b"),
        "rapid_reset": start + b"".join(h2_frame(0x1, 0x4, i, H2_REQUEST) + h2_frame(0x3, 0, i, (8).to_bytes(4, "big")) for i in range(1, 24, 2)),
        "padded_and_priority": start + h2_frame(0x1, 0x4 | 0x8 | 0x20, 1, b"\x02" + b"\x80\x00\x00\x00\x10" + H2_REQUEST + b"\x00\x00")
                               + h2_frame(0x0, 0x8 | 0x1, 1, b"\x03" + message + b"\x00\x00\x00"),
        "windows_and_settings": start + h2_frame(0x4, 0, 0, (4).to_bytes(2, "big") + (10).to_bytes(4, "big") + (5).to_bytes(2, "big") + (20000).to_bytes(4, "big"))
                                + h2_frame(0x1, 0x4, 1, H2_REQUEST) + h2_frame(0x8, 0, 1, (100).to_bytes(4, "big"))
                                + h2_frame(0x8, 0, 0, (0x7fffffff).to_bytes(4, "big")),
        "ping_flood": start + b"".join(h2_frame(0x6, 0, 0, bytes([i] * 8)) for i in range(12)),
        "goaway_and_unknown": start + h2_frame(0xfa, 0xff, 1, b"xyz") + h2_frame(0x7, 0, 0, bytes(8) + b"bye"),
        "not_http2": b"GET / HTTP/1.1\r\n\r\n",
    }


def seeds():
    names = message_names()
    all_vectors = list(vectors())
    # The targets sort MessageRegistry.allTypes and w_all_descs by name. The Swift golden-vector
    # tests hold the registry to exactly the messages of the vectors (the C ones hold w_all_descs
    # to at least them), so with vectors for exactly the schema's messages the orders agree; a
    # seed given to the wrong decoder would still be a valid input, only a worse seed.
    covered = {message for _, message, _, _ in all_vectors}
    if covered != set(names):
        sys.exit(f"golden vectors and topology.proto disagree on the messages: {sorted(covered ^ set(names))}")
    frame_vectors = [(n, b, ok) for n, m, b, ok in all_vectors if m.endswith(".Frame")]
    frames = frame_streams(frame_vectors)
    out = {}
    for name, message, body, _ in all_vectors:
        seed = bytes([names.index(message)]) + body
        out[f"messages/{name}"] = seed
        out[f"c-client/{name}"] = seed
    for name, stream in frames.items():
        out[f"frame/{name}"] = bytes([MIDDLE]) + stream
        out[f"c-client/stream-{name}"] = bytes([len(names), MIDDLE]) + stream
    # Split inside the last frame, so the first read leaves it cut behind all the others: the
    # readers then compact their buffers, which the fuzzer did not reach on its own.
    long_stream = frames["every_decodable_frame"]
    last_frame = [frames[name] for name, _, ok in frame_vectors if ok][-1]
    last_frame_start = len(long_stream) - len(last_frame)
    late = -(-(last_frame_start + 1) * 255 // len(long_stream))  # split = len * control / 255
    out["frame/every_decodable_frame_split_late"] = bytes([late]) + long_stream
    out["c-client/stream-every_decodable_frame_split_late"] = bytes([len(names), late]) + long_stream
    for name, request in HTTP_REQUESTS.items():
        out[f"http/{name}"] = bytes([MIDDLE]) + request
    out.update(hpack_seeds())
    for name, stream in h2_streams().items():
        out[f"http2/{name}"] = bytes([MIDDLE]) + stream
    out.update(json_seeds())
    out.update(otlp_seeds())
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed seeds are stale")
    args = parser.parse_args()
    expected = seeds()
    present = {str(p.relative_to(CORPUS)): p.read_bytes() for p in CORPUS.glob("*/*") if p.is_file()}
    if args.check:
        stale = sorted(k for k in expected.keys() | present.keys() if expected.get(k) != present.get(k))
        if stale:
            sys.exit(f"fuzz seeds are stale ({len(stale)} files, e.g. {stale[:3]}): run .venv/bin/python Tests/Fuzz/make_corpus.py")
        print(f"fuzz seeds are current ({len(expected)} files)")
        return
    for name in present.keys() - expected.keys():
        (CORPUS / name).unlink()
    for name, data in expected.items():
        path = CORPUS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(expected)} seeds under {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
