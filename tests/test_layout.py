"""Architecture rules: one-way package dependencies, no machine paths or secrets in the repo."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"

# cache_course (this course's content) -> coursekit, cachesim, swrcache; cachesim -> swrcache;
# coursekit (the generic toolkit) imports none of them: it finds cache_course through an
# entry point (pyproject.toml), never by an import.
ALLOWED = {
    "swrcache": set(),
    "cachesim": {"swrcache"},
    "coursekit": set(),
    "cache_course": {"coursekit", "cachesim", "swrcache"},
}


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependencies_point_one_way(package):
    forbidden = set(ALLOWED) - ALLOWED[package] - {package}
    offenders = []
    for path in sorted((LIB / package).rglob("*.py")):
        bad = _imported_top_levels(path) & forbidden
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, f"{package} must not depend on {sorted(forbidden)}: " + "; ".join(offenders)


def test_coursekit_names_no_course_even_in_strings():
    """No `importlib.import_module("cache_course…")` either: the content arrives by entry point."""
    offenders = [str(p.relative_to(ROOT)) for p in sorted((LIB / "coursekit").rglob("*.py"))
                 if re.search(r"[\"']cache_course[.\"']", p.read_text())]
    assert not offenders, offenders


def test_content_is_registered_by_entry_point():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["coursekit.content"] == {"cache_course": "cache_course"}
    from coursekit.questions import entry_points

    assert [ep.value for ep in entry_points()] == ["cache_course"], "run `make env` to install the entry point"


# Files allowed past the limit, each with the reason a split would cost more than it gives.
LONG_ON_PURPOSE = {
    "lib/coursekit/grading/kernel_guard.py": "sent into each grading kernel as one text; the guard's state "
    "lives in one closure so that learner code cannot reach it by attribute",
}


def test_content_and_toolkit_files_stay_small():
    """One question per file where a module grows; no file of the content or the toolkit over 450 lines."""
    files = sorted((LIB / "cache_course").rglob("*.py")) + sorted((LIB / "coursekit").rglob("*.py"))
    big = [f"{p.relative_to(ROOT)}: {n} lines" for p in files
           if (n := len(p.read_text().splitlines())) > 450 and str(p.relative_to(ROOT)) not in LONG_ON_PURPOSE]
    assert not big, big
    for name in LONG_ON_PURPOSE:  # an exemption that is no longer needed goes
        assert len((ROOT / name).read_text().splitlines()) > 450, f"{name} is short now: drop its exemption"


def test_swrcache_uses_only_the_standard_library():
    import sys

    stdlib = set(sys.stdlib_module_names) | {"swrcache", "__future__"}
    optional = LIB / "swrcache" / "redis"  # the `redis` extra (redis-py): only here
    offenders = []
    for path in sorted((LIB / "swrcache").rglob("*.py")):
        extra = _imported_top_levels(path) - stdlib - ({"redis"} if optional in path.parents else set())
        if extra:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(extra)}")
    assert not offenders, "swrcache is dependency-free: " + "; ".join(offenders)


def _tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout
        files = [ROOT / line for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in ROOT.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts]
    return [p for p in files if p.is_file() and p.suffix not in {".png", ".db"}]


MACHINE_PATH = re.compile(r"(?<![\w.])/(?:root|home/\w+|work/main|Users/\w+|tmp/pytest-of-\w+)/")
SECRET = re.compile(
    r"(?:AKIA[0-9A-Z]{16}|-----BEGIN (?:RSA |EC )?PRIVATE KEY-----|ghp_[0-9A-Za-z]{36}|"
    r"xox[bp]-[0-9A-Za-z-]{10,})"
)


def test_no_machine_paths_or_secrets_in_the_repo():
    offenders = []
    for path in _tracked_text_files():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for pattern, what in ((MACHINE_PATH, "a path of a developer's machine"), (SECRET, "a secret")):
            match = pattern.search(text)
            if match:
                offenders.append(f"{path.relative_to(ROOT)}: {what}: {match.group(0)!r}")
    assert not offenders, "\n".join(offenders)
