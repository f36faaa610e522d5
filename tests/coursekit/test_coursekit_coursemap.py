"""The course map is generated from the learner notebooks: every module, its beat, time and points."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from coursekit import coursemap
from coursekit.lab import COURSE_MAP, lab_command

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"


def _nbgrader_points(nb: dict) -> float:
    return sum(float((c["metadata"].get("nbgrader") or {}).get("points", 0) or 0) for c in nb["cells"]
               if (c["metadata"].get("nbgrader") or {}).get("grade"))


def test_the_map_lists_every_module_in_order_with_links_times_and_points():
    modules = coursemap.modules_in(EXERCISES)
    folders = sorted(p.name for p in EXERCISES.iterdir() if p.is_dir())
    assert [m.id for m in modules] == folders
    text = coursemap.course_map(modules)
    links = re.findall(r"^## \[(.+?)\]\((.+?)\)$", text, re.M)
    assert [path for _, path in links] == [f"{f}/{f}.ipynb" for f in folders]
    for (title, path), m in zip(links, modules):
        nb = json.loads((EXERCISES / path).read_text())
        assert title.startswith(m.id[:2] + " · ")
        assert sum(t.points for t in m.tasks) == _nbgrader_points(nb), m.id  # every graded point is listed
        assert m.beat and m.minutes >= 15
        assert f"{m.minutes} minutes" in text
    three = next(m for m in modules if m.id.startswith("03"))
    by_id = {t.id: t for t in three.tasks}
    assert by_id["roleplay_replies"].graded_by == "a person" and by_id["threshold"].graded_by == "autograder"
    assert "- A wait threshold that doesn't block — `threshold`: 4 points, autograder" in text


def test_authors_can_set_the_beat_and_the_time(tmp_path):
    shutil.copytree(EXERCISES / "02_stampede", tmp_path / "02_stampede")
    path = tmp_path / "02_stampede" / "02_stampede.ipynb"
    nb = json.loads(path.read_text())
    nb["metadata"]["coursekit"] = {"beat": "Review asks for numbers; you bring them.", "minutes": 40}
    path.write_text(json.dumps(nb))
    (m,) = coursemap.modules_in(tmp_path)
    assert (m.beat, m.minutes, m.minutes_given) == ("Review asks for numbers; you bring them.", 40, True)
    assert "*40 minutes ·" in coursemap.course_map([m])


def test_lab_opens_on_the_map_when_the_build_wrote_one(tmp_path):
    assert not any("default_url" in a for a in lab_command(ROOT, port=8888, headless=True, serve=tmp_path))
    written = coursemap.write_course_map(tmp_path)
    assert written.name == COURSE_MAP
    assert f"--LabApp.default_url=/lab/tree/{COURSE_MAP}" in lab_command(ROOT, port=8888, headless=True, serve=tmp_path)
    # and it opens rendered, not in the text editor
    overrides = json.loads((ROOT / "lib/coursekit/jupyter_learner/labconfig/default_setting_overrides.json").read_text())
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["markdown"] == "Markdown Preview"


def test_doctests_of_coursemap_and_lab():
    import doctest

    from coursekit import lab

    for module in (coursemap, lab):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
