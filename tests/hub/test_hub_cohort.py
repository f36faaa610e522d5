"""A real cohort on a real JupyterHub: three learners and an instructor, end to end.

Root only, and only when asked (``CI`` set, as in CI, or ``COURSEKIT_HUB_TEST=1``): it creates
Linux users (random suffixes), starts JupyterHub 6.1.1 on a free 127.0.0.1 port with the
proxy from npm, spawns servers over the REST API and runs release → fetch → submit →
collect → autograde → manual grade (formgrader API) → feedback → export as those users.
Teardown stops what it started by PID and removes the users (``userdel -r``).

The course environment and the proxy are cached in ``$COURSEKIT_HUB_TEST_CACHE``
(default ``/var/cache/cache-under-pressure-test``): the first run builds them (about a
minute), later runs reuse them. About 1–2 minutes after that.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COURSE_ID = "cache-under-pressure"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub")]


def _why_skip() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the hub test creates Linux users: run it as root (CI does)"
    if not (os.environ.get("CI") or os.environ.get("COURSEKIT_HUB_TEST") == "1"):
        return "the hub test creates Linux users and starts JupyterHub: set COURSEKIT_HUB_TEST=1 (CI sets CI)"
    for tool in ("useradd", "userdel", "runuser", "npm", "node"):
        if shutil.which(tool) is None:
            return f"the hub test needs {tool}"
    if not os.path.exists("/usr/bin/python3"):
        return "the hub test needs /usr/bin/python3 (a Python every user can run)"
    return None


@pytest.fixture(scope="module")
def cohort():
    why = _why_skip()
    if why:
        pytest.skip(why)
    from coursekit.hub.ephemeral import EphemeralHub

    started = time.monotonic()
    hub = EphemeralHub(ROOT, learners=3, instructors=1)
    try:
        hub.start()
        client = hub.client
        for name in hub.everyone:
            client.spawn(name)
        for name in hub.everyone:
            client.wait_ready(name)
        hub.note_processes()
        print(f"hub test setup (environment, users, hub, 4 servers): {time.monotonic() - started:.1f} s", file=sys.stderr)
        tokens = {name: client.user_token(name) for name in hub.everyone}
        instructor = hub.instructors[0]
        yield {
            "hub": client, "settings": hub.settings, "learners": hub.learners, "instructor": instructor,
            "tokens": tokens, "servers": {n: client.server(n, tokens[n]) for n in hub.everyone},
            "course": hub.course_dirs[instructor], "ephemeral": hub,
        }
    finally:
        tail = hub.log_tail()
        hub.close()
        if tail:
            print("--- end of jupyterhub.log ---\n" + tail, file=sys.stderr)
        print(f"hub test: {time.monotonic() - started:.1f} s wall time", file=sys.stderr)


def as_user(c, name: str, argv: list[str], cwd: Path | str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``argv`` as ``name`` with the same environment the hub gives their server."""
    from coursekit.hub.config import spawn_environment
    from coursekit.hub.users import home

    h = home(name)
    env = {"HOME": h, "USER": name, "LOGNAME": name, "LANG": "C.UTF-8", **spawn_environment(c["settings"], name, h)}
    return subprocess.run(
        ["runuser", "-u", name, "--", "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv],
        cwd=cwd or h, capture_output=True, text=True, timeout=timeout,
    )


def nbgrader(c, *args: str) -> subprocess.CompletedProcess:
    proc = as_user(c, c["instructor"], [os.path.join(c["settings"].venv, "bin", "nbgrader"), *args], cwd=c["course"])
    assert proc.returncode == 0, f"nbgrader {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _browser(c, name: str, password: str):
    """A requests session logged in through the hub's login form, as a browser would."""
    import requests

    base = c["hub"].url
    session = requests.Session()
    session.get(f"{base}/hub/login", timeout=60)
    reply = session.post(f"{base}/hub/login", allow_redirects=False, timeout=60,
                         data={"username": name, "password": password, "_xsrf": session.cookies.get("_xsrf")})
    return session, reply.status_code


def _answers(module: str) -> dict[str, str]:
    from coursekit.checking import reference_answer

    nb = json.loads((ROOT / "exercises" / module / f"{module}.ipynb").read_text())
    out = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader") or {}
        if meta.get("solution"):
            out[meta["grade_id"]] = reference_answer(module, meta["grade_id"], ROOT / "solutions")
    return out


def _fill(nb: dict, answers: dict[str, str]) -> dict:
    for cell in nb["cells"]:
        gid = (cell["metadata"].get("nbgrader") or {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    return nb


def _learner_code(nb: dict) -> str:
    """The notebook's code cells a learner runs, without the autograder test cells."""
    cells = []
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader") or {}
        if cell["cell_type"] == "code" and not (meta.get("grade") and not meta.get("solution")):
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            if "raise NotImplementedError" not in src:
                cells.append(src)
    return "\n\n".join(cells)


def _secret_lines() -> set[str]:
    """Distinctive lines of the reference answers and hidden tests (what must not leak).

    Lines that the released notebook itself shows (starter code such as a method signature) are
    not secrets.
    """
    lines = set()
    for module in ("00_orientation", "01_lru"):
        text = (ROOT / "course" / f"{module}.py").read_text()
        released = (ROOT / "exercises" / module / f"{module}.ipynb").read_text()
        for region in re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END", text, re.S):
            for ln in region.splitlines():
                ln = ln.strip()
                if len(ln) >= 30 and not ln.startswith("# about:") and json.dumps(ln)[1:-1] not in released:
                    lines.add(ln)
    assert len(lines) >= 5, "found too few reference lines to look for"
    return lines


GRADER_COMMENT = "Clear scope. Which part of the refresh logic do you want reviewed first?"

#: Known leaks in files this test does not own, reported to their owners: coursekit/hidden_topics.py's
#: docstring quotes a line of 01_lru's hidden O(1) test as its example. Remove an entry once fixed.
KNOWN_LEAKS = {"coursekit/hidden_topics.py"}


def test_cohort_end_to_end(cohort):
    c = cohort
    timings: list[tuple[str, float]] = []

    def phase(label: str) -> None:  # wall time per phase, printed at the end (never asserted)
        timings.append((label, time.monotonic()))
    hub, servers, learners, instructor = c["hub"], c["servers"], c["learners"], c["instructor"]
    ann, bo, cy = learners
    modules = ("00_orientation", "01_lru")

    phase("formgrader 404")
    # --- learners keep Assignments but lose the instructor tools; the instructor keeps formgrader
    for name in learners:
        assert servers[name].request("GET", "formgrader").status_code == 404, f"{name} reached formgrader"
    assert servers[instructor].request("GET", "formgrader/manage_assignments").status_code == 200

    phase("release")
    # --- release (instructor, nbgrader unchanged, from their private course folder)
    for module in modules:
        nbgrader(c, "generate_assignment", module, "--force")
        nbgrader(c, "release_assignment", module, "--force")
    listed = servers[instructor].request("GET", "formgrader/api/assignments").json()
    assert {a["name"] for a in listed} >= set(modules), "formgrader is empty: CourseDirectory.root not set?"

    phase("fetch")
    # --- fetch through the learner's Assignments API
    for name in learners:
        listing = servers[name].request("GET", f"assignments?course_id={COURSE_ID}").json()
        assert {a["assignment_id"] for a in listing["value"]} >= set(modules), listing
        for module in modules:
            r = servers[name].request("POST", "assignments/fetch", data={"course_id": COURSE_ID, "assignment_id": module})
            assert r.status_code == 200, r.text

    phase("work")
    # --- work: ann answers everything; bo has a FIFO "LRU" and retries it; cy does nothing
    fifo = (ROOT / "tests" / "answers" / "lru_fifo.py").read_text()
    for module in modules:
        path = f"{module}/{module}.ipynb"
        answers = _answers(module)
        if module == "01_lru":
            servers[bo].write_notebook(path, _fill(servers[bo].read_notebook(path), {"lru_basic": fifo}))
        servers[ann].write_notebook(path, _fill(servers[ann].read_notebook(path), answers))

    kernels = {}
    for name in (ann, bo):
        kernels[name] = servers[name].start_kernel()
        assert kernels[name]["name"] == "cache-under-pressure", "the course kernel is not the default"
    probe = servers[ann].execute(kernels[ann], (
        "import os\n"
        "from coursekit.checking import solutions_dir, reference_answer\n"
        "print(os.environ['COURSEKIT_MODE'], solutions_dir(), reference_answer('01_lru', 'lru_basic'))\n"
    ))
    assert probe["status"] == "ok" and probe["stdout"].split() == ["cohort", "None", "None"], probe
    nb = servers[ann].read_notebook("01_lru/01_lru.ipynb")
    run = servers[ann].execute(kernels[ann], f"import os; os.chdir(os.path.expanduser('~/01_lru'))\n{_learner_code(nb)}\n"
                               "from coursekit import check\nprint([bool(check(q, quiet=True).passed) for q in "
                               "('lru_basic', 'hit_ratio', 'complexity')])")
    assert run["status"] == "ok" and run["stdout"].strip().endswith("[True, True, True]"), run
    # graded cohort mode: even after a pass, reveal() shows no reference answer
    shown = servers[ann].execute(kernels[ann], "from coursekit import reveal\nprint(reveal('lru_basic').text())")
    assert shown["status"] == "ok", shown
    assert "reference answers after" in shown["stdout"], shown  # "... releases/shares reference answers after ..."
    assert not [line for line in _secret_lines() if line in shown["stdout"]], shown

    live = lambda token: hub.service("live-view", "api/state", token)  # noqa: E731
    r = servers[bo].execute(kernels[bo], f"import os; os.chdir(os.path.expanduser('~/01_lru'))\n{fifo}")
    assert r["status"] == "ok", r
    for attempt in range(3):
        if attempt:
            time.sleep(1.1)  # the progress file's stamps have one-second resolution
        r = servers[bo].execute(kernels[bo], "from coursekit import check\nprint(check('lru_basic', quiet=True).passed)")
        assert r["stdout"].strip() == "False", r
        assert live(c["tokens"][instructor]).status_code == 200  # each view reads the files again

    phase("submit")
    # --- submit through the Assignments API (cy submits the untouched notebooks)
    for name in learners:
        for module in modules:
            r = servers[name].request("POST", "assignments/submit", data={"course_id": COURSE_ID, "assignment_id": module})
            assert r.status_code == 200 and '"success": false' not in r.text, r.text

    phase("the live view")
    # --- the live view: instructors only, every learner's state
    for name in learners:
        assert live(c["tokens"][name]).status_code == 403, f"{name} can see the live view"
    state = live(c["tokens"][instructor]).json()
    rows = {row["learner"]: row for row in state["learners"]}
    assert set(rows) == set(learners)
    lru = {name: rows[name]["modules"]["01_lru"] for name in learners}
    assert {q: v["status"] for q, v in lru[ann]["questions"].items()} == {
        "lru_basic": "passed", "hit_ratio": "passed", "complexity": "passed"}
    assert lru[bo]["questions"]["lru_basic"]["status"] == "attempted"
    assert lru[bo]["questions"]["lru_basic"]["failed_checks"] >= 3 and lru[bo]["questions"]["lru_basic"]["stuck"]
    assert rows[bo]["stuck"] == ["01_lru/lru_basic"]
    assert all(q["status"] == "not started" for q in lru[cy]["questions"].values())
    assert all(lru[name]["submitted"] for name in learners), lru
    page = hub.service("live-view", "", c["tokens"][instructor])
    assert page.status_code == 200 and bo in page.text and "Stuck" in page.text

    phase("browser login")
    # --- the same through a browser: the shared passwords, the OAuth login to the live view, the lab page
    passwords = json.loads(Path(c["settings"].secrets_file).read_text())
    base = hub.url
    assert _browser(c, ann, passwords["admin_password"])[1] == 403, "a learner logged in with the admin password"
    assert _browser(c, instructor, passwords["user_password"])[1] == 403, "the learner password opened an admin account"
    assert _browser(c, "nobody-on-the-roster", passwords["user_password"])[1] == 403
    browser, status = _browser(c, instructor, passwords["admin_password"])
    assert status == 302
    view = browser.get(f"{base}/services/live-view/", timeout=60)
    assert view.status_code == 200 and "Stuck" in view.text, view.status_code
    browser, status = _browser(c, cy, passwords["user_password"])
    assert status == 302
    assert browser.get(f"{base}/services/live-view/", timeout=60).status_code == 403
    page = browser.get(f"{base}/user/{cy}/lab", timeout=60).text
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    disabled = {k for k in config.get("disabledExtensions", []) if "nbgrader" in k}
    assert disabled == {f"@jupyter/nbgrader:{p}" for p in ("formgrader", "create-assignment", "course-list", "validate-assignment")}

    phase("collect+autograde+formgrade+feedback+export")
    # --- collect, autograde, manual grade in formgrader, feedback, export
    for module in modules:
        nbgrader(c, "collect", module)
        nbgrader(c, "autograde", module, "--create")
    fg = servers[instructor]
    subs = fg.request("GET", "formgrader/api/submitted_notebooks/00_orientation/00_orientation").json()
    ann_sub = next(s for s in subs if s["student"] == ann)
    grades = fg.request("GET", f"formgrader/api/grades?submission_id={ann_sub['id']}").json()
    wip = next(g for g in grades if g["name"] == "wip_pr")
    r = fg.request("PUT", f"formgrader/api/grade/{wip['id']}", json={**wip, "manual_score": 3})
    assert r.status_code == 200, r.text
    notes = fg.request("GET", f"formgrader/api/comments?submission_id={ann_sub['id']}").json()
    note = next(x for x in notes if x["name"] == "wip_pr")
    r = fg.request("PUT", f"formgrader/api/comment/{note['id']}", json={**note, "manual_comment": GRADER_COMMENT})
    assert r.status_code == 200, r.text
    for module in modules:
        nbgrader(c, "generate_feedback", module)
        nbgrader(c, "release_feedback", module)
    export = nbgrader(c, "export", "--to", str(c["course"] / "grades.csv"))
    assert export.returncode == 0
    rows = list(csv.DictReader(io.StringIO(as_user(c, instructor, ["cat", str(c["course"] / "grades.csv")]).stdout)))
    score = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    assert score[(ann, "01_lru")] == 7.0, rows
    assert score[(ann, "00_orientation")] == 4.0, rows  # 1 autograded + 3 by hand
    assert score[(bo, "01_lru")] < 7.0 and score[(cy, "01_lru")] == 0.0, rows

    phase("one gradebook")
    # --- coursekit grade merges formgrader's grade and comment; per learner it adds up to nbgrader's total
    out = c["course"] / "coursekit-grades"
    coursekit = os.path.join(c["settings"].venv, "bin", "coursekit")
    proc = as_user(c, instructor, [coursekit, "grade", "submitted", "--source", "source", "--gradebook", ".",
                                   "--module", "00_orientation", "--out", str(out), "--jobs", "2"], cwd=c["course"])
    assert proc.returncode == 0, proc.stderr
    merged = list(csv.DictReader(io.StringIO(as_user(c, instructor, ["cat", str(out / "grades.csv")]).stdout)))
    wip_rows = {r["learner"]: (r["score"], r["status"], r["comment"]) for r in merged if r["question"] == "wip_pr"}
    assert wip_rows == {ann: ("3", "graded", GRADER_COMMENT), bo: ("0", "not attempted", ""),
                        cy: ("0", "not attempted", "")}, merged  # bo and cy left the starter text: both tools say 0
    for name in learners:
        ours = sum(float(r["score"]) for r in merged if r["learner"] == name)
        assert ours == score[(name, "00_orientation")], (name, merged, rows)

    phase("fetch feedback")
    # --- learners fetch their feedback; it holds no hidden test or reference answer
    secret = _secret_lines()
    for name in (bo, cy):
        r = servers[name].request("POST", "assignments/fetch_feedback", data={"course_id": COURSE_ID, "assignment_id": "01_lru"})
        assert r.status_code == 200, r.text
        listing = servers[name].request("GET", "api/contents/01_lru/feedback").json()
        stamp = listing["content"][0]["name"]
        html = servers[name].request("GET", f"api/contents/01_lru/feedback/{stamp}/01_lru.html?content=1").json()["content"]
        assert not [s for s in secret if s in html], f"{name}'s feedback shows reference or hidden-test lines"

    phase("permissions scan")
    # --- what learners can read: not the instructor's folder, not each other's homes, no answers
    from coursekit.hub.users import home

    assert as_user(c, ann, ["cat", str(c["course"] / "source" / "01_lru" / "01_lru.ipynb")]).returncode != 0
    assert as_user(c, ann, ["ls", home(bo)]).returncode != 0
    assert as_user(c, bo, ["cat", os.path.join(home(ann), "01_lru", "01_lru.ipynb")]).returncode != 0
    scan = (
        "import os, sys, json\n"
        "secret = json.loads(sys.stdin.read())\n"
        "hits = []\n"
        "for top in sys.argv[1:]:\n"
        "    for folder, dirs, files in os.walk(top):\n"
        "        for f in files:\n"
        "            if f.endswith('.pyc'): continue\n"
        "            p = os.path.join(folder, f)\n"
        "            try:\n"
        "                if os.path.getsize(p) > 5_000_000: continue\n"
        "                text = open(p, encoding='utf-8', errors='ignore').read()\n"
        "            except OSError: continue\n"
        "            hits += [p for s in secret if s in text][:1]\n"
        "print(json.dumps(hits))\n"
    )
    roots = [c["settings"].venv, c["settings"].exchange_root, c["settings"].shared_config_dir, "/home", home(instructor)]
    from coursekit.hub.config import spawn_environment

    env = {"HOME": home(cy), **spawn_environment(c["settings"], cy, home(cy))}
    proc = subprocess.run(
        ["runuser", "-u", cy, "--", "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in env.items()],
         os.path.join(c["settings"].venv, "bin", "python"), "-c", scan, *roots],
        input=json.dumps(sorted(secret)), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    known = [h for h in hits if any(h.endswith(k) for k in KNOWN_LEAKS)]
    if known:
        print(f"known leak still there (see KNOWN_LEAKS): {known}", file=sys.stderr)
    assert [h for h in hits if h not in known] == [], f"a learner can read reference answers or hidden tests: {hits}"
    phase("end")
    print("hub test phases: " + "; ".join(f"{a} {t2 - t1:.1f} s" for (a, t1), (_, t2) in zip(timings, timings[1:])),
          file=sys.stderr)
