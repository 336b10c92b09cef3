"""Every example of README.md and docs/clients/*.md is run here, so the docs cannot drift from the code.

Each fenced block with a language carries a marker on the line before its fence,
``<!-- doc-test: KIND -->`` or ``<!-- doc-test: KIND: ARGUMENT -->``, naming how it is run:

- ``server``: each line starts a server (``swift run -c release topology-server`` is the built
  binary), on free ports instead of the default ones; it must log ``listening`` and serve the
  dashboard.
- ``shell``: the block runs in bash from the repository root, with ``.venv/bin`` first on the PATH.
  A ``topology_client`` command gets ``--address`` of a running server instead of the default one.
  ``shell-until: REGEX``: the same for a command that runs until stopped: it passes once its output
  matches REGEX.
- ``make``: every ``make TARGET`` line is checked with ``make -n`` (the target exists and its rules
  expand); a plain ``make`` builds for real.
- ``c-link``: the link command, run as written on the next block (``c-program``), saved as app.c.
- ``c-fragment``: compiled (``-fsyntax-only``) inside a function that declares what fragments use.
- ``python`` / ``python-auth`` / ``python-until: REGEX``: the code runs against a server (with
  ``--auth-token-file`` for ``python-auth``, the documented token path pointing at its file); every
  ``"HOST:50053"`` is that server's address.
- ``skip: REASON``: not run here; the reason says why (another toolchain, or a suite scripts/test.sh
  runs in its own section).

A block without a marker fails the test: a new example must say how it is checked.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs" / "clients").glob("*.md"))]
MARKER = re.compile(r"^<!-- doc-test: ([a-z-]+)(?:: (.+?))? -->$")
FENCE = re.compile(r"^```(\S*)\s*$")
KINDS = {"server", "shell", "shell-until", "make", "c-link", "c-program", "c-fragment", "python", "python-auth",
         "python-until", "skip"}
ARGUMENT_KINDS = {"shell-until", "python-until", "skip"}
TIMEOUT = 60


@dataclass
class Block:
    path: Path
    line: int
    language: str
    text: str
    kind: Optional[str]
    argument: Optional[str]

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks() -> List[Block]:
    found: List[Block] = []
    for path in DOCS:
        lines = path.read_text().splitlines()
        index = 0
        while index < len(lines):
            fence = FENCE.match(lines[index])
            if not fence:
                index += 1
                continue
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            marker = MARKER.match(lines[index - 1]) if index > 0 else None
            found.append(Block(path, index + 1, fence.group(1), "\n".join(lines[index + 1:end]) + "\n",
                               marker.group(1) if marker else None, marker.group(2) if marker else None))
            index = end + 1
    return found


ALL = blocks()
CODE = [b for b in ALL if b.language]


def of_kind(*kinds: str) -> List[Block]:
    return [b for b in CODE if b.kind in kinds]


def test_every_example_says_how_it_is_checked() -> None:
    problems = []
    for block in CODE:
        if block.kind not in KINDS:
            problems.append(f"{block.name}: no <!-- doc-test: KIND --> marker before the fence (kinds: {sorted(KINDS)})")
        elif (block.kind in ARGUMENT_KINDS) != bool(block.argument):
            problems.append(f"{block.name}: {block.kind} {'needs' if block.kind in ARGUMENT_KINDS else 'takes no'} argument")
    for index, block in enumerate(CODE):
        if block.kind == "c-link":
            following = CODE[index + 1] if index + 1 < len(CODE) else None
            if following is None or following.kind != "c-program":
                problems.append(f"{block.name}: a c-link block is followed by the c-program it links")
    assert not problems, "\n".join(problems)
    assert of_kind("server") and of_kind("c-link") and of_kind("python"), "the runners below would test nothing"


def test_the_c_example_is_examples_minimal_c() -> None:
    [program] = of_kind("c-program")
    assert program.text == (REPO / "clients/c/examples/minimal.c").read_text()


# ---------------------------------------------------------------------------------------------------
# A server for the examples
# ---------------------------------------------------------------------------------------------------

def server_binary() -> str:
    binary = os.environ.get("TOPOLOGY_SERVER") or str(REPO / ".build" / "debug" / "topology-server")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no topology-server binary at {binary}: build it and set TOPOLOGY_SERVER", pytrace=False)
    return binary


@contextlib.contextmanager
def running(command: List[str]) -> Iterator[Tuple[str, str]]:
    """Runs a server command; yields (frames address, http address) from its startup line."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 20
            while True:
                log.seek(0)
                match = re.search(rb'msg="?listening"? address=(\S+) http_address=(\S*)', log.read())
                if match:
                    yield match.group(1).decode().strip('"'), match.group(2).decode().strip('"')
                    return
                log.seek(0)
                assert process.poll() is None, f"{command} exited: {log.read().decode(errors='replace')}"
                assert time.monotonic() < deadline, f"{command} did not log listening"
                time.sleep(0.02)
        finally:
            process.terminate()
            process.wait(timeout=10)


FREE_PORTS = ["--address", "127.0.0.1:0", "--http-address", "127.0.0.1:0"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running([server_binary(), *FREE_PORTS]) as (address, _):
        yield address


def environment() -> Dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    return env


# ---------------------------------------------------------------------------------------------------
# The runners
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("block", of_kind("server"), ids=lambda b: b.name)
def test_server_commands(block: Block) -> None:
    for line in block.text.splitlines():
        assert line.startswith("swift run -c release topology-server"), f"{block.name}: not a server command: {line}"
        flags = line.split()[len("swift run -c release topology-server".split()):]
        with running([server_binary(), *flags, *FREE_PORTS]) as (_, http_address):
            with urllib.request.urlopen(f"http://{http_address}/", timeout=10) as response:
                assert response.status == 200 and "text/html" in response.headers["Content-Type"]


def localized(command: str, address: str) -> str:
    """A topology_client command pointed at the test server instead of the default address."""
    return re.sub(r"(-m topology_client (?:get|watch|register\b[^\n]*?))(?=\s*(?:#|$))",
                  lambda m: f"{m.group(1)} --address {address}", command, flags=re.M)


@pytest.mark.parametrize("block", of_kind("shell"), ids=lambda b: b.name)
def test_shell_blocks(block: Block, server: str) -> None:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", localized(block.text, server)], cwd=REPO,
                            env=environment(), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"{block.name} failed:\n{result.stdout}\n{result.stderr}"


def run_until(command: List[str], pattern: str, env: Dict[str, str], cwd: Path, name: str) -> None:
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + TIMEOUT
            while True:
                out.seek(0)
                text = out.read().decode(errors="replace")
                if re.search(pattern, text):
                    return
                assert process.poll() is None, f"{name} exited before printing /{pattern}/:\n{text}"
                assert time.monotonic() < deadline, f"{name} did not print /{pattern}/:\n{text}"
                time.sleep(0.02)
        finally:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("block", of_kind("shell-until"), ids=lambda b: b.name)
def test_shell_commands_that_run_until_stopped(block: Block, server: str) -> None:
    assert block.argument is not None
    run_until(["bash", "-c", localized(block.text, server)], block.argument, environment(), REPO, block.name)


@pytest.mark.parametrize("block", of_kind("make"), ids=lambda b: b.name)
def test_make_commands(block: Block) -> None:
    directory = REPO
    for line in block.text.splitlines():
        command = line.split("#")[0].split()
        if not command:
            continue
        if command[0] == "cd":
            directory = directory / command[1]
            continue
        assert command[0] == "make", f"{block.name}: not a make command: {line}"
        dry = command if len(command) == 1 else ["make", "-n", *command[1:]]
        result = subprocess.run(dry, cwd=directory, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{block.name}: {' '.join(dry)}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("block", of_kind("c-link"), ids=lambda b: b.name)
def test_c_link_command_on_the_documented_program(block: Block, tmp_path: Path) -> None:
    """The command as written, in a directory where clients/ is the repository's and app.c the
    program that follows it in the docs."""
    built = subprocess.run(["make", "-s", "-C", "clients/c", "build/libtopology.a"], cwd=REPO, capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    program = CODE[CODE.index(block) + 1]
    (tmp_path / "clients").symlink_to(REPO / "clients")
    (tmp_path / "app.c").write_text(program.text)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block.text], cwd=tmp_path, capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"{block.name} on {program.name}:\n{result.stderr}"
    assert (tmp_path / "a.out").is_file()


C_FRAGMENT = """#include <topology.h>
int fragment(topo_client *c, const char *token);
int fragment(topo_client *c, const char *token)
{
    int rc = TOPO_OK;
    (void)c; (void)token;
    {
%s
    }
    return rc;
}
"""


@pytest.mark.parametrize("block", of_kind("c-fragment"), ids=lambda b: b.name)
def test_c_fragments_compile(block: Block, tmp_path: Path) -> None:
    source = tmp_path / "fragment.c"
    source.write_text(C_FRAGMENT % block.text)
    compiler = shutil.which("cc") or "cc"
    result = subprocess.run([compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only",
                             f"-I{REPO / 'clients/c/include'}", str(source)], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, f"{block.name}:\n{result.stderr}"


PYTHON_PRELUDE = "def charge_card():\n    return True\n\n"


def python_program(block: Block, address: str, token_file: Optional[Path] = None) -> str:
    code = re.sub(r'"[\w.\-]+:50053"', f'"{address}"', block.text)
    if token_file is not None:
        code = code.replace("/etc/topology/token", str(token_file))
    return PYTHON_PRELUDE + code


def python_environment() -> Dict[str, str]:
    env = environment()
    env["PYTHONPATH"] = str(REPO / "clients" / "python")
    return env


@pytest.mark.parametrize("block", of_kind("python"), ids=lambda b: b.name)
def test_python_examples(block: Block, server: str) -> None:
    result = subprocess.run([sys.executable, "-c", python_program(block, server)], env=python_environment(),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"{block.name}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("block", of_kind("python-auth"), ids=lambda b: b.name)
def test_python_examples_with_a_token(block: Block, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token-for-the-docs-test\n")
    token_file.chmod(0o600)
    with running([server_binary(), *FREE_PORTS, "--auth-token-file", str(token_file)]) as (address, _):
        result = subprocess.run([sys.executable, "-c", python_program(block, address, token_file)],
                                env=python_environment(), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"{block.name}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("block", of_kind("python-until"), ids=lambda b: b.name)
def test_python_examples_that_run_until_stopped(block: Block, server: str) -> None:
    assert block.argument is not None
    run_until([sys.executable, "-c", python_program(block, server)], block.argument, python_environment(), REPO,
              block.name)


def test_c_make_test_finds_the_server_without_TOPOLOGY_SERVER() -> None:
    """docs/clients/c.md: without TOPOLOGY_SERVER, `make test` builds the repository's server (a
    no-op when current) and uses it; `server-path` prints the binary it settles on."""
    env = {k: v for k, v in os.environ.items() if k != "TOPOLOGY_SERVER"}
    result = subprocess.run(["make", "-s", "-C", "clients/c", "server-path"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "TOPOLOGY_SERVER not set" in result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.name == "topology-server" and os.access(path, os.X_OK), result.stdout
    assert path.parent.resolve().is_relative_to((REPO / ".build").resolve())
