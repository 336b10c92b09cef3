"""`pip install clients/python` works: the package builds into a wheel, installs into a fresh venv,
imports from there (not from this checkout), and its entry points run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path) -> "subprocess.CompletedProcess[str]":
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def test_wheel_installs_into_a_fresh_venv(tmp_path: Path) -> None:
    # Build from a copy, so that setuptools' build/ and *.egg-info stay out of the checkout.
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--disable-pip-version-check", "--wheel-dir", str(wheels), str(source), cwd=tmp_path)
    [wheel] = wheels.glob("topology_client-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)  # this interpreter's pip installs into it (pip --python)
    python = env_dir / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
        "--disable-pip-version-check", str(wheel), cwd=tmp_path)

    where = run(str(python), "-c", "import topology_client, pathlib; print(pathlib.Path(topology_client.__file__)"
                ".resolve().parent); print(topology_client.__version__)", cwd=tmp_path).stdout.split()
    installed = Path(where[0])
    assert installed.is_relative_to(env_dir.resolve()) and where[1] == "0.1.0"
    assert (installed / "py.typed").is_file()  # type hints ship with it (PEP 561)
    help_text = run(str(python), "-m", "topology_client", "--help", cwd=tmp_path).stdout
    assert help_text.startswith("usage: python3 -m topology_client") and "--address HOST:PORT" in help_text
    script_help = run(str(env_dir / "bin" / "topology"), "--help", cwd=tmp_path).stdout  # [project.scripts]
    assert "--address HOST:PORT" in script_help
