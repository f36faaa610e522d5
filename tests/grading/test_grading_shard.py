"""``coursekit grade --shard I/N`` and ``coursekit merge``: three shards merged are one run, byte for byte."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

import grading_course as fc
from coursekit.cli import build_parser
from coursekit.grading.shard import parse_shard, select
from grading_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "templates" / "instructor-ci-sharded.yml"


def _grade(subs: Path, out: Path, *extra: str):
    return run_cli("grade", str(subs), "--out", str(out), "--source", str(fc.SOURCE), "--cell-timeout", "10", *extra)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("text,want", [("1/3", (1, 3)), ("3/3", (3, 3)), (" 2 / 4 ", (2, 4)), ("1/1", (1, 1))])
def test_parse_shard(text, want):
    assert parse_shard(text) == want


@pytest.mark.parametrize("text,why", [("3", "is not I/N"), ("a/b", "is not I/N"), ("-1/3", "is not I/N"),
                                      ("0/3", "between 1 and N"), ("4/3", "between 1 and N"), ("1/0", "between 1 and N")])
def test_malformed_shard_is_refused(text, why):
    with pytest.raises(ValueError, match=why):
        parse_shard(text)
    r = run_cli("grade", ".", f"--shard={text}")
    assert r.returncode == 2 and "--shard" in r.stderr and why in r.stderr, r.stderr


def test_shards_partition_the_jobs():
    jobs = [f"learner{i}/m{j}" for i in range(7) for j in range(3)]
    for n in (1, 2, 3, 5, 30):
        slices = [select(jobs, (i, n)) for i in range(1, n + 1)]
        flat = [k for s in slices for k in s]
        assert sorted(flat) == list(range(len(jobs))) and len(flat) == len(set(flat)), n
    assert select(jobs, (2, 3)) == list(range(1, 21, 3))


def test_fail_under_belongs_to_the_merge(tmp_path):
    subs = fc.write_submissions(tmp_path / "s", {"alice": {"01_extra": fc.solution_nb("01_extra")}})
    r = _grade(subs, tmp_path / "out", "--shard", "1/2", "--fail-under", "50")
    assert r.returncode == 2 and "give it to `coursekit merge`" in r.stderr, r.stderr


def test_ci_workflow_parses_and_runs_every_shard_then_merges():
    flow = yaml.safe_load(WORKFLOW.read_text())
    shards = flow["jobs"]["grade"]["strategy"]["matrix"]["shard"]
    n = int(flow["env"]["SHARDS"])
    assert shards == list(range(1, n + 1)), "the matrix must list shards 1..SHARDS"
    grade = next(s["run"] for s in flow["jobs"]["grade"]["steps"] if s.get("name") == "Grade one shard")
    for i in shards:  # each matrix entry's command, expanded, is a valid `coursekit grade --shard i/N`
        line = grade.replace("${{ matrix.shard }}", str(i)).replace("$SHARDS", str(n))
        argv = shlex.split(line.split("$(")[0])
        assert argv[:2] == ["coursekit", "grade"], argv
        args = build_parser().parse_args(argv[1:])
        assert args.shard == (i, n) and args.out == f"shard-{i}" and args.fail_under is None
    merge = flow["jobs"]["merge"]
    assert merge["needs"] == "grade"
    run = next(s["run"] for s in merge["steps"] if s.get("name") == "Merge")
    args = build_parser().parse_args(shlex.split(run.replace('"$PASS_MARK"', flow["env"]["PASS_MARK"]))[1:])
    assert args.command == "merge" and args.shards == ["shards/shard-*"] and args.fail_under == 60
    upload = next(s for s in flow["jobs"]["grade"]["steps"] if s.get("name") == "Upload the shard")
    assert upload["with"]["path"] == "shard-${{ matrix.shard }}/shard.json"


def test_the_workflow_excerpt_in_the_workshop_guide_parses_and_matches_the_template():
    import re

    text = (ROOT / "docs" / "workshop.md").read_text()
    block = re.search(r"### Grading a big cohort on a CI matrix.*?```yaml\n(.*?)```", text, re.S).group(1)
    excerpt = yaml.safe_load(block)
    template = yaml.safe_load(WORKFLOW.read_text())
    assert excerpt["jobs"]["grade"]["strategy"] == template["jobs"]["grade"]["strategy"]
    assert excerpt["env"]["SHARDS"] == template["env"]["SHARDS"]
    runs = [s["run"] for job in excerpt["jobs"].values() for s in job["steps"] if "run" in s]
    assert any("--shard \"${{ matrix.shard }}/$SHARDS\"" in r for r in runs) and any("coursekit merge" in r for r in runs)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One class graded once whole (--jobs 2) and once as three shards (--jobs 1)."""
    base = tmp_path_factory.mktemp("shards")
    subs = fc.write_submissions(base / "submitted", {
        "alice": {"00_basics": fc.solution_nb("00_basics"), "01_extra": fc.solution_nb("01_extra")},
        "bob": {"00_basics": fc.exercise_nb("00_basics")},  # and no 01_extra: missing
        "cy": {"00_basics": fc.solved(add="def add(a, b)\n    return a + b"), "01_extra": fc.exercise_nb("01_extra")},
    })
    whole = _grade(subs, base / "whole", "--jobs", "2", "--fail-under", "50")
    shards = [_grade(subs, base / f"shard{i}", "--jobs", "1", "--shard", f"{i}/3") for i in (1, 2, 3)]
    return base, subs, whole, shards


@pytest.mark.notebooks
def test_three_shards_merged_equal_one_run_byte_for_byte(runs, tmp_path):
    base, _, whole, shards = runs
    assert whole.returncode == 1, whole.stderr  # bob is under 50%: 0 of 00_basics, 01_extra missing
    for r in shards:
        assert r.returncode == 0, r.stderr
    jobs = [len(json.loads((base / f"shard{i}" / "shard.json").read_text())["results"]) for i in (1, 2, 3)]
    assert jobs == [2, 2, 2]
    merged = run_cli("merge", str(base / "shard3"), str(base / "shard1"), str(base / "shard2"),
                     "--out", str(tmp_path / "merged"), "--fail-under", "50")
    assert merged.returncode == whole.returncode, merged.stderr
    want, got = _tree(base / "whole"), _tree(tmp_path / "merged")
    assert sorted(got) == sorted(want) and "feedback/alice/01_extra.html" in got
    for name in want:
        assert got[name] == want[name], f"{name} differs between the merged shards and one run"
    assert "missing (no notebook): bob/01_extra" in merged.stderr


@pytest.mark.notebooks
def test_merge_refuses_missing_overlapping_mismatched_and_broken_shards(runs, tmp_path):
    base, subs, _, _ = runs
    s1, s2, s3 = (str(base / f"shard{i}") for i in (1, 2, 3))

    def merge(*paths):
        r = run_cli("merge", *paths, "--out", str(tmp_path / "m"))
        assert r.returncode == 2, r.stderr
        assert not (tmp_path / "m").exists(), "nothing is written when the merge is refused"
        return r.stderr

    assert "missing shard(s): 2/3 (have 1/3, 3/3)" in merge(s1, s3)
    assert "overlapping shards: shard 1/3 given twice" in merge(s1, s2, s3, s1)
    assert "no shard.json there" in merge(s1, s2, str(tmp_path))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "shard.json").write_text('{"format": 1, "shard": [3, 3]')
    assert "not a complete shard file" in merge(s1, s2, str(tmp_path / "broken"))
    # a shard graded with other options, and one graded from other submissions
    other = _grade(subs, tmp_path / "other", "--jobs", "1", "--shard", "3/3", "--cell-timeout", "11")
    assert other.returncode == 0, other.stderr
    assert "differ in cell_timeout 10.0 vs 11.0" in merge(s1, s2, str(tmp_path / "other"))
    fc.write_submissions(subs.parent / "later", {"bob": {"00_basics": fc.exercise_nb("00_basics"),
                                                         "01_extra": fc.exercise_nb("01_extra")}})
    late = run_cli("grade", str(subs.parent / "later"), "--out", str(tmp_path / "late"), "--source", str(fc.SOURCE),
                   "--cell-timeout", "10", "--shard", "3/3")
    assert late.returncode == 0, late.stderr
    assert "differ in the submissions" in merge(s1, s2, str(tmp_path / "late"))


@pytest.mark.parametrize("record", [
    {"format": 1, "shard": [3], "fingerprint": "x", "parts": {}, "pages": {}, "total_jobs": 0, "positions": [],
     "results": []},
    {"format": 1, "shard": [1, 1], "fingerprint": "x", "parts": {}, "pages": [], "total_jobs": 0, "positions": [],
     "results": []},
    {"format": 1, "shard": [1, 1], "fingerprint": "x", "parts": {}, "pages": {}, "total_jobs": 1, "positions": [0],
     "results": []},
])
def test_a_malformed_shard_file_is_refused_not_a_crash(tmp_path, record):
    from coursekit.grading.errors import GradingError
    from coursekit.grading.shard import merge_shards

    (tmp_path / "shard.json").write_text(json.dumps(record))
    with pytest.raises(GradingError, match="not a complete shard file"):
        merge_shards([tmp_path])
    (tmp_path / "shard.json").write_text(json.dumps({**record, "format": 99}))
    with pytest.raises(GradingError, match="shard format 99"):
        merge_shards([tmp_path])
