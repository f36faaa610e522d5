"""nbval passes on solutions/: every cell runs and its text outputs match the committed ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_helpers import ROOT, committed

from coursekit import build

SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")


@pytest.mark.notebooks
@pytest.mark.parametrize("module_id", build.MODULES)
def test_nbval_strict_on_solution(module_id, tmp_path):
    # One pytest per notebook, each with a fresh progress file: progress() prints it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    env.update(
        PYTHONHASHSEED="0",
        COURSEKIT_PROGRESS=str(tmp_path / "progress.json"),
        COURSEKIT_SOLUTIONS=str(ROOT / "solutions"),
        COURSEKIT_LEARNER="reference",  # the learner the built outputs are for (coursekit.variants)
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
            "--nbval-sanitize-with", str(SANITIZE), "--nbval-cell-timeout", "120",
            "-o", "addopts=", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
            str(committed("solutions", module_id).relative_to(ROOT)),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"nbval failed on solutions/{module_id} (stale? run make build):\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    assert " passed" in proc.stdout and "failed" not in proc.stdout
