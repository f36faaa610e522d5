"""Unit tests of the hub's pieces that need no root, no users and no server."""

from __future__ import annotations

import json
import os
import stat
import types
from pathlib import Path

import pytest

from coursekit.hub import livedata
from coursekit.hub.config import configure, spawn_environment
from coursekit.hub.liveview import render_table
from coursekit.hub.roster import RosterError, parse_roster
from coursekit.hub.settings import HubSettings
from coursekit.hub.setup import ANSWER_FOLDERS, NBGRADER_SHARED, protect_repo, readable_by_others

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, **kw) -> HubSettings:
    s = HubSettings(
        learners=["ann", "bo"], instructors=["dee"], venv="/opt/cup/venv", proxy_command="/opt/cup/chp",
        state_dir=str(tmp_path), shared_config_dir="/opt/cup/etc/jupyter", learner_config_dir="/opt/cup/learner",
        **kw,
    )
    (tmp_path / "passwords.json").write_text(json.dumps({"user_password": "p" * 12, "admin_password": "a" * 40}))
    s.save()
    return s


# ----------------------------------------------------------------------------- roster
def test_roster_names_learners_and_instructors():
    r = parse_roster("ann\nbo   # late joiner\n\ndee instructor\neve Facilitator\n")
    assert r.learners == ("ann", "bo") and r.instructors == ("dee", "eve")
    assert r.is_instructor("dee") and not r.is_instructor("ann")


@pytest.mark.parametrize("text, needle", [
    ("ann\nann\ndee instructor", "twice"),
    ("root\ndee instructor", "reserved"),
    ("ann teacher\ndee instructor", "expected 'name' or 'name instructor'"),
    ("a+b\ndee instructor", "not a valid user name"),
    ("ann\n", "no instructor"),
])
def test_roster_rejects_what_cannot_become_a_user(text, needle):
    with pytest.raises(RosterError, match=needle):
        parse_roster(text)


# ----------------------------------------------------------------------------- live view data
def _write_progress(home: Path, modules: dict) -> None:
    path = Path(livedata.progress_file(home))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "modules": modules}))


def test_progress_file_is_where_the_spawner_points_coursekit(tmp_path):
    s = _settings(tmp_path)
    env = spawn_environment(s, "ann", "/home/ann")
    assert env["COURSEKIT_PROGRESS"] == livedata.progress_file("/home/ann")


def test_read_progress_tolerates_odd_files(tmp_path):
    home = tmp_path / "ann"
    path = Path(livedata.progress_file(home))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    data, note = livedata.read_progress(path)
    assert data == {} and "could not read" in note
    path.unlink()
    os.mkfifo(path)  # a learner's FIFO must not hang the live view
    data, note = livedata.read_progress(path)
    assert data == {} and note
    path.unlink()
    (tmp_path / "secret").write_text(json.dumps({"modules": {"x": {"y": {"status": "passed"}}}}))
    path.symlink_to(tmp_path / "secret")  # nor may a symlink make root read another file
    data, note = livedata.read_progress(path)
    assert data == {} and note
    path.unlink()
    path.write_text(json.dumps({"modules": {"01_lru": {"q": {"status": "bogus"}, "r": {"status": "passed"}}}}))
    assert livedata.read_progress(path) == ({"01_lru": {"r": {"status": "passed"}}}, None)


def test_failed_checks_are_counted_by_new_stamps():
    counter = livedata.FailureCounter()
    for stamp in ("t1", "t1", "t2", "t3"):
        counter.observe("bo", {"01_lru": {"q": {"status": "failed", "updated": stamp}}})
    assert counter.count("bo", "01_lru", "q") == 3
    counter.observe("bo", {"01_lru": {"q": {"status": "passed", "updated": "t4"}}})
    assert counter.count("bo", "01_lru", "q") == 3  # passing keeps the history
    counter.observe("cy", {"01_lru": {"q": {"status": "failed", "updated": "t1", "failures": 7}}})
    assert counter.count("cy", "01_lru", "q") == 7  # a recorded counter wins when larger


def test_snapshot_marks_a_stuck_learner_and_submissions(tmp_path):
    counter = livedata.FailureCounter()
    homes = {}
    for name in ("ann", "bo", "cy"):
        homes[name] = str(tmp_path / name)
    _write_progress(tmp_path / "ann", {"01_lru": {"q": {"status": "passed", "updated": "t0"}}})
    for stamp in ("t1", "t2", "t3"):
        _write_progress(tmp_path / "bo", {"01_lru": {"q": {"status": "failed", "updated": stamp}}})
        progress = livedata.read_all(["ann", "bo", "cy"], homes)
        for name, (data, _) in progress.items():
            counter.observe(name, data)
    inbound = tmp_path / "x" / "cache-under-pressure" / "inbound" / "ann+01_lru+2026-12-01 09:00:00.1 UTC+zz"
    inbound.mkdir(parents=True)
    (inbound / "timestamp.txt").write_text("2026-12-01 09:00:00.123 UTC")
    subs = livedata.read_submissions(tmp_path / "x", "cache-under-pressure")
    snap = livedata.snapshot(["ann", "bo", "cy"], [("01_lru", ["q"]), ("02_x", ["r"])], progress, subs, counter)
    rows = {r["learner"]: r for r in snap["learners"]}
    assert rows["ann"]["modules"]["01_lru"]["questions"]["q"]["status"] == "passed"
    assert rows["ann"]["modules"]["01_lru"]["submitted"] == "2026-12-01 09:00:00.123 UTC"
    assert rows["ann"]["done"] == 1 and rows["ann"]["total"] == 2
    bo = rows["bo"]["modules"]["01_lru"]["questions"]["q"]
    assert bo == {"status": "attempted", "failed_checks": 3, "stuck": True, "updated": "t3"}
    assert rows["bo"]["stuck"] == ["01_lru/q"]
    assert rows["cy"]["modules"]["02_x"]["questions"]["r"]["status"] == "not started"
    html = render_table(snap)
    assert "Stuck" in html and "bo: 01_lru/q" in html and "✗ 3" in html
    json.dumps(snap)  # the API serves it as JSON


def test_render_table_escapes_names():
    counter = livedata.FailureCounter()
    snap = livedata.snapshot(["<b>x"], [("01_lru", ["q"])], {"<b>x": ({}, "<i>note")}, {}, counter)
    html = render_table(snap)
    assert "<b>x" not in html and "&lt;b&gt;x" in html and "&lt;i&gt;note" in html


# ----------------------------------------------------------------------------- hub config
class _Config(types.SimpleNamespace):
    def __getattr__(self, name):  # c.JupyterHub.port = ... creates sections on the fly
        section = types.SimpleNamespace()
        setattr(self, name, section)
        return section


def test_configure_sets_auth_allow_list_spawner_and_the_live_view(tmp_path):
    s = _settings(tmp_path)
    c = _Config()
    configure(c, s.settings_file)
    assert c.JupyterHub.ip == "127.0.0.1"
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.Authenticator.allowed_users == {"ann", "bo", "dee"}
    assert c.Authenticator.admin_users == {"dee"}
    assert c.Spawner.cmd == ["/opt/cup/venv/bin/jupyterhub-singleuser"]
    assert c.JupyterHub.load_groups == {"instructors": {"users": ["dee"]}}
    (service,) = c.JupyterHub.services
    assert service["name"] == "live-view" and "coursekit.hub.liveview" in service["command"]
    (role,) = c.JupyterHub.load_roles
    assert role["groups"] == ["instructors"] and role["scopes"] == ["access:services!service=live-view"]
    assert not hasattr(c.JupyterHub, "ssl_cert")


def test_configure_tls_when_given_a_certificate(tmp_path):
    s = _settings(tmp_path, ssl_cert="/etc/ssl/hub.pem", ssl_key="/etc/ssl/hub.key", ip="0.0.0.0")
    c = _Config()
    configure(c, s.settings_file)
    assert (c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key, c.JupyterHub.ip) == ("/etc/ssl/hub.pem", "/etc/ssl/hub.key", "0.0.0.0")
    assert s.url.startswith("https://")


def test_learners_get_cohort_mode_and_the_learner_config_first(tmp_path):
    s = _settings(tmp_path)
    ann = spawn_environment(s, "ann", "/home/ann")
    dee = spawn_environment(s, "dee", "/home/dee")
    assert ann["COURSEKIT_MODE"] == "cohort" and dee["COURSEKIT_MODE"] == "instructor"
    assert ann["JUPYTER_CONFIG_PATH"].split(os.pathsep) == ["/opt/cup/learner", "/opt/cup/etc/jupyter"]
    assert dee["JUPYTER_CONFIG_PATH"].split(os.pathsep) == ["/opt/cup/etc/jupyter"]
    assert ann["PATH"].split(os.pathsep)[0] == "/opt/cup/venv/bin"


def test_shared_nbgrader_config_sets_course_and_exchange():
    text = NBGRADER_SHARED.format(course_id="cache-under-pressure", exchange="/usr/local/share/nbgrader/exchange")
    c = types.SimpleNamespace(CourseDirectory=types.SimpleNamespace(), Exchange=types.SimpleNamespace())
    exec(compile(text, "nbgrader_config.py", "exec"), {"get_config": lambda: c})
    assert c.CourseDirectory.course_id == "cache-under-pressure"
    assert c.Exchange.root == "/usr/local/share/nbgrader/exchange"


# ----------------------------------------------------------------------------- learner config
def test_learner_config_keeps_assignments_and_drops_instructor_tools():
    folder = ROOT / "lib" / "coursekit" / "jupyter_learner"
    server = json.loads((folder / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert server["nbgrader.server_extensions.assignment_list"] is True
    assert not any(server[f"nbgrader.server_extensions.{x}"] for x in ("formgrader", "course_list", "validate_assignment"))
    lab = json.loads((folder / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert "@jupyter/nbgrader" not in lab, "disabling the whole extension hides the Assignments tab"
    for plugin in ("formgrader", "create-assignment", "course-list", "validate-assignment"):
        assert lab[f"@jupyter/nbgrader:{plugin}"] is True
    assert "@jupyter/nbgrader:assignment-list" not in lab and "@jupyter/nbgrader:menu" not in lab


def test_the_plugin_ids_exist_in_the_installed_nbgrader_labextension():
    import sys

    static = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader" / "static"
    # nbgrader is pinned in requirements.lock, so its lab extension is always there: missing is a broken install
    assert static.is_dir(), f"nbgrader's lab extension is missing from {static}: run make env"
    bundle = "".join(p.read_text(errors="ignore") for p in static.glob("*.js"))
    folder = ROOT / "lib" / "coursekit" / "jupyter_learner"
    lab = json.loads((folder / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    for plugin in (p for p in lab if p.startswith("@jupyter/nbgrader:")):
        assert f'"{plugin}"' in bundle, f"{plugin} is not a plugin of the installed nbgrader"


# ----------------------------------------------------------------------------- repository exposure
def test_protect_repo_closes_the_answer_folders(tmp_path):
    assert not readable_by_others(tmp_path / "missing")
    # pytest's tmp_path sits in a 0700 folder (nobody else gets in): use a folder others can enter
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="cup-protect-"))
    try:
        _protect(top)
    finally:
        shutil.rmtree(top)


def _protect(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for name in (*ANSWER_FOLDERS, "lib"):
        (repo / name).mkdir(parents=True)
        os.chmod(repo / name, 0o755)
    os.chmod(tmp_path, 0o755)
    os.chmod(repo, 0o755)
    assert readable_by_others(repo / "solutions")
    assert sorted(protect_repo(repo, apply=False)) == sorted(ANSWER_FOLDERS)
    assert readable_by_others(repo / "solutions")  # apply=False only reports
    protect_repo(repo, apply=True)
    assert protect_repo(repo, apply=False) == []
    assert stat.S_IMODE(os.stat(repo / "solutions").st_mode) == 0o700
    assert readable_by_others(repo / "lib")  # the rest of the repository is untouched
