"""Shared pieces of the interop tests: the official library on Schema/topology.proto, the Swift probe,
hypothesis strategies for every message type, and strict comparisons.

The schema is compiled once per test session with grpc_tools.protoc into a temporary directory (the
same code path as scripts/generate_golden_vectors.py).
"""

import atexit
import importlib.util
import json
import math
import os
import select
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from google.protobuf import descriptor as _descriptor
from google.protobuf import json_format
from google.protobuf import message as _message
from google.protobuf import unknown_fields
from hypothesis import strategies as st

from strict_json import json_difference  # noqa: F401 - re-exported for the tests

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "runtime.v1"

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1

FD = _descriptor.FieldDescriptor


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "generate_golden_vectors", REPO / "scripts" / "generate_golden_vectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
_build_dir = tempfile.mkdtemp(prefix="topology-interop-pb-")
atexit.register(shutil.rmtree, _build_dir, True)
pb = generator.load_schema(_build_dir)
DecodeError = _message.DecodeError

MESSAGE_NAMES = sorted(pb.DESCRIPTOR.message_types_by_name)


def message_class(name):
    return getattr(pb, name.rsplit(".", 1)[-1])


# --------------------------------------------------------------------------------------------------
# The Swift probe
# --------------------------------------------------------------------------------------------------

class ProbeCrashed(Exception):
    pass


class Probe:
    """One topology-wire-probe process: `roundtrip(name, data)` returns ("ok", bytes, json_object) or
    ("err", message). Every read has a timeout, so a probe that stops answering fails the test
    instead of hanging it."""

    TIMEOUT = 20.0

    def __init__(self, path):
        self.path = str(path)
        self._start()

    def _start(self):
        command = [self.path]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", bufsize=1)

    def roundtrip(self, name, data):
        if "." not in name:
            name = f"{PACKAGE}.{name}"
        return self._ask(f"{name} {data.hex()}\n", name, data)

    def from_json(self, name, text):
        """Swift's proto3 JSON reader on `text` (str or UTF-8 bytes): ("ok", bytes, json_object) or ("err", message)."""
        if "." not in name:
            name = f"{PACKAGE}.{name}"
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        return self._ask(f"json {name} {data.hex()}\n", name, data)

    def _ask(self, line, name, data):
        try:
            self.process.stdin.write(line)
            self.process.stdin.flush()
        except BrokenPipeError:
            raise self._crashed(data)
        ready, _, _ = select.select([self.process.stdout], [], [], self.TIMEOUT)
        if not ready:
            self.close()
            self._start()
            raise ProbeCrashed(
                f"probe gave no answer within {self.TIMEOUT}s for {name} {data.hex()} "
                "(does it flush stdout after each line?)")
        answer = self.process.stdout.readline()
        if not answer.endswith("\n"):
            raise self._crashed(data)
        answer = answer[:-1]
        if answer.startswith("err"):
            return ("err", answer[4:])
        if not answer.startswith("ok "):
            raise AssertionError(f"probe answered neither ok nor err: {answer!r}")
        hex_part, _, json_part = answer[3:].partition(" ")
        return ("ok", bytes.fromhex(hex_part), json.loads(json_part))

    def _crashed(self, data):
        self.process.wait(timeout=5)
        stderr = self.process.stderr.read()
        code = self.process.returncode
        self._start()
        return ProbeCrashed(f"probe died (exit {code}) on input {data.hex()}: {stderr[-2000:]}")

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()


def probe_path():
    configured = os.environ.get("TOPOLOGY_WIRE_PROBE")
    return Path(configured) if configured else REPO / ".build" / "debug" / "topology-wire-probe"


# --------------------------------------------------------------------------------------------------
# Strict comparisons (json_difference lives in strict_json.py, which the C client's tests share)
# --------------------------------------------------------------------------------------------------

def canonical(message):
    """The official library's canonical encoding: deterministic, unknown fields dropped."""
    copy = type(message)()
    copy.CopyFrom(message)
    copy.DiscardUnknownFields()
    return copy.SerializeToString(deterministic=True)


def contains_nan(message):
    for field, value in message.ListFields():
        if _is_map(field):
            continue  # map<string, string>: no doubles
        values = value if field.is_repeated else [value]
        for item in values:
            if field.type == FD.TYPE_MESSAGE and contains_nan(item):
                return True
            if field.type == FD.TYPE_DOUBLE and math.isnan(item):
                return True
    return False


def has_prefix_map_keys(message):
    """Whether a map anywhere in the message has a key that is a proper prefix of another."""
    for field, value in message.ListFields():
        if _is_map(field):
            keys = sorted(key.encode() for key in value)
            if any(b.startswith(a) for a, b in zip(keys, keys[1:])):
                return True
        elif field.type == FD.TYPE_MESSAGE:
            if any(has_prefix_map_keys(item) for item in (value if field.is_repeated else [value])):
                return True
    return False


def has_unknown_group(message):
    """Whether the official library kept a group (wire type 3) as an unknown field anywhere."""
    if any(f.wire_type == 3 for f in unknown_fields.UnknownFieldSet(message)):
        return True
    for field, value in message.ListFields():
        if field.type == FD.TYPE_MESSAGE and not _is_map(field):
            for item in (value if field.is_repeated else [value]):
                if has_unknown_group(item):
                    return True
    return False


def _edge(values, ranged):
    return st.one_of(st.sampled_from(values), ranged)


INT32 = _edge([0, 1, -1, 127, 128, 300, INT32_MIN, INT32_MAX, INT32_MIN + 1], st.integers(INT32_MIN, INT32_MAX))
INT64 = _edge([0, 1, -1, INT64_MIN, INT64_MAX, INT32_MIN, INT32_MAX, 1 << 32, 1732350000123],
              st.integers(INT64_MIN, INT64_MAX))
UINT64 = _edge([0, 1, 127, 128, UINT64_MAX, UINT64_MAX - 1, INT64_MAX, 1 << 63], st.integers(0, UINT64_MAX))
DOUBLE = st.one_of(
    st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 2.2250738585072014e-308,
                     1.7976931348623157e308, 0.1, 1e21, 1e-7, 123456789.125, float(2 ** 53 + 1)]),
    st.floats(allow_nan=True, allow_infinity=True),
    # NaNs with payloads and either sign: their bits must survive the round trip.
    st.integers(0, (1 << 52) - 1).map(lambda m: struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000000 | max(m, 1)))[0]),
    st.integers(0, (1 << 52) - 1).map(lambda m: struct.unpack("<d", struct.pack("<Q", 0xFFF0000000000000 | max(m, 1)))[0]),
)
# Text: any code point but surrogates, with the astral planes (4-byte UTF-8) well represented.
TEXT_ALPHABET = st.one_of(
    st.characters(codec="utf-8"),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, codec="utf-8"),
    st.sampled_from(["\x00", "\"", "\\", "\n", "\x7f", "\u2028", "é", "\u0301", "🚀", "\U0010ffff", "\ufeff"]),
)
TEXT = st.text(TEXT_ALPHABET, max_size=12)


def _enum_values(field):
    known = [v.number for v in field.enum_type.values]
    # Unknown numbers too: proto3 enums are open.
    return st.one_of(st.sampled_from(known), st.sampled_from([42, -1, INT32_MAX, INT32_MIN, 1000]), INT32)


def _scalar(field):
    t = field.type
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32):
        return INT32
    if t == FD.TYPE_INT64:
        return INT64
    if t == FD.TYPE_UINT64:
        return UINT64
    if t == FD.TYPE_BOOL:
        return st.booleans()
    if t == FD.TYPE_DOUBLE:
        return DOUBLE
    if t == FD.TYPE_STRING:
        return TEXT
    if t == FD.TYPE_ENUM:
        return _enum_values(field)
    raise AssertionError(f"no strategy for {field.full_name} (type {t}): extend interop_support")


def _is_synthetic(oneof, field):
    return oneof.name == "_" + field.name


_message_strategies = {}


def messages(name, depth=0):
    """Random instances of message `name`: each optional field absent or present (often at its
    default), repeated fields of 0-3 elements, nested messages (smaller as they nest), one Frame oneof
    member or none."""
    key = (name, min(depth, 3))
    if key in _message_strategies:
        return _message_strategies[key]
    cls = message_class(name)
    descriptor = cls.DESCRIPTOR
    parts = {}
    oneofs = {}
    max_list = 3 if depth < 2 else 1
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if _is_map(field):
            parts[field.name] = MAP_OF_TEXT
            continue
        if field.type == FD.TYPE_MESSAGE:
            inner = st.deferred(lambda f=field: messages(f.message_type.name, depth + 1))
        else:
            inner = _scalar(field)
        if field.is_repeated:
            strategy = st.lists(inner, max_size=max_list)
        elif oneof is not None and not _is_synthetic(oneof, field):
            oneofs.setdefault(oneof.name, []).append((field.name, inner))
            continue
        elif field.has_presence:
            # Absent, or present (for scalars often at the default, which then must be written).
            default = field.default_value if field.type != FD.TYPE_MESSAGE else None
            choices = [st.none(), inner]
            if default is not None:
                choices.append(st.just(default))
            strategy = st.one_of(*choices)
        else:
            default = field.default_value
            strategy = st.one_of(st.just(default), inner)
        parts[field.name] = strategy
    for oneof_name, members in oneofs.items():
        parts[oneof_name] = st.one_of(
            st.none(), *[st.tuples(st.just(member), inner) for member, inner in members])

    def build(values):
        message = cls()
        for field in descriptor.fields:
            value = values.get(field.name)
            oneof = field.containing_oneof
            if oneof is not None and not _is_synthetic(oneof, field):
                continue
            _set(message, field, value)
        for oneof_name in oneofs:
            chosen = values[oneof_name]
            if chosen is not None:
                member, value = chosen
                _set(message, descriptor.fields_by_name[member], value)
        return message

    strategy = st.fixed_dictionaries(parts).map(build)
    _message_strategies[key] = strategy
    return strategy


def _is_map(field):
    return field.type == FD.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


# map<string, string>: 0-3 entries. Keys of one length, so that none is a prefix of another: for such
# keys upb's deterministic order puts the longer key first ("ab" before "a", "" last) where Topology,
# like the C++ and Go libraries, puts the shorter first (test_labels_interop.py pins both orders).
MAP_OF_TEXT = st.integers(0, 4).flatmap(
    lambda size: st.dictionaries(st.text(TEXT_ALPHABET, min_size=size, max_size=size), TEXT, max_size=3))


def _set(message, field, value):
    if value is None:
        return
    if _is_map(field):
        getattr(message, field.name).update(value)
        return
    if field.is_repeated:
        if field.type == FD.TYPE_MESSAGE:
            for item in value:
                getattr(message, field.name).add().CopyFrom(item)
        else:
            getattr(message, field.name).extend(value)
    elif field.type == FD.TYPE_MESSAGE:
        getattr(message, field.name).SetInParent()  # present even when `value` is empty
        getattr(message, field.name).CopyFrom(value)
    else:
        setattr(message, field.name, value)


def any_message():
    """(name, message) for a random message type."""
    return st.sampled_from(MESSAGE_NAMES).flatmap(lambda name: st.tuples(st.just(name), messages(name)))
