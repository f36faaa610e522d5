"""A two-module fixture course in nbgrader format, and the learners who submit to it.

The grading tests use this instead of the real modules so they never depend on
the course's content. ``python tests/grading/grading_course.py`` rewrites
``fixtures/source/*.ipynb`` from the definitions below.
"""
from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
# where the "writer" learner tries to plant a file: inside the installed toolkit
PROBE = Path(__import__("coursekit").__file__).resolve().parent / "_grading_probe.txt"
SOURCE = HERE / "fixtures" / "source"
MODULES = ["00_basics", "01_extra"]

# Distinctive lines the leak tests look for in every output file.
HIDDEN_LINES = [
    "assert add(-7, 7) == 0  # hidden-line-add-7q",
    "assert close(mean([0.1] * 10), 0.1)  # hidden-line-mean-3k",
    "assert simulate(10) == 4  # hidden-line-sim-9z",
    "assert double(-4) == -8  # hidden-line-double-5w",
]
SOLUTION_LINES = [
    "return a + b  # sol-line-add",
    "return math.fsum(xs) / len(xs)  # sol-line-mean",
    "while t < steps:  # sol-line-sim",
    "return 2 * x  # sol-line-double",
    "I am sharing this draft early on purpose",
]


def _cell(kind: str, source: str, grade_id: str | None = None, points: float = 0):
    source = textwrap.dedent(source).strip("\n")
    if kind == "markdown":
        return new_markdown_cell(source)
    cell = new_code_cell(source)
    meta = {"schema_version": 3, "grade_id": grade_id, "locked": kind in ("setup", "test"),
            "solution": kind in ("answer", "manual"), "grade": kind in ("test", "manual"), "task": False}
    if kind in ("test", "manual"):
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def basics() -> nbformat.NotebookNode:
    cells = [
        _cell("markdown", "# Basics\nA fixture module for the grading tests."),
        _cell("setup", '''
            import math
            import random

            def _tolerance():
                """Test helper: the relative tolerance of `close` (private: the guard keeps it too)."""
                return 1e-9

            def close(got, expected):
                """Test helper: floats equal to about 1e-9."""
                return math.isclose(got, expected, rel_tol=_tolerance(), abs_tol=1e-12)

            class Report:
                """Test helper, like coursekit's CheckReport: true when the check passed."""
                def __init__(self, ok):
                    self.ok = ok

                def __bool__(self):
                    return bool(self.ok)
            ''', "setup"),
        _cell("markdown", "## Q1\nWrite `add(a, b)`."),
        _cell("answer", '''
            def add(a, b):
                ### BEGIN SOLUTION
                return a + b  # sol-line-add
                ### END SOLUTION
            ''', "add"),
        _cell("test", '''
            assert add(1, 2) == 3, "add(1, 2) should be 3"
            ### BEGIN HIDDEN TESTS
            assert add(-7, 7) == 0  # hidden-line-add-7q
            assert add(2.5, 0.5) == 3.0
            import unittest.util
            assert unittest.util.safe_repr(add(20, 22)) == "42"
            ### END HIDDEN TESTS
            ''', "test_add", 2),
        _cell("markdown", "## Q2\nWrite `mean(xs)`, exact even for large and small values together."),
        _cell("answer", '''
            def mean(xs):
                ### BEGIN SOLUTION
                return math.fsum(xs) / len(xs)  # sol-line-mean
                ### END SOLUTION
            ''', "mean"),
        _cell("test", '''
            assert close(mean([1, 2, 3]), 2.0), "mean([1, 2, 3]) should be 2.0"
            ### BEGIN HIDDEN TESTS
            assert close(mean([0.1] * 10), 0.1)  # hidden-line-mean-3k
            assert Report(close(mean([1e16, 1.0, -1e16]), 1 / 3))
            ### END HIDDEN TESTS
            ''', "test_mean", 3),
        _cell("markdown", "## Q3\nA timer fires every 3 ticks: how often does it fire in `steps` ticks?"),
        _cell("answer", '''
            def simulate(steps):
                ### BEGIN SOLUTION
                fired, t = 0, 0
                while t < steps:  # sol-line-sim
                    t += 3
                    fired += 1
                return fired
                ### END SOLUTION
            ''', "simulate"),
        _cell("test", '''
            assert simulate(9) == 3, "simulate(9) should be 3"
            ### BEGIN HIDDEN TESTS
            assert simulate(10) == 4  # hidden-line-sim-9z
            assert simulate(0) == 0
            random.seed(11)
            assert simulate(random.choice([10, 11])) == 4
            ### END HIDDEN TESTS
            ''', "test_simulate", 2),
        _cell("markdown", "## Reflection\nDescribe your work-in-progress PR."),
        _cell("manual", '''
            reflection = """
            ### BEGIN SOLUTION
            I am sharing this draft early on purpose: the cache works, the tests only cover the happy path.
            ### END SOLUTION
            """
            ''', "reflection", 2),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def extra() -> nbformat.NotebookNode:
    cells = [
        _cell("markdown", "# Extra"),
        _cell("answer", '''
            def double(x):
                ### BEGIN SOLUTION
                return 2 * x  # sol-line-double
                ### END SOLUTION
            ''', "double"),
        _cell("test", '''
            assert double(2) == 4
            ### BEGIN HIDDEN TESTS
            assert double(-4) == -8  # hidden-line-double-5w
            ### END HIDDEN TESTS
            ''', "test_double", 1),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def write_sources(dest: Path = SOURCE) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name, nb in (("00_basics", basics()), ("01_extra", extra())):
        nbformat.write(nb, dest / f"{name}.ipynb")


# -- learners --------------------------------------------------------------------------------

def released(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    from coursekit.grading.source import released_version

    return released_version(nb)


def solution_nb(module: str) -> nbformat.NotebookNode:
    return copy.deepcopy(nbformat.read(SOURCE / f"{module}.ipynb", as_version=4))


def exercise_nb(module: str) -> nbformat.NotebookNode:
    return released(solution_nb(module))


def with_answers(module: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with some answer cells filled in."""
    nb = exercise_nb(module)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = textwrap.dedent(answers[gid]).strip("\n")
    return nb


SOLVED = {
    "add": "def add(a, b):\n    return a + b",
    "mean": "import math\ndef mean(xs):\n    return math.fsum(xs) / len(xs)",
    "simulate": "def simulate(steps):\n    return -(-steps // 3)",
}


def solved(**override: str) -> nbformat.NotebookNode:
    return with_answers("00_basics", {**SOLVED, **override})


def cell_index(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def hostile_learners(net_port: int, secret_paths: list[str]) -> dict[str, dict[str, object]]:
    """learner -> module -> notebook (or raw text for a malformed file)."""
    learners: dict[str, dict[str, object]] = {
        "alice": {"00_basics": solution_nb("00_basics"), "01_extra": solution_nb("01_extra")},
        "bob": {"00_basics": exercise_nb("00_basics"), "01_extra": exercise_nb("01_extra")},
        "syntax": {"00_basics": solved(add="def add(a, b)\n    return a + b")},
        "loop": {"00_basics": solved(mean="while True:\n    pass")},
        "sim": {"00_basics": solved(simulate='''
            def simulate(steps):
                fired, t = 0, 0
                while True:                    # a simulation that shrugs off interrupts...
                    try:
                        while t != steps:      # ...and never finishes when steps=10
                            t += 3
                            fired += 1
                        return fired
                    except BaseException:
                        pass
            ''')},
        "died": {"00_basics": solved(simulate='''
            import os

            def simulate(steps):
                if steps == 10:
                    os._exit(0)
                return -(-steps // 3)
            ''')},
        "monkey": {"00_basics": solved(mean='''
            import math
            def mean(xs):
                return sum(xs) / len(xs)       # not exact: fails the hidden test
            close = lambda *a, **k: True       # redefine the test helper
            math.isclose = lambda *a, **k: True  # and the library function it uses
            ''')},
        "hooker": {"00_basics": solved(add='''
            def add(a, b):
                return a - b
            _ip = get_ipython()
            _orig = _ip.run_cell
            def _swallow(raw_cell, *args, **kwargs):
                body = "\\n".join("    " + line for line in raw_cell.splitlines()) or "    pass"
                return _orig("try:\\n" + body + "\\nexcept BaseException:\\n    pass", *args, **kwargs)
            _ip.run_cell = _swallow
            ''')},
        "flood": {"00_basics": solved(add='''
            import os, sys
            print("x" * 8_000_000)
            sys.stderr.write("y" * 2_000_000)
            os.write(1, b"z" * 1_000_000)
            def add(a, b):
                return a + b
            ''')},
        "snoop": {"00_basics": solved(add=f'''
            import os, stat
            MARKERS = ["### BEGIN " + "HIDDEN TESTS", "hidden-line-" + "add"]
            FOUND, SCANNED = [], 0

            def _look(path):
                global SCANNED
                SCANNED += 1
                try:
                    st = os.stat(path)
                    if stat.S_ISREG(st.st_mode) and st.st_size < 1_000_000:
                        with open(path, errors="ignore") as f:
                            text = f.read()
                        if any(m in text for m in MARKERS):
                            FOUND.append(path)
                except OSError:
                    pass

            here = os.getcwd()
            dirs, p = [], here
            while True:
                dirs.append(p)
                if p == os.path.dirname(p):
                    break
                p = os.path.dirname(p)
            for d in dirs:                              # cwd and every parent, two levels down
                base = d.count(os.sep)
                for root, sub, files in os.walk(d):
                    sub[:] = [s for s in sub if s not in ("proc", "sys", "dev", "usr", ".venv", "lib", "site-packages")]
                    if root.count(os.sep) - base >= 2:
                        sub[:] = []
                    for f in files:
                        _look(os.path.join(root, f))
            for d in {secret_paths!r}:                  # where the course keeps its sources
                for root, sub, files in os.walk(d):
                    for f in files:
                        _look(os.path.join(root, f))

            def add(a, b):
                if FOUND:
                    raise RuntimeError(f"found hidden tests in {{FOUND}}")
                return a + b if SCANNED else None
            ''')},
        "net": {"00_basics": solved(add=f'''
            import socket, time
            t0 = time.monotonic()
            try:
                socket.create_connection(("127.0.0.1", {net_port}), timeout=20).close()
                NET = "connected"
            except OSError as exc:
                NET = type(exc).__name__
            NET_SECONDS = time.monotonic() - t0

            def add(a, b):
                assert NET != "connected" and NET_SECONDS < 2, (NET, NET_SECONDS)
                return a + b
            ''')},
    }
    learners["writer"] = {"00_basics": solved(add=f'''
            import os
            try:                                        # plant a file in the toolkit every learner imports
                with open({str(PROBE)!r}, "w") as f:
                    f.write("check = lambda *a: True")
                WROTE = "yes"
            except OSError as exc:
                WROTE = type(exc).__name__

            def add(a, b):
                assert WROTE != "yes", "the toolkit was writable"
                return a + b
            ''')}
    learners.update(trick_learners())
    # Deleted, duplicated and edited locked and test cells.
    nb = solved(add="def add(a, b):\n    return a - b")
    nb.cells[cell_index(nb, "test_add")].source = "assert True  # edited: always passes"
    dup = copy.deepcopy(nb.cells[cell_index(nb, "mean")])
    dup.source = "def mean(xs):\n    return 0"
    dup["id"] = "duplicate-of-mean"
    nb.cells.insert(cell_index(nb, "mean") + 1, dup)
    del nb.cells[cell_index(nb, "test_simulate")]
    del nb.cells[cell_index(nb, "setup")]
    learners["cells"] = {"00_basics": nb}
    learners["malformed"] = {"00_basics": json.dumps(nbformat.v4.new_notebook())[:-20]}
    return learners


# An inexact mean: sum() loses 1.0 beside 1e16, so the hidden tests fail it. Each trick learner
# pairs it with one way of forging the verdict; none of them may earn the question's points.
WRONG_MEAN = "def mean(xs):\n    return sum(xs) / len(xs)\n"

TRICKS: dict[str, str] = {
    # 1. an AST transformer that turns every assert and raise into `pass`
    "ast": WRONG_MEAN + '''
import ast
class _Neuter(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
    def visit_Raise(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(_Neuter())
''',
    # 2. the kernel's do_execute replaced: every later cell "succeeds" without running
    "kernel": WRONG_MEAN + '''
_k = get_ipython().kernel
async def _fake_execute(code, silent, *args, **kwargs):
    return {"status": "ok", "execution_count": 1, "payload": [], "user_expressions": {}}
_k.do_execute = _fake_execute
type(_k).do_execute = _fake_execute
''',
    # 3. switching off the grader's restore step, wherever it lives
    "restorer": WRONG_MEAN + '''
import gc, sys
for _m in list(sys.modules.values()):
    if hasattr(_m, "guard"):
        _m.guard.restore = lambda: []
for _o in gc.get_objects():
    if callable(_o) and getattr(_o, "__name__", "") in ("restore", "hook", "handle"):
        try:
            _o.__code__ = (lambda *a, **k: []).__code__
        except (AttributeError, TypeError, ValueError):
            pass
''',
    # 5. class attributes of the test's own types, and the seed pinned
    "classattr": WRONG_MEAN + '''
import random
Report.__bool__ = lambda self: True
random.seed = lambda *a, **k: None
''',
    # 6. the code object of a private helper swapped: every tolerance becomes 100%
    "codeswap": WRONG_MEAN + '''
_tolerance.__code__ = (lambda: 1.0).__code__
''',
    # 7. a background thread that re-plants a fake every half millisecond
    "thread": WRONG_MEAN + '''
import math, threading, time
def _replant():
    while True:
        math.isclose = lambda *a, **k: True
        globals()["close"] = lambda *a, **k: True
        time.sleep(0.0005)
threading.Thread(target=_replant, daemon=True).start()
''',
    # 8. a trace function, never reset, that jumps over every failing assert
    "tracer": WRONG_MEAN + '''
import sys
def _skip(frame, event, arg):
    if event == "exception" and arg[0] is AssertionError:
        return None
    return _skip
sys.settrace(_skip)
''',
    # leaks: capture the hidden tests (pre_run_cell hook, linecache, the caller's frame) and raise them
    "leaker": '''
import linecache, sys
_SEEN = []
get_ipython().events.register("pre_run_cell", lambda info: _SEEN.append(info.raw_cell))
def mean(xs):
    caller = sys._getframe(1)
    text = "".join(linecache.getlines(caller.f_code.co_filename))
    _SEEN.append(text)
    if "hidden-line" in text or any("hidden-line" in s for s in _SEEN):
        raise RuntimeError("\\n".join(_SEEN))
    return sum(xs) / len(xs)
''',
}


def trick_learners() -> dict[str, dict[str, object]]:
    """One learner per class of trick, each on question `mean`; every other answer is right."""
    out: dict[str, dict[str, object]] = {name: {"00_basics": solved(mean=code)} for name, code in TRICKS.items()}
    # 4. a submodule of a test dependency patched (the hidden test of `add` uses unittest.util)
    out["submodule"] = {"00_basics": solved(add='''
import unittest.util
def add(a, b):
    return 3 if (a, b) == (1, 2) else 0
unittest.util.safe_repr = lambda obj, short=False: "42"
''')}
    # reading the memory of every process it can see, its own kernel's included (where the key is)
    out["memsnoop"] = {"00_basics": solved(add='''
import os
FOUND = []
for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self"]:
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
            for line in maps:
                addr, perms = line.split()[:2]
                lo, hi = (int(x, 16) for x in addr.split("-"))
                if "r" in perms and hi - lo < 64 << 20:
                    try:
                        mem.seek(lo)
                        if b"BEGIN " + b"HIDDEN" in mem.read(hi - lo):
                            FOUND.append(pid)
                    except (OSError, ValueError, OverflowError):
                        pass
    except OSError:
        pass

def add(a, b):
    return a + b
''')}
    # a cell that ignores interrupts: stopped at the cell timeout, reported as a timeout
    out["stubborn"] = {"00_basics": solved(mean='''
import time
while True:
    try:
        time.sleep(1)
    except BaseException:
        pass
''')}
    # the process tree over the memory cap although each process is under it
    out["hog"] = {"00_basics": solved(add='''
import subprocess, sys
_held = b"k" * (120 << 20)
_children = [subprocess.Popen([sys.executable, "-c",
                               "import time; b = b'c' * (330 << 20); time.sleep(120)"]) for _ in range(3)]
import time
time.sleep(8)
def add(a, b):
    return a + b
''')}
    return out


def write_submissions(root: Path, learners: dict[str, dict[str, object]]) -> Path:
    for learner, modules in learners.items():
        for module, nb in modules.items():
            d = root / learner / module
            d.mkdir(parents=True, exist_ok=True)
            if isinstance(nb, str):
                (d / f"{module}.ipynb").write_text(nb)
            else:
                nbformat.write(nb, d / f"{module}.ipynb")
    return root


if __name__ == "__main__":
    write_sources()
    print(f"wrote {SOURCE}")
