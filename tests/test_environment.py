"""The lock file and environment.yml install the same set, and the Makefile/CI use them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import sync_environment  # noqa: E402


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        name, sep, version = line.partition("==")
        assert sep, f"not an exact pin: {line!r} (every dependency must be pinned with ==)"
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_locked_requirement_is_an_exact_pin():
    locked = sync_environment.locked_requirements(ROOT / "requirements.lock")
    assert len(locked) > 50, "requirements.lock looks truncated"
    _pins(locked)


def test_environment_yml_installs_exactly_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    locked = sync_environment.locked_requirements(ROOT / "requirements.lock")
    assert _pins(pip_section) == _pins(locked), (
        "environment.yml and requirements.lock disagree: run `python tools/sync_environment.py`"
    )


def test_environment_yml_is_what_the_generator_writes():
    expected = sync_environment.render(
        sync_environment.locked_requirements(ROOT / "requirements.lock")
    )
    assert (ROOT / "environment.yml").read_text() == expected


def test_top_level_requirements_are_all_locked():
    locked = _pins(sync_environment.locked_requirements(ROOT / "requirements.lock"))
    for raw in (ROOT / "requirements.in").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = re.split(r"[<>=!~ \[]", line, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in locked, f"{name} is not in requirements.lock"


def test_installed_versions_match_the_lock():
    from importlib.metadata import PackageNotFoundError, version

    locked = _pins(sync_environment.locked_requirements(ROOT / "requirements.lock"))
    mismatched = []
    for name, pinned in locked.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            mismatched.append(f"{name}: not installed")
            continue
        if installed != pinned:
            mismatched.append(f"{name}: installed {installed}, locked {pinned}")
    assert not mismatched, "environment differs from requirements.lock: " + "; ".join(mismatched)


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    commands = [l.strip() for l in ci.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert commands[-1] == "exec make test"
