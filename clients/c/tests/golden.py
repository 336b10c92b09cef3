#!/usr/bin/env python3
"""Checks the C codec against the golden vectors in Schema/testdata (run by `make test`).

For every vector: the C decoder decodes `hex`; the decoded value, printed as proto3 JSON, must
equal `value` strictly (Tests/interop/strict_json.py: true is not 1, -0.0 is not 0.0, doubles bit
for bit, as the Swift and interop tests compare); the C encoder's encoding of that decoded value
must equal `canonical_hex` (so the encoder produces the canonical bytes from the value). Error
vectors must be rejected with the error they name. Usage: golden.py PATH/TO/golden_tool [TESTDATA_DIR]
"""
import glob
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "Tests", "interop"))
from strict_json import json_difference  # noqa: E402

# The comparison itself must be strict, or a C value of true for 1 (or 0.0 for -0.0) would pass.
for looser, value in (({"a": True}, {"a": 1}), ({"a": 0.0}, {"a": -0.0}), ({"a": "1"}, {"a": 1}),
                      ({"a": 0.1}, {"a": 0.10000000000000002}), ({"a": 1}, {"a": 1, "b": 2})):
    assert json_difference(looser, value), f"golden: comparison not strict: {looser} == {value}"
tool = sys.argv[1]
testdata = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "..", "..", "Schema", "testdata")
files = sorted(glob.glob(os.path.join(testdata, "*.json")))
if not files:
    print(f"golden: no vectors in {testdata}")
    sys.exit(1)
vectors = [(os.path.basename(f), json.load(open(f))) for f in files]
stdin = "".join(f"{v['message']} {v['hex']}\n" for _, v in vectors)
out = subprocess.run([tool], input=stdin, capture_output=True, text=True, timeout=60)
if out.returncode != 0:
    print(out.stderr)
    print(f"golden: {tool} exited with {out.returncode}")
    sys.exit(1)
lines = out.stdout.split("\n")[:-1]
assert len(lines) == len(vectors), (len(lines), len(vectors))

failures = 0
counts = {"decode+encode": 0, "error": 0}
for (name, v), line in zip(vectors, lines):
    parts = line.split(" ", 2)
    if "error" in v:
        if parts[0] != "ERR" or parts[1] != v["error"]:
            failures += 1
            print(f"FAIL {name}: expected error {v['error']}, C says: {line[:200]}")
        else:
            counts["error"] += 1
        continue
    if parts[0] != "OK":
        failures += 1
        print(f"FAIL {name}: expected a value, C says: {line[:200]}")
        continue
    enc = "" if parts[1] == "-" else parts[1]
    got = json.loads(parts[2])
    ok = True
    difference = json_difference(got, v["value"])
    if difference:
        ok = False
        print(f"FAIL {name}: decoded value differs at {difference}\n  want {json.dumps(v['value'], sort_keys=True)}\n  got  {json.dumps(got, sort_keys=True)}")
    if enc != v["canonical_hex"]:
        ok = False
        print(f"FAIL {name}: encoding differs\n  want {v['canonical_hex']}\n  got  {enc}")
    if ok:
        counts["decode+encode"] += 1
    else:
        failures += 1
print(f"golden: {len(vectors)} vectors, {counts['decode+encode']} decoded and re-encoded exactly, "
      f"{counts['error']} rejected with the right error, {failures} failures")
sys.exit(1 if failures else 0)
