"""Module 05 · Ship it safely: a sticky rollout, an automatic canary judgement, a bounded
pre-warm on deploy, Prometheus metrics and multiwindow multi-burn-rate SLO alerts.

The lab bench (`canary_samples`, `run_deploy`, `run_alert_scenario`…) is in :mod:`.lab`; each
question lives once in its own file (`bucketing.py`, `judge.py`, `prewarm.py`, `alerts.py`):
its assertion helpers (`assert_…`, taking a seed), the visible checks that call them and its
hints. The hidden tests in `course/05_ship_safely.py` call the same helpers with other seeds.
This file ends with the module's ordered list of questions.
"""

from __future__ import annotations

from coursekit.questions import Module, Question

from ..lab import NBGRADER_STUB, require_finished, show_source
from .alerts import EXPOSITION, SLO_ALERTS
from .bucketing import BUCKETING, BUCKETS
from .judge import CANARY_JUDGE
from .lab import (
    ALERT_SCENARIOS,
    CANARY_KINDS,
    DEPLOY_AT,
    READY_WITHIN,
    SLO_999,
    CohortSample,
    alert_table,
    canary_run,
    canary_samples,
    critical_keys,
    deploy_scenario,
    rollout_users,
    run_alert_scenario,
    run_deploy,
    staged_rollout,
    telemetry_run,
)
from .plots import plot_prewarm
from .prewarm import PREWARM

__all__ = [
    "ALERT_SCENARIOS", "BUCKETS", "CANARY_KINDS", "DEPLOY_AT", "MODULE", "QUESTIONS", "READY_WITHIN", "SLO_999",
    "CohortSample", "alert_table", "canary_run", "canary_samples", "critical_keys", "deploy_scenario", "plot_prewarm",
    "require_finished", "rollout_users", "run_alert_scenario", "run_deploy", "show_source", "staged_rollout", "telemetry_run",
]

# --------------------------------------------------------------------------- rollout_note (written)

ROLLOUT_NOTE = Question(
    id="rollout_note",
    title="The rollout note to the team",
    kind="reflect",
    rubric="rollout_note",
    answer="rollout_note",
    placeholder=NBGRADER_STUB,
    hints=[
        "Write it for a teammate who wasn't in the review: what changes for users, and how you'll know early "
        "if it's wrong.",
        "Four things, one or two sentences each: what is behind the flag (and its name), the stages with their "
        "percentages and how long each lasts, who watches which dashboard or alert, and the exact trigger that "
        "rolls it back.",
        "A trigger is a number and an action: 'if the canary's p99 is more than 10 ms above control's, or the "
        "page fires, Priya turns the flag to 0%'.",
    ],
)

# --------------------------------------------------------------------------- the module, in order

QUESTIONS = [BUCKETING, CANARY_JUDGE, PREWARM, EXPOSITION, SLO_ALERTS, ROLLOUT_NOTE]
MODULE = Module(id="05_ship_safely", title="Ship it safely", questions=QUESTIONS)
