"""The module 06 rubrics (`status_followup`, `incident_checklist`), measured like the others.

``labelled/`` is the calibration set the rules were tuned on; ``heldout/`` was written after a
first tuning and used once more (its headers say what changed after it was first scored). The
bar: every good answer gets fewer questions than every bad one, and no gamed answer gets fewer
questions than the best bad one — held for every rubric in `test_rubric_calibration.py`;
here, what these two rubrics must ask about.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coursekit.rubrics import get_rubric

HERE = Path(__file__).parent

def test_status_followup_asks_about_promises_jargon_and_vague_owners():
    r = get_rubric("status_followup")
    assert "no_fix_time" in r.evaluate(
        "Your account is safe and nothing was lost. Our engineers will have it fixed within the hour. "
        "I'll write again by 15:00 UTC; reply here if it is slow.").unmet
    assert "no_jargon" in r.evaluate(
        "Your account is safe and nothing was lost. We rolled back the canary and the cache is warm again. "
        "I'll write again by 15:00 UTC; reply here if it is slow.").unmet
    assert "next_update" in r.evaluate(
        "Your account is safe and nothing was lost. Sign-in is quick again right now, and we are watching it. "
        "Reply here if it is slow.").unmet


def test_incident_checklist_asks_for_names_not_someone():
    c = get_rubric("incident_checklist")
    text = (HERE / "labelled" / "incident_checklist.yml").read_text()
    good = yaml.safe_load(text)["good"][0]
    assert c.evaluate(good).met
    vague = good.replace("Operations: Jonas.", "Operations: someone from the team.")
    assert "no_vague_owner" in c.evaluate(vague).unmet
    root_first = good.replace("5. Jonas starts root-causing only after the rollback", "0. Jonas starts root-causing first")
    assert "mitigate_first" in c.evaluate(root_first.replace("0. Jonas", "Jonas", 1)).unmet or \
        "root_cause_after" in c.evaluate(root_first).unmet


def test_the_apology_calibration_is_unchanged_by_the_new_block():
    from cache_course.rubrics import APOLOGY, RUBRICS as ALL

    names = [r.name for r in ALL]  # in the order the course meets them: module 06's after 05's, before 07's
    assert names[:3] == ["wip_pr", "review_reply", "apology"]
    assert names.index("status_followup") + 1 == names.index("incident_checklist") < names.index("postmortem")
    assert len(APOLOGY.rules) == 12
