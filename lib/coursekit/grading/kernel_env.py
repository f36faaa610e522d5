"""What a grading kernel starts with: a scrubbed environment, and how its tracebacks are cleaned.

The environment names only this venv's Python and the system's binaries, an empty home and
temp folder, UTC, a fixed hash seed, one BLAS thread and two malloc arenas, so the same submission
scores the same on every machine; ``COURSEKIT_LEARNER`` names the learner graded, so the
notebook's setup cells compute that learner's variant (:mod:`coursekit.variants`) and nothing
else does. Tracebacks lose colours, lines from coursekit's own frames and all but their
last ``TRACEBACK_CAP`` characters.
"""
from __future__ import annotations

import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRACEBACK_CAP = 4000


def clean_traceback(lines: list[str]) -> str:
    text = ANSI.sub("", "\n".join(lines or []))
    text = "\n".join(line for line in text.splitlines() if "coursekit." not in line)
    if len(text) > TRACEBACK_CAP:
        text = "…\n" + text[-TRACEBACK_CAP:]
    return text


def kernel_env(workdir: str, learner: str) -> dict[str, str]:
    """The whole environment of a grading kernel working in ``workdir`` for ``learner``.

    Raises:
        ValueError: an empty learner name (the variant would be a guess).
    """
    if not learner:
        raise ValueError("a grading kernel needs the name of the learner it grades (their variant depends on it)")
    bindir = os.path.dirname(sys.executable)
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(workdir, ".config", "matplotlib"),
        "IPYTHONDIR": os.path.join(workdir, ".ipython"),
        "JUPYTER_CONFIG_DIR": os.path.join(workdir, ".jupyter"),
        "JUPYTER_DATA_DIR": os.path.join(workdir, ".local", "share", "jupyter"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # glibc gives threads up to 8 arenas per core, 64 MB of address space each: two keep a
        # kernel's address space the same on a 2-core laptop and a 64-core grading server
        "MALLOC_ARENA_MAX": "2",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "COURSEKIT_GRADING": "1",
        "COURSEKIT_LEARNER": learner,
    }
