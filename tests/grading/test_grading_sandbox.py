"""The private root the grader's kernel runs in: what it shows and what it hides."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from coursekit.grading import sandbox

pytestmark = pytest.mark.skipif(sandbox.best_level() != "full",
                                reason="no user+mount namespaces on this machine")

# Run inside the namespaces: enter the private root, then report what can be seen.
LOOK = textwrap.dedent("""
    import json, os, sys
    from coursekit.grading import sandbox
    exposed, hidden = sys.argv[1], sys.argv[2]
    here = os.path.dirname(sandbox.__file__)
    sandbox.private_root([sys.prefix, sys.base_prefix, here, exposed], tmp_mb=1)
    try:
        open(os.path.join(exposed, "planted.txt"), "w").close()
    except OSError:
        pass
    print(json.dumps({
        "exposed": os.path.exists(os.path.join(exposed, "visible.txt")),
        "hidden": os.path.exists(os.path.join(hidden, "secret.txt")),
        "tmp": sorted(os.listdir("/tmp")),
    }))
""")


def _look(exposed: Path, hidden: Path) -> dict:
    r = subprocess.run(["unshare", *sandbox.LEVELS["full"], sys.executable, "-c", LOOK, str(exposed), str(hidden)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_folder_under_tmp_stays_visible_and_read_only_the_rest_of_tmp_is_gone(tmp_path):
    # A checkout (or venv) under /tmp must be bound over the fresh /tmp, not hidden by it;
    # its siblings in /tmp (another learner's files, another checkout) must not show.
    exposed, hidden = tmp_path / "checkout", tmp_path / "other"
    exposed.mkdir()
    hidden.mkdir()
    (exposed / "visible.txt").write_text("ok")
    (hidden / "secret.txt").write_text("assert hidden_test()")
    seen = _look(exposed, hidden)
    assert seen["exposed"] and not seen["hidden"]
    assert not (exposed / "planted.txt").exists(), "the exposed folder was writable from the sandbox"
    # /tmp shows only the way down to exposed folders: this one, and the venv's if it lives there
    exposed_dirs = [exposed, sys.prefix, sys.base_prefix, Path(sandbox.__file__).parent]
    tops = {os.path.realpath(d).split("/")[2] for d in exposed_dirs if os.path.realpath(d).startswith("/tmp/")}
    assert sorted(seen["tmp"]) == sorted(tops)


def test_the_probe_accepts_this_machine():
    r = subprocess.run(["unshare", *sandbox.LEVELS["full"], sys.executable, "-m", "coursekit.grading.sandbox",
                        "--probe"], capture_output=True, text=True, timeout=60, env={**os.environ})
    assert r.stdout.strip() == "ok", r.stdout + r.stderr
