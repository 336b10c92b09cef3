#!/usr/bin/env bash
# Creates .venv with the test-only tools of scripts/test-requirements.txt, once; later runs only
# check that the installed set still matches the requirements file.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.requirements
if [ -x .venv/bin/python ] && cmp -s scripts/test-requirements.txt "$stamp"; then
    exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/test-requirements.txt
cp scripts/test-requirements.txt "$stamp"
