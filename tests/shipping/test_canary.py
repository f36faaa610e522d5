"""Canary judgement: the statistics themselves, then seeded canaries in a fleet."""

from __future__ import annotations

import random

import numpy as np
import pytest

from cachesim import LogNormal, NaiveCache, SimulatedDatabase, Workload
from cachesim.canary import bootstrap_quantile_diff, judge, judge_fleet, mann_whitney_u, two_proportion_test
from cachesim.fleet import Fleet
from cachesim.results import nearest_rank
from cachesim.rollout import Rollout
from swrcache import SWRCache

from shipping_helpers import DoubleRead, Flaky


@pytest.mark.parametrize("seed", range(5))
def test_u_statistic_counts_pairs(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, size=40).astype(float)  # many ties
    y = rng.integers(0, 7, size=30).astype(float)
    u, _, _ = mann_whitney_u(x, y)
    brute = sum((yy > xx) + 0.5 * (yy == xx) for xx in x for yy in y)
    assert u == pytest.approx(brute)


def test_u_test_is_calibrated_under_the_null():
    rejections = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        x, y = np.round(rng.exponential(1, 60), 1), np.round(rng.exponential(1, 50), 1)
        rejections += mann_whitney_u(x, y)[2] < 0.05
    assert rejections / 300 <= 0.08  # nominal 5%; continuity correction makes it a bit conservative


def test_u_test_sees_a_shift_and_all_ties_give_no_evidence():
    rng = np.random.default_rng(1)
    assert mann_whitney_u(rng.normal(0, 1, 200), rng.normal(0.5, 1, 200))[2] < 1e-3
    assert mann_whitney_u(np.zeros(50), np.zeros(40))[2] == 1.0


@pytest.mark.parametrize("seed", range(3))
def test_beta_bootstrap_matches_plain_resampling(seed):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(-3, 0.6, 800)
    y = rng.lognormal(-3, 0.6, 600) * 1.1
    diff, lo, hi = bootstrap_quantile_diff(x, y, 99, n_boot=4000, seed=seed)
    xs, ys = np.sort(x), np.sort(y)
    plain = [nearest_rank(np.sort(rng.choice(y, len(y))), 99) - nearest_rank(np.sort(rng.choice(x, len(x))), 99)
             for _ in range(1500)]
    plo, phi = np.quantile(plain, [0.025, 0.975])
    width = phi - plo
    assert diff == nearest_rank(ys, 99) - nearest_rank(xs, 99)
    assert abs(lo - plo) < 0.15 * width and abs(hi - phi) < 0.15 * width
    assert bootstrap_quantile_diff(x, y, 99, seed=seed) == bootstrap_quantile_diff(x, y, 99, seed=seed)


def test_two_proportions():
    assert two_proportion_test(10, 1000, 40, 1000)[1] < 1e-4
    assert two_proportion_test(40, 1000, 10, 1000)[1] > 0.99
    assert two_proportion_test(0, 10, 0, 10) == (0.0, 1.0)


def test_too_few_samples_continue_and_bad_alpha_raises():
    assert judge([0.01] * 10, [0.5] * 10).decision == "continue"
    with pytest.raises(ValueError):
        judge([0.01] * 500, [0.01] * 500, alpha=0)


# -- seeded canaries in a fleet -----------------------------------------------------------
def _control(load):
    return NaiveCache(load, ttl=30)


CANARIES = {
    "same": lambda seed: _control,
    "good": lambda seed: (lambda load: SWRCache(load, capacity=5000, ttl=30, stale_ttl=600, rng=random.Random(seed))),
    "double-read": lambda seed: (lambda load: DoubleRead(load, ttl=30)),
    "flaky": lambda seed: (lambda load: Flaky(NaiveCache(load, ttl=30), every=25)),
}


def canary_run(seed: int, kind: str):
    w = Workload(duration=600, rate=20, keys=1500, zipf_s=0.6, seed=seed)
    db = SimulatedDatabase(latency=LogNormal(0.02, 0.5), seed=seed)
    with Rollout(salt=f"s{seed}", stages=(25,)) as flag:
        flag.advance()
        r = Fleet(w, {"control": _control, "canary": CANARIES[kind](seed)}, servers=4, database=db,
                  assign=flag.assign).run()
    return judge_fleet(r, 120.0, 600.0, seed=seed)


@pytest.mark.parametrize("seed", range(4))
def test_good_canary_is_promoted(seed):
    v = canary_run(seed, "good")
    assert v.decision == "promote", v
    assert v.p99_diff_ci[1] <= v.margin


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["double-read", "flaky"])
def test_bad_canary_is_halted(seed, kind):
    v = canary_run(seed, kind)
    assert v.decision == "halt", v
    if kind == "double-read":
        assert v.db_ratio > 1.5 or v.p99_diff_ci[0] > v.margin


def test_identical_canary_false_alarms_are_bounded():
    verdicts = [canary_run(seed, "same") for seed in range(20)]
    halts = sum(v.decision == "halt" for v in verdicts)
    assert halts <= 2, [str(v) for v in verdicts if v.decision == "halt"]
    assert sum(v.decision == "promote" for v in verdicts) >= 5  # measured: 11 of 20 (the rest continue)


def _auto(seed, kind):
    from cachesim.canary import auto_canary

    w = Workload(duration=1800, rate=20, keys=1500, zipf_s=0.6, seed=seed)
    with Rollout(salt=f"a{seed}", stages=(5, 25, 50, 100)) as flag:
        flag.advance()
        events, log = auto_canary(flag, [300, 600, 900, 1200, 1500], window=300, seed=seed, min_samples=100)
        r = Fleet(w, {"control": _control, "canary": CANARIES[kind](seed)}, servers=4, assign=flag.assign,
                  database=SimulatedDatabase(latency=LogNormal(0.02, 0.5), seed=seed), events=events).run()
    return r, flag, log


@pytest.mark.parametrize("seed", range(2))
def test_auto_canary_rolls_back_a_bad_canary_and_advances_a_good_one(seed):
    r, flag, log = _auto(seed, "double-read")
    assert flag.percent == 0 and log[-1][2] == "rollback"
    t_back = log[-1][0]
    assert r.stats(cohort="canary", start=t_back + 1).requests == 0  # everyone on control after it
    r, flag, log = _auto(seed, "good")
    assert [a for _, _, a in log if a != "wait"][:2] == ["advance to 25%", "advance to 50%"]
    assert all(v.decision != "halt" for _, v, _ in log)
