"""grades.csv and summary.json: deterministic, ready for an LMS.

Contract: the same results give the same bytes. A missing module (no notebook submitted) has
an empty score, never 0; a manual question not graded yet has an empty score and status
``manual``; one graded in formgrader has status ``graded``, its score and the grader's comment.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .score import ModuleResult

COLUMNS = ["learner", "module", "question", "score", "max", "status", "comment"]

NOTE = ("score, max and percent count autograded questions only (a missing module counts toward max "
        "and has score null); manual_score counts reflective answers graded by hand in formgrader "
        "(--gradebook) and untouched ones (0, as nbgrader records them); manual_pending counts those "
        "nobody has graded yet; total = score + manual_score")


def fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{round(float(x), 6):g}"


def _num(x: float | None) -> float | None:
    return None if x is None else float(fmt(x))


def grades_csv(results: list[ModuleResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in results:
        for q in r.questions:
            w.writerow([r.learner, r.module, q.question, fmt(q.score), fmt(q.max), q.status, q.comment])
    return buf.getvalue()


def _module_entry(r: ModuleResult) -> dict:
    statuses: dict[str, int] = {}
    for q in r.questions:
        statuses[q.status] = statuses.get(q.status, 0) + 1
    entry = {"status": "missing" if r.missing else "submitted",
             "score": None if r.missing else _num(r.score), "max": _num(r.max),
             "manual_score": None if r.missing else _num(r.manual_score), "manual_max": _num(r.manual_max),
             "manual_pending": 0 if r.missing else r.manual_pending, "statuses": dict(sorted(statuses.items()))}
    manual = {q.question: {"status": q.status, "score": _num(q.score), "max": _num(q.max), "comment": q.comment}
              for q in r.questions if q.manual}
    if manual:
        entry["manual"] = manual
    return entry


def learner_totals(results: list[ModuleResult]) -> dict[str, dict]:
    totals: dict[str, dict] = {}
    for r in results:
        t = totals.setdefault(r.learner, {"score": None, "max": 0.0, "manual_score": None, "manual_max": 0.0,
                                          "manual_pending": 0, "missing": [], "modules": {}})
        t["modules"][r.module] = _module_entry(r)
        t["max"] += r.max
        t["manual_max"] += r.manual_max
        if r.missing:
            t["missing"].append(r.module)
            continue
        t["score"] = (t["score"] or 0.0) + r.score
        t["manual_score"] = (t["manual_score"] or 0.0) + r.manual_score
        t["manual_pending"] += r.manual_pending
    for t in totals.values():
        if t["score"] is None:  # nothing submitted at all: no score, no percent, not a 0
            t["percent"] = t["total"] = None
        else:
            t["percent"] = round(100.0 * t["score"] / t["max"], 2) if t["max"] else 100.0
            t["total"] = _num(t["score"] + t["manual_score"])
        t["total_max"] = _num(t["max"] + t["manual_max"])
        for k in ("score", "max", "manual_score", "manual_max"):
            t[k] = _num(t[k])
    return dict(sorted(totals.items()))


def summary(results: list[ModuleResult], fail_under: float | None) -> dict:
    totals = learner_totals(results)
    out = {
        "learners": totals,
        "graded": sum(1 for r in results if not r.missing),
        "missing": [f"{r.learner}/{r.module}" for r in results if r.missing],
        "grader_errors": sorted(f"{r.learner}/{r.module}" for r in results if r.grader_error),
        "note": NOTE,
    }
    if fail_under is not None:
        out["pass_mark"] = fail_under
        out["below_pass_mark"] = sorted(name for name, t in totals.items()
                                        if t["percent"] is None or t["percent"] < fail_under)
    return out


def write_reports(out: Path, results: list[ModuleResult], fail_under: float | None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    (out / "grades.csv").write_text(grades_csv(results), encoding="utf-8")
    s = summary(results, fail_under)
    (out / "summary.json").write_text(json.dumps(s, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return s
