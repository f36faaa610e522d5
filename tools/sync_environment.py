"""Regenerate environment.yml from requirements.lock so conda users get the same pins.

Run by `make lock`; tests/test_environment.py fails when the two disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# Generated from requirements.lock by tools/sync_environment.py; do not edit by hand.
# conda env create -f environment.yml && conda activate cache-under-pressure && pip install --no-deps -e .
# then register the kernel the notebooks ask for:
# python -m ipykernel install --sys-prefix --name cache-under-pressure --display-name "Python 3 (Cache Under Pressure)"
name: cache-under-pressure
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def locked_requirements(lock: Path) -> list[str]:
    """The `name==version` lines of a pip lock file, comments and blanks dropped."""
    lines = []
    for raw in lock.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def render(requirements: list[str]) -> str:
    return HEADER + "".join(f"      - {req}\n" for req in requirements)


def main() -> int:
    text = render(locked_requirements(ROOT / "requirements.lock"))
    (ROOT / "environment.yml").write_text(text)
    print("environment.yml written from requirements.lock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
