"""grades.csv and summary.json: deterministic, ready for an LMS."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .score import ModuleResult

COLUMNS = ["learner", "module", "question", "score", "max", "status"]


def fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{round(float(x), 6):g}"


def grades_csv(results: list[ModuleResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in results:
        for q in r.questions:
            w.writerow([r.learner, r.module, q.question, fmt(q.score), fmt(q.max), q.status])
    return buf.getvalue()


def learner_totals(results: list[ModuleResult]) -> dict[str, dict]:
    totals: dict[str, dict] = {}
    for r in results:
        t = totals.setdefault(r.learner, {"score": 0.0, "max": 0.0, "manual_max": 0.0, "modules": {}})
        t["score"] += r.score
        t["max"] += r.max
        manual = sum(q.max for q in r.questions if q.status == "manual")
        t["manual_max"] += manual
        statuses: dict[str, int] = {}
        for q in r.questions:
            statuses[q.status] = statuses.get(q.status, 0) + 1
        t["modules"][r.module] = {"score": float(fmt(r.score)), "max": float(fmt(r.max)),
                                  "manual_max": float(fmt(manual)), "statuses": dict(sorted(statuses.items()))}
    for t in totals.values():
        t["percent"] = round(100.0 * t["score"] / t["max"], 2) if t["max"] else 100.0
        t["score"], t["max"], t["manual_max"] = (float(fmt(t[k])) for k in ("score", "max", "manual_max"))
    return dict(sorted(totals.items()))


def summary(results: list[ModuleResult], fail_under: float | None) -> dict:
    totals = learner_totals(results)
    out = {
        "learners": totals,
        "graded": len(results),
        "grader_errors": sorted(f"{r.learner}/{r.module}" for r in results if r.grader_error),
        "note": "score and max count autograded questions only; manual questions are graded in formgrader",
    }
    if fail_under is not None:
        out["pass_mark"] = fail_under
        out["below_pass_mark"] = sorted(name for name, t in totals.items() if t["percent"] < fail_under)
    return out


def write_reports(out: Path, results: list[ModuleResult], fail_under: float | None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    (out / "grades.csv").write_text(grades_csv(results), encoding="utf-8")
    s = summary(results, fail_under)
    (out / "summary.json").write_text(json.dumps(s, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return s
