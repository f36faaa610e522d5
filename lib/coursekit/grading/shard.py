"""Grading beyond one machine: ``coursekit grade --shard I/N`` and ``coursekit merge``.

Contract:

* The jobs are every (learner, module) of the run, missing ones included, in the grading order
  (learner, then course order). Shard ``I/N`` takes the jobs at positions ``I-1, I-1+N, …``:
  a stable partition that depends only on the submissions (never on ``--jobs`` or the machine),
  and the N shards together hold every job exactly once.
* A shard writes ``shard.json`` into its ``--out`` folder: its results, their feedback pages and
  a fingerprint of everything that decides a grade — the instructor notebooks, every submitted
  file's bytes, the grading options, the isolation level and the gradebook's content.
* ``merge`` refuses shards with different fingerprints, the same shard twice, a missing shard or
  a malformed file; otherwise it writes ``grades.csv``, ``summary.json`` and ``feedback/``
  byte for byte as one unsharded run with the same options would.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path

from .errors import GradingError
from .score import ModuleResult, Question

SHARD_FILE = "shard.json"
FORMAT = 1
#: the Options fields that change a grade (not --jobs, --out or --fail-under)
GRADING_OPTIONS = ("modules", "learner", "cell_timeout", "notebook_timeout", "interrupt_grace", "memory_mb",
                   "max_processes", "question_jobs", "sandbox")


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 1 <= I <= N; raises ValueError with the reason."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise ValueError(f"{text!r} is not I/N (for example 2/4: the second of four shards)")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= i <= n:
        raise ValueError(f"{text!r}: I must be between 1 and N (N at least 1)")
    return i, n


def select(jobs: list, shard: tuple[int, int]) -> list[int]:
    """Positions of ``jobs`` that shard ``(I, N)`` grades."""
    i, n = shard
    return list(range(i - 1, len(jobs), n))


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _file_digest(path: Path | None) -> str | None:
    if path is None:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint_parts(specs: dict, subs: list, opts, level: str, gradebook_digest: str | None) -> dict:
    """What decides the grades, digested: sources, submissions, options (verbatim), gradebook."""
    return {
        "sources": _digest({m: asdict(s) for m, s in sorted(specs.items())}),
        "submissions": _digest([[s.key, s.missing, _file_digest(s.path)] for s in subs]),
        "options": {k: getattr(opts, k) for k in GRADING_OPTIONS} | {"isolation": level},
        "gradebook": gradebook_digest,
    }


def write_shard(out: Path, shard: tuple[int, int], parts: dict, jobs: list[str], positions: list[int],
                results: list[ModuleResult], pages: dict[str, str]) -> Path:
    """Write ``out/shard.json``; ``jobs`` is the whole run's job list, ``positions`` this shard's."""
    out.mkdir(parents=True, exist_ok=True)
    record = {"format": FORMAT, "shard": list(shard), "fingerprint": _digest(parts), "parts": parts,
              "total_jobs": len(jobs), "positions": positions,
              "results": [asdict(r) for r in results], "pages": pages}
    path = out / SHARD_FILE
    path.write_text(json.dumps(record, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    return path


def _result(d: dict) -> ModuleResult:
    qs = [Question(**q) for q in d.pop("questions")]
    return ModuleResult(questions=qs, **d)


def _load(path: str | Path) -> tuple[str, dict]:
    p = Path(path)
    f = p / SHARD_FILE if p.is_dir() else p
    if not f.is_file():
        raise GradingError(f"{path}: no {SHARD_FILE} there (give the --out folders of "
                           "`coursekit grade --shard I/N` runs)")
    try:
        record = json.loads(f.read_text(encoding="utf-8"))
        if record.get("format") != FORMAT:
            raise GradingError(f"{f}: shard format {record.get('format')!r}, this coursekit reads {FORMAT}")
        i, n = (int(x) for x in record["shard"])
        record["shard"] = (i, n)
        record["results"] = [_result(dict(r)) for r in record["results"]]
        if not (isinstance(record["fingerprint"], str) and isinstance(record["parts"], dict)
                and isinstance(record["pages"], dict) and isinstance(record["total_jobs"], int)):
            raise ValueError("fingerprint, parts, pages or total_jobs has the wrong type")
        if len(record["results"]) != len(record["positions"]):
            raise ValueError("results and positions differ in length")
    except GradingError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GradingError(f"{f}: not a complete shard file ({type(exc).__name__}: {exc}); "
                           "grade that shard again") from exc
    return str(path), record


def _differences(a: dict, b: dict) -> str:
    what = []
    for key, label in (("sources", "the instructor notebooks"), ("submissions", "the submissions"),
                       ("gradebook", "the gradebook")):
        if a.get(key) != b.get(key):
            what.append(label)
    oa, ob = a.get("options", {}), b.get("options", {})
    what += [f"{k} {oa.get(k)!r} vs {ob.get(k)!r}" for k in sorted(set(oa) | set(ob)) if oa.get(k) != ob.get(k)]
    return ", ".join(what) or "the grader's version"


def merge_shards(paths: list[str | Path]) -> tuple[list[ModuleResult], dict[str, str]]:
    """The results (in the unsharded run's order) and feedback pages of shards ``paths``.

    Raises:
        GradingError: no shards, a file that is not a shard, shards of different sources, submissions,
            gradebook or options, a shard given twice (or overlapping jobs), or a missing shard.
    """
    if not paths:
        raise GradingError("merge needs the folders of every shard")
    loaded = [_load(p) for p in paths]
    first_path, first = loaded[0]
    for path, rec in loaded[1:]:
        if rec["fingerprint"] != first["fingerprint"]:
            raise GradingError(f"shards of different runs: {first_path} (shard {first['shard'][0]}/{first['shard'][1]}) "
                               f"and {path} (shard {rec['shard'][0]}/{rec['shard'][1]}) differ in "
                               f"{_differences(first['parts'], rec['parts'])}; grade every shard from the same "
                               "sources, submissions and options")
    counts = {rec["shard"][1] for _, rec in loaded}
    if len(counts) > 1:
        raise GradingError(f"shards of different splits: N is {', '.join(map(str, sorted(counts)))}")
    n = counts.pop()
    seen: dict[int, str] = {}
    for path, rec in loaded:
        i = rec["shard"][0]
        if i in seen:
            raise GradingError(f"overlapping shards: shard {i}/{n} given twice ({seen[i]} and {path})")
        seen[i] = path
    absent = [f"{i}/{n}" for i in range(1, n + 1) if i not in seen]
    if absent:
        raise GradingError(f"missing shard(s): {', '.join(absent)} (have {', '.join(f'{i}/{n}' for i in sorted(seen))})")
    by_position: dict[int, ModuleResult] = {}
    pages: dict[str, str] = {}
    for path, rec in loaded:
        if rec["positions"] != select(range(rec["total_jobs"]), rec["shard"]):
            raise GradingError(f"{path}: shard {rec['shard'][0]}/{n} does not hold the jobs of that shard")
        for pos, r in zip(rec["positions"], rec["results"]):
            if pos in by_position:
                raise GradingError(f"overlapping shards: {r.learner}/{r.module} is in two shards")
            by_position[pos] = r
        pages.update(rec["pages"])
    if sorted(by_position) != list(range(first["total_jobs"])):
        raise GradingError(f"the shards hold {len(by_position)} of {first['total_jobs']} jobs")
    return [by_position[k] for k in sorted(by_position)], pages
