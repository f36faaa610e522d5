"""Per-learner variants of the course's visible scenarios (cache_course.variants).

The reference solution passes every variant-dependent question (visible check + hidden tests)
as several learners; two learners get different numbers; the reference learner keeps the
scenario the text quotes; no learner's seed is ever a hidden test's.
"""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modules_harness import ROOT, code_cells, run_question

from cache_course.variants import FIRST_LEARNER_SEED, learner_seed, variant_line
from coursekit.variants import REFERENCE, normalize_learner

pytestmark = pytest.mark.slow

#: (module, question) whose visible check runs on the learner's own scenario.
VARIANT_QUESTIONS = [("01_lru", "hit_ratio"), ("02_stampede", "swr"), ("02_stampede", "benchmark"),
                     ("03_hol_blocking", "reproduce"), ("03_hol_blocking", "threshold"),
                     ("03_hol_blocking", "breaker"), ("03_hol_blocking", "priority"),
                     ("04_many_servers", "lost_update"), ("04_many_servers", "key_schema"),
                     ("04_many_servers", "many_servers"),
                     ("05_ship_safely", "canary_judge"), ("05_ship_safely", "prewarm"),
                     ("05_ship_safely", "exposition"), ("05_ship_safely", "slo_alerts"),
                     ("06_incident", "verify"), ("06_incident", "respond")]

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=12).filter(
    lambda s: normalize_learner(s) != REFERENCE)


def _passes(module: str, question: str) -> None:
    out = run_question(module, question)
    assert out.visible_passed, (module, question)
    assert out.error is None, (module, question, repr(out.error))


@pytest.mark.parametrize("learner", ["alice", "bob", "Zoë Smith"])
@pytest.mark.parametrize("module,question", VARIANT_QUESTIONS)
def test_reference_solution_passes_on_several_learners_variants(module, question, learner, monkeypatch):
    monkeypatch.setenv("COURSEKIT_LEARNER", learner)
    assert learner_seed(module, reference=7) >= FIRST_LEARNER_SEED
    _passes(module, question)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(NAMES)
def test_reference_incident_response_passes_on_any_learners_variant(monkeypatch, name):
    monkeypatch.setenv("COURSEKIT_LEARNER", name)
    _passes("06_incident", "respond")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(NAMES)
def test_reference_hit_ratio_passes_on_any_learners_variant(monkeypatch, name):
    monkeypatch.setenv("COURSEKIT_LEARNER", name)
    _passes("01_lru", "hit_ratio")


def _setup_namespace(module: str) -> dict:
    """What the notebook's setup cell computes (and prints) for this kernel's learner."""
    ns: dict = {"__name__": "__main__", "display": lambda *a, **k: None}
    exec(compile(dict(code_cells(module))["setup"], f"<{module}:setup>", "exec"), ns)
    return ns


def test_two_learners_get_different_numbers(monkeypatch, capsys):
    from cache_course.m06_incident import IncidentConsole

    seen = {}
    for who in ("alice", "bob"):
        monkeypatch.setenv("COURSEKIT_LEARNER", who)
        ns = _setup_namespace("06_incident")
        assert f"Your variant ({who}): seed {ns['VARIANT']}." in capsys.readouterr().out
        base = IncidentConsole(ns["VARIANT"]).baseline()
        seen[who] = (ns["VARIANT"], base.user_minutes_over_slo, round(base.worst_wait_s, 1),
                     learner_seed("01_lru", 42), learner_seed("02_stampede", 7))
    assert all(a != b for a, b in zip(seen["alice"], seen["bob"])), seen


def test_the_reference_learner_keeps_the_texts_scenarios(monkeypatch):
    monkeypatch.setenv("COURSEKIT_LEARNER", REFERENCE)
    assert _setup_namespace("06_incident")["VARIANT"] == 0
    assert [learner_seed(m, r) for m, r in (("01_lru", 42), ("02_stampede", 7), ("03_hol_blocking", 7),
                                            ("05_ship_safely", 7))] == [42, 7, 7, 7]
    assert "reference scenario (seed 7)" in variant_line("02_stampede", 7)


def _hidden_ints(path) -> set[int]:
    text = path.read_text()
    found: set[int] = set()
    for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", text, re.S):
        tree = ast.parse(block)
        found |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is int}
    return found


def test_no_learner_seed_is_a_hidden_tests_seed():
    sources = sorted((ROOT / "course").glob("0*.py"))
    ints = {p.name: _hidden_ints(p) for p in sources}
    assert sum(map(len, ints.values())) > 20, ints  # the parser found the hidden tests' numbers
    too_big = {name: sorted(v for v in vals if v >= FIRST_LEARNER_SEED) for name, vals in ints.items()}
    assert not any(too_big.values()), f"hidden tests use numbers a learner's seed may take: {too_big}"


def test_the_visible_check_compares_the_learners_own_numbers(monkeypatch):
    """A benchmark that always runs the reference scenario (seed 3, what the visible check used for
    everyone before variants) passes the reference learner's check but not alice's."""
    from modules_harness import edited_answer

    stuck = edited_answer("02_stampede", "benchmark", ('def benchmark(seed):\n', 'def benchmark(seed):\n    seed = 3\n'))
    assert run_question("02_stampede", "benchmark", stuck).visible_passed  # the reference learner: seed 3
    monkeypatch.setenv("COURSEKIT_LEARNER", "alice")
    out = run_question("02_stampede", "benchmark", stuck)
    assert not out.visible_passed and out.error is not None


def test_module_07_replays_the_codes_variant_and_says_when_it_is_not_yours(monkeypatch):
    from cache_course.m06_incident import IncidentConsole, my_variant
    from cache_course.m07_afterwards import load_incident

    monkeypatch.setenv("COURSEKIT_LEARNER", "bob")
    bobs_seed = my_variant()
    code = IncidentConsole(bobs_seed).act(25, "rollback").record().code()
    record, about = load_incident(code)
    assert record.seed == bobs_seed and f"variant {bobs_seed}, 1 actions" in about and "note" not in about
    monkeypatch.setenv("COURSEKIT_LEARNER", "alice")
    record, about = load_incident(code)  # the code carries bob's variant: 07 replays bob's incident
    assert record.seed == bobs_seed and f"your own module-06 variant is {my_variant()}" in about


# ---------------------------------------------------------------- module 03: the hot user and the outage window

M03_QUESTIONS = ["reproduce", "threshold", "breaker"]  # the visible checks that run the hot-user and outage scenarios


def _m03_scenario(learner: str):
    from cache_course.m03_hol_blocking import scenario

    return scenario(learner_seed("03_hol_blocking", reference=5, learner=learner))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(NAMES, st.sampled_from(M03_QUESTIONS))
def test_reference_solution_passes_module_03_with_any_learners_hot_user_and_outage(monkeypatch, name, question):
    monkeypatch.setenv("COURSEKIT_LEARNER", name)
    _passes("03_hol_blocking", question)


def test_module_03_learners_get_their_own_hot_user_and_outage_window(monkeypatch, capsys):
    from cache_course.m03_hol_blocking import HOT_KEY, OUTAGE_AT, OUTAGE_SECONDS, OUTAGE_STARTS, scenario

    ref = _m03_scenario(REFERENCE)
    assert (ref.hot_key, ref.outage_at, ref.outage_seconds) == (HOT_KEY, OUTAGE_AT, OUTAGE_SECONDS) == ("user:0", 3.0, 4.0)
    alice, bob = _m03_scenario("alice"), _m03_scenario("bob")
    assert alice.hot_key != bob.hot_key and alice.outage_at != bob.outage_at, (alice, bob)
    names = [f"learner{i}" for i in range(200)]
    mine = [_m03_scenario(n) for n in names]
    assert {s.hot_key for s in mine} == {f"user:{i}" for i in range(20)}
    assert {s.outage_at for s in mine} == set(OUTAGE_STARTS) and all(2.0 <= t <= 4.0 for t in OUTAGE_STARTS)
    pairs = [(a, b) for i, a in enumerate(mine) for b in mine[i + 1:]]
    assert sum(a.hot_key != b.hot_key for a, b in pairs) > 0.9 * len(pairs)
    assert sum(a.outage_at != b.outage_at for a, b in pairs) > 0.85 * len(pairs)
    # the same learner, the same scenario: in the notebook's setup cell and at grading
    for who, theirs in (("alice", alice), (REFERENCE, ref)):
        monkeypatch.setenv("COURSEKIT_LEARNER", who)
        ns = _setup_namespace("03_hol_blocking")
        assert ns["SCENARIO"] == theirs == scenario(ns["SEED"]) and ns["HOT_KEY"] == theirs.hot_key
        assert theirs.describe() in capsys.readouterr().out
    assert "hot user user:0, outage from 3 s to 7 s" in ref.describe()


def test_every_hidden_test_seed_of_module_03_is_the_reference_scenario():
    from cache_course.m03_hol_blocking import scenario

    seeds = _hidden_ints(ROOT / "course" / "03_hol_blocking.py")
    assert {31, 41, 71, 81} <= seeds
    assert {scenario(s) for s in seeds} == {_m03_scenario(REFERENCE)}


def test_module_03_scenarios_follow_the_learners_hot_user_and_outage(monkeypatch):
    """alice's workload's hottest key is her hot user (the only 2 s load), and her database goes
    down at her outage start, not the reference's."""
    import numpy as np

    from cache_course.m03_hol_blocking import WaitingCache, hol_workload, run_hol, run_outage, TTL

    monkeypatch.setenv("COURSEKIT_LEARNER", "alice")
    seed, s = learner_seed("03_hol_blocking", reference=5), _m03_scenario("alice")
    assert s.hot_key != "user:0" and s.outage_at != 3.0  # else this test would not tell the scenarios apart
    arrivals = hol_workload(seed).generate()
    counts = np.bincount(arrivals.keys, minlength=20)
    assert arrivals.key_names[int(counts.argmax())] == s.hot_key and counts.max() > 0.25 * counts.sum()
    waiting = run_hol(lambda load: WaitingCache(load, ttl=TTL), seed)
    assert 1.8 <= waiting.p99 <= 2.0

    class NoBreaker:
        state, opens = "closed", 0

        async def call(self, fn):
            return await fn()

    result, _, _ = run_outage(NoBreaker, lambda attempt, *, base, cap, rng: 0.0, seed)
    q = np.asarray(result.db_query_times)
    per_second = {t: int(((q >= t) & (q < t + 1)).sum()) for t in (s.outage_at - 1, s.outage_at, s.outage_end)}
    # unguarded, every stale read retries while the database is down: a herd from her outage start
    assert per_second[s.outage_at] > 5 * per_second[s.outage_at - 1] and per_second[s.outage_end] < 30, per_second


def test_module_03_threshold_check_uses_the_learners_hot_user(monkeypatch):
    """A ThresholdCache that spares only the reference's hot user ("user:0") and lets every other
    user wait for their refresh passes the reference learner's visible check (the others' loads
    take 20 ms), and fails alice's: her hot user is another, whose refresh takes 2 s."""
    from modules_harness import edited_answer

    stuck = edited_answer("03_hol_blocking", "threshold", (
        "            if age < self.ttl + self.stale_ttl:\n",
        "            if age < self.ttl + self.stale_ttl and str(key).startswith(\"user:\") and key != \"user:0\":\n"
        "                return await self._flight.do(key, lambda: self._load(key))\n"
        "            if age < self.ttl + self.stale_ttl:\n"))
    assert run_question("03_hol_blocking", "threshold", stuck).visible_passed  # the reference learner
    monkeypatch.setenv("COURSEKIT_LEARNER", "alice")
    out = run_question("03_hol_blocking", "threshold", stuck)
    assert not out.visible_passed and isinstance(out.error, AssertionError), repr(out.error)
