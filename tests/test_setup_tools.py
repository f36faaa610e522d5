"""Set-up helpers that run before the venv exists: the Python version check, the system packages."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_python = _load("check_python")


@pytest.mark.parametrize(
    ("version", "ok"),
    [((3, 11, 2), True), ((3, 11, 0), True), ((3, 11, 14), True), ((3, 10, 12), False), ((3, 12, 0), False),
     ((3, 9, 2), False), ((3, 13, 1), False)],
)
def test_the_projects_own_range_accepts_311_only(version, ok):
    spec = check_python.requires_python((ROOT / "pyproject.toml").read_text())
    assert check_python.satisfies(version, spec) is ok
    assert check_python.supported_minors(spec) == ["3.11"]


def test_the_message_names_the_supported_versions_and_how_to_pick_one():
    text = check_python.message((3, 9, 2), "/usr/bin/python3", ">=3.11,<3.12")
    assert text.startswith("Python 3.9.2 (/usr/bin/python3) is not supported: this course needs Python 3.11")
    assert "make PYTHON=python3.11 env" in text
    found = check_python.message((3, 13, 0), "/x/python3", ">=3.11,<3.12", [("python3.11", "3.11.2")])
    assert "python3.11 (3.11.2)" in found and "make PYTHON=python3.11 env" in found


def test_the_script_stops_an_unsupported_python(tmp_path):
    this = f"{sys.version_info.major}.{sys.version_info.minor}"
    (tmp_path / "pyproject.toml").write_text(f'[project]\nrequires-python = ">{this}.99"\n')
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "check_python.py"), "--pyproject",
                          str(tmp_path / "pyproject.toml")], capture_output=True, text=True)
    assert run.returncode == 1 and "is not supported" in run.stderr and "make PYTHON=" in run.stderr
    ok = subprocess.run([sys.executable, str(ROOT / "tools" / "check_python.py")], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stderr == ""  # the venv's own Python is a supported one


def _deps(tmp_path, **env):
    return subprocess.run(["sh", str(ROOT / "tools" / "install_system_deps.sh")], capture_output=True, text=True,
                          env={**os.environ, **env})


def test_system_deps_do_nothing_when_present(tmp_path):
    run = _deps(tmp_path, CHROMIUM="/bin/sh", REDIS_SERVER="/bin/sh")
    assert run.returncode == 0 and run.stdout == "" and run.stderr == ""


def test_system_deps_say_what_is_missing_when_not_root(tmp_path):
    run = _deps(tmp_path, CHROMIUM=str(tmp_path / "none"), REDIS_SERVER="/bin/sh", COURSEKIT_AS_UID="1000")
    assert run.returncode == 0
    assert run.stdout.strip().splitlines() == [
        ">> not installed: chromium (Debian packages; as root: sh tools/install_system_deps.sh): "
        "the tests that need them will skip"
    ]


def test_ci_runs_exactly_make_test():
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[-1] == "exec make test"
    makefile = (ROOT / "Makefile").read_text()
    test_recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    lab_recipe = makefile.split("\nlab: ", 1)[1].split("\n\n", 1)[0]
    assert "tools/install_system_deps.sh" in test_recipe and "install_system_deps" not in lab_recipe


def test_make_checks_the_python_before_it_creates_the_venv():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(STAMP): ", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("tools/check_python.py") < recipe.index("-m venv")
