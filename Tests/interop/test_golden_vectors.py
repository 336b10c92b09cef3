"""The golden vectors of Schema/testdata: up to date with their generator, true to the official
library as committed, and decoded by the Swift probe as they say."""

import json
import subprocess
import sys

import pytest
from google.protobuf import json_format

from interop_support import REPO, DecodeError, canonical, json_difference, message_class

TESTDATA = REPO / "Schema" / "testdata"
VECTOR_FILES = sorted(TESTDATA.glob("*.json"))
OFFICIAL_ACCEPTS_NOTE = "NOTE: the official protobuf library accepts these bytes"


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_enough_vectors():
    assert len(VECTOR_FILES) > 50, f"only {len(VECTOR_FILES)} vectors in {TESTDATA}"


def test_generator_check_mode_finds_the_committed_files_up_to_date():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_golden_vectors.py"), "--check"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generator_check_mode_detects_a_changed_file(tmp_path):
    """--check must fail when a committed file differs, or the test above proves nothing."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_for_check", REPO / "scripts" / "generate_golden_vectors.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.TESTDATA = tmp_path
    for path in VECTOR_FILES:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    sys_argv = sys.argv
    try:
        sys.argv = ["generate_golden_vectors.py", "--check"]
        assert gen.main() == 0
        victim = tmp_path / VECTOR_FILES[0].name
        victim.write_text(victim.read_text(encoding="utf-8").replace('"hex": "', '"hex": "00', 1), encoding="utf-8")
        assert gen.main() == 1
        victim.unlink()
        assert gen.main() == 1
    finally:
        sys.argv = sys_argv


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector_format_and_official_library(path):
    vector = load(path)
    message = vector["message"]
    assert message.startswith("runtime.v1.")
    snake = "".join("_" + c.lower() if c.isupper() else c for c in message.split(".")[-1]).lstrip("_")
    assert path.stem.startswith(snake + "__"), "file name must start with the message's snake_case name"
    data = bytes.fromhex(vector["hex"])
    assert vector["hex"] == data.hex(), "hex must be lowercase"
    parsed = message_class(message)()
    if "error" in vector:
        assert set(vector) == {"description", "message", "hex", "error"}
        assert vector["error"] in {"truncated", "malformed_varint", "invalid_wire_type", "group",
                                   "invalid_utf8", "invalid_field_number"}
        try:
            parsed.ParseFromString(data)
            official_accepts = True
        except DecodeError:
            official_accepts = False
        assert official_accepts == (OFFICIAL_ACCEPTS_NOTE in vector["description"])
    else:
        assert set(vector) == {"description", "message", "hex", "canonical_hex", "value"}
        parsed.ParseFromString(data)
        assert canonical(parsed).hex() == vector["canonical_hex"]
        assert json_difference(vector["value"], json_format.MessageToDict(parsed)) is None


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector_through_swift_probe(probe, path):
    vector = load(path)
    answer = probe.roundtrip(vector["message"], bytes.fromhex(vector["hex"]))
    if "error" in vector:
        assert answer[0] == "err", f"expected a {vector['error']} error, probe decoded {answer}"
    else:
        assert answer[0] == "ok", f"probe failed: {answer[1]}"
        _, reencoded, value = answer
        assert reencoded.hex() == vector["canonical_hex"]
        difference = json_difference(value, vector["value"])
        assert difference is None, difference
