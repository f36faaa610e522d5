"""Telemetry and multiwindow, multi-burn-rate SLO alerts on seeded fleet scenarios."""

from __future__ import annotations

import numpy as np
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cachesim import NaiveCache, SimulatedDatabase, Workload, error_rate, slowdown
from cachesim.fleet import Fleet
from cachesim.slo import (SLO, bucket_counts, evaluate, evaluate_counts, precision_recall, synthetic_counts,
                          workbook_rules)
from cachesim.telemetry import Telemetry

from shipping_helpers import PassThrough

SLO_999 = SLO(objective=0.999, threshold=0.2)
#: 10% bad reads burn a 0.1% budget 100x; the 1 h window passes 14.4x after 14.4/100 h = 8.64 min.
DETECTION_BOUND = 600.0


def scenario(seed, faults=(), duration=7200.0, rate=3.0, scrape=60.0):
    tel = Telemetry(slo_threshold=0.2, scrape_interval=scrape)
    db = SimulatedDatabase(latency=0.02, faults=list(faults), seed=seed)
    r = Fleet(Workload(duration=duration, rate=rate, keys=500, seed=seed), PassThrough, servers=4,
              database=db, observers=[tel]).run()
    return r, tel


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_real_incident_pages_within_the_detection_bound_and_resolves(seed):
    _, tel = scenario(seed, [error_rate(1800, 1200, 0.10)])
    tl = evaluate(tel.request_times, tel.request_good, SLO_999)
    d = tl.detection_time(1800.0, "page")
    assert d is not None and 300.0 <= d <= DETECTION_BOUND, str(tl)
    first = tl.first("page", 1800.0)
    assert first.rule == "page-1h-5m"
    assert first.resolved_at is not None and first.resolved_at <= 3000.0 + 300.0 + 10.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_brief_blip_stays_quiet(seed):
    _, tel = scenario(seed, [error_rate(3600, 30, 1.0)])
    assert (~tel.request_good).sum() > 50  # the blip happened
    tl = evaluate(tel.request_times, tel.request_good, SLO_999)
    assert tl.fired("page") == [] and tl.fired("ticket") == []


CASES = [  # (faults, should page)
    ([error_rate(1800, 1200, 0.10)], True),
    ([error_rate(2400, 600, 0.30)], True),
    ([error_rate(3000, 300, 1.0)], True),
    ([slowdown(1800, 900, 20)], True),  # 400 ms reads: over the 200 ms threshold
    ([error_rate(1200, 1800, 0.05)], True),
    ([], False),
    ([error_rate(3600, 30, 1.0)], False),
    ([slowdown(3600, 40, 20)], False),  # a full outage pages after 0.0144 h = 52 s; 40 s does not
    ([error_rate(0, 7200, 0.0005)], False),  # burning at 0.5: within budget
    ([error_rate(1800, 1200, 0.01)], False),  # burn 10 for 20 min: 0.5% of the month's budget
]


def test_precision_and_recall_over_seeded_scenarios():
    outcomes = []
    for i, (faults, should) in enumerate(CASES):
        _, tel = scenario(100 + i, faults, rate=2.0)
        tl = evaluate(tel.request_times, tel.request_good, SLO_999)
        start = min((f.at for f in faults), default=0.0)
        outcomes.append((should, bool(tl.fired("page", start))))
    precision, recall = precision_recall(outcomes)
    assert precision >= 0.9 and recall >= 0.9, outcomes


@pytest.mark.parametrize("seed", [3, 4])
def test_coarse_scraped_counts_agree_with_the_exact_mode(seed):
    _, tel = scenario(seed, [error_rate(1800, 1200, 0.10)])
    exact = evaluate(tel.request_times, tel.request_good, SLO_999, step=10.0)
    scraped = evaluate_counts(*tel.scraped_counts(), SLO_999)
    bucketed = evaluate_counts(*bucket_counts(tel.request_times, tel.request_good, 60.0, 7200.0), SLO_999)
    for coarse in (scraped, bucketed):
        a, b = exact.first("page"), coarse.first("page")
        assert a is not None and b is not None and a.rule == b.rule
        assert abs(a.fired_at - b.fired_at) <= 2 * 60.0
        assert abs(a.resolved_at - b.resolved_at) <= 2 * 60.0


def test_synthetic_coarse_model_matches_a_simulated_incident():
    _, tel = scenario(7, [error_rate(1800, 1200, 0.10)])
    exact = evaluate(tel.request_times, tel.request_good, SLO_999).detection_time(1800.0)
    model = [evaluate_counts(*synthetic_counts(7200, 3.0, 60.0, lambda t: 0.10 if 1800 <= t < 3000 else 0.0, seed=s),
                             SLO_999).detection_time(1800.0) for s in range(5)]
    assert all(m is not None and abs(m - exact) <= 120.0 for m in model), (exact, model)


def test_slow_burn_over_days_opens_a_ticket_not_a_page():
    # 0.4% bad from day 1 burns the 0.1% budget 4x: too slow to page, the 3 d / 6 h ticket
    # catches it once the 3-day window passes 1x (after 18 h).
    counts = synthetic_counts(5 * 86400, 2.0, 300.0, lambda t: 0.004 if t >= 86400 else 0.0, seed=1)
    tl = evaluate_counts(*counts, SLO_999)
    assert tl.fired("page") == []
    d = tl.detection_time(86400.0, "ticket")
    assert d is not None and 15 * 3600 <= d <= 21 * 3600


@pytest.mark.parametrize("seed", [0, 1])
def test_scaled_windows_scale_the_detection_time(seed):
    k = 12.0  # one workbook hour per five simulated minutes
    _, tel = scenario(seed, [error_rate(1800 / k, 1200 / k, 0.10)], duration=7200 / k, rate=3.0 * k, scrape=60 / k)
    tl = evaluate(tel.request_times, tel.request_good, SLO_999, workbook_rules(scale=k), step=10.0 / k)
    d = tl.detection_time(1800 / k)
    assert d is not None and 300.0 / k <= d <= DETECTION_BOUND / k


def test_telemetry_counts_match_the_run_and_registries_are_private():
    r, tel = scenario(9, [error_rate(600, 300, 0.2)], duration=1800)
    assert tel.value("session_reads_total") == r.requests
    assert tel.value("session_read_errors_total") == r.errors.sum()
    assert tel.value("session_db_calls_total") == len(r.db_times)
    good_exact = int(((~r.errors) & (r.latencies <= 0.2)).sum())
    assert tel.snapshot()["good"] == good_exact == tel.request_good.sum()
    families = {f.name: f for f in text_string_to_metric_families(tel.exposition())}
    assert {"session_read_latency_seconds", "session_reads", "session_db_calls"} <= set(families)
    assert any(s.labels.get("le") == "0.2" for s in families["session_read_latency_seconds"].samples)
    assert prometheus_client.REGISTRY.get_sample_value("session_reads_total") is None
    other = Telemetry()
    assert other.value("session_reads_total") == 0.0
    per_scrape = tel.scraped_counts()[2]
    assert per_scrape.sum() == r.requests


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        SLO(objective=1.0)
    with pytest.raises(ValueError):
        workbook_rules(scale=0)
    with pytest.raises(ValueError):
        evaluate([1.0, 2.0], [True], SLO_999)
    with pytest.raises(ValueError):
        Telemetry(slo_threshold=0)


def test_exposition_is_the_same_on_every_run():
    texts = [scenario(11, [error_rate(300, 120, 0.3)], duration=900)[1].exposition() for _ in range(2)]
    assert texts[0] == texts[1] and "_created" not in texts[0]
    assert 'session_read_errors_total{cohort="control",server="0"}' in texts[0]
