"""Rollout: OpenFeature flag, sticky bucketing, stages, isolation, the flag choosing the cache."""

from __future__ import annotations

import math

import numpy as np
import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext

from cachesim import NaiveCache, SimulatedDatabase, Workload
from cachesim.fleet import Fleet
from cachesim.rollout import BUCKETS, Rollout, bucket_of

USERS = [f"user:{i}" for i in range(20_000)]


@pytest.mark.parametrize("salt", ["a", "b", "c"])
def test_buckets_are_uniform_enough(salt):
    b = np.array([bucket_of("flag", u, salt) for u in USERS])
    counts = np.histogram(b, bins=10, range=(0, BUCKETS))[0]
    expected = len(USERS) / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 27.9  # chi-square, 9 degrees of freedom, p = 0.001


@pytest.mark.parametrize("salt", ["x", "y", "z"])
def test_percentages_are_served_and_users_only_join(salt):
    with Rollout("new-cache", stages=(1, 5, 25, 100), salt=salt) as flag:
        previous: set[str] = set()
        for stage in flag.stages:
            assert flag.advance() == stage
            inside = {u for u in USERS[:4000] if flag.in_rollout(u)}
            p = stage / 100
            sd = math.sqrt(4000 * p * (1 - p))
            assert abs(len(inside) - 4000 * p) <= 4 * sd + 1
            assert previous <= inside  # sticky: nobody leaves as the percentage grows
            previous = inside
        flag.rollback()
        assert not any(flag.in_rollout(u) for u in USERS[:500])


def test_evaluations_go_through_openfeature_and_do_not_leak():
    with Rollout("f", percent=100) as on, Rollout("f", percent=0) as off:
        assert on.domain != off.domain
        c_on, c_off = api.get_client(domain=on.domain), api.get_client(domain=off.domain)
        ctx = EvaluationContext(targeting_key="user:1")
        assert c_on.get_string_value("f", "dflt", ctx) == "canary"
        assert c_off.get_string_value("f", "dflt", ctx) == "control"
        details = c_on.get_string_details("f", "dflt", ctx)
        assert details.variant == "on"
        assert api.get_client().get_string_value("f", "dflt", ctx) == "dflt"  # global default untouched
    assert c_on.get_string_value("f", "dflt", ctx) == "dflt"  # restored after the with-block


def test_restores_a_provider_that_was_there_before():
    outer = Rollout("g", percent=100, domain="shared-domain")
    with outer:
        with Rollout("g", percent=0, domain="shared-domain"):
            assert api.get_client(domain="shared-domain").get_string_value(
                "g", "d", EvaluationContext(targeting_key="u")) == "control"
        assert api.get_client(domain="shared-domain").get_string_value(
            "g", "d", EvaluationContext(targeting_key="u")) == "canary"


def test_bad_stages_are_refused():
    with pytest.raises(ValueError):
        Rollout(stages=(5, 1))
    with pytest.raises(ValueError):
        Rollout(stages=(1, 200))
    with pytest.raises(ValueError):
        Rollout().set_percent(-1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_flag_chooses_the_cache_in_a_fleet(seed):
    w = Workload(duration=400, rate=30, keys=3000, zipf_s=0.6, seed=seed)
    factories = {"control": lambda load: NaiveCache(load, ttl=60), "canary": lambda load: NaiveCache(load, ttl=60)}
    with Rollout(salt=str(seed), stages=(5, 25)) as flag:
        r = Fleet(w, factories, servers=3, database=SimulatedDatabase(latency=0.01, seed=seed), assign=flag.assign,
                  events=flag.schedule([0.0, 200.0])).run()
        for start, end, pct in ((0.0, 200.0, 5), (200.0, 400.0, 25)):
            m = r.mask(start=start, end=end)
            users = np.unique(r.keys[m])
            inside = {k for k in users if bucket_of(flag.flag_key, r.key_names[k], flag.salt) < pct * 100}
            for k in users[:300]:
                cohorts = np.unique(r.cohort[m & (r.keys == k)])
                assert len(cohorts) == 1  # one cohort per user per stage
                assert (cohorts[0] == 1) == (k in inside)
        assert flag.evaluations <= 2 * len(np.unique(r.keys)) + 10  # memoised per user and stage
    assert r.stats(cohort="canary").requests > 0
