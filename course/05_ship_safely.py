# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (Cache Under Pressure)
#     language: python
#     name: cache-under-pressure
# ---

# %% [markdown]
# # 05 · Ship it safely
#
# The review threads are resolved. The threshold, the refresh slots, the breaker and the
# priority gate are in; the benchmarks are in the PR. Now the change has to reach real
# users, and that's a different kind of risk: not "is the code right?" but "what happens
# to people if it isn't?"
#
# The plan you and the reviewers agreed on: put the new cache **behind a feature flag**,
# give it to a small **canary** of users first and let a judgement compare them with
# everyone else, **pre-warm** the critical users' sessions when a deploy empties the
# caches, and **watch** it with metrics and SLO alerts that wake someone only when it
# matters.
#
# Before you press the button, the familiar cue may show up: jaw, breath. One slow exhale.
# *"I'm sharing this change."* A staged rollout is that sentence in engineering form: you
# show the change to a few users, watch, and keep the way back short.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import hashlib

import numpy as np
from cachesim.canary import bootstrap_quantile_diff, mann_whitney_u, two_proportion_test
from cachesim.prewarm import Prewarm
from cachesim.results import nearest_rank
from cachesim.rollout import Rollout
from cachesim.shipping_plots import plot_dashboard
from cachesim.slo import BurnRateRule, evaluate
from coursekit import check, hint, progress, reveal, start
from cache_course.m05_ship_safely import (
    ALERT_SCENARIOS,
    SLO_999,
    alert_table,
    canary_run,
    canary_samples,
    critical_keys,
    deploy_scenario,
    plot_prewarm,
    require_finished,
    rollout_users,
    run_deploy,
    staged_rollout,
    telemetry_run,
)
from cache_course.variants import learner_seed, variant_line

start("05_ship_safely")
SEED = learner_seed("05_ship_safely", reference=7)  # your variant: from your name, the same when graded
print(variant_line("05_ship_safely", SEED))

# %% [markdown]
# ## 1 · A flag with sticky buckets
#
# A percentage rollout gives the new cache to 1% of users, then 5%, 25%, 100%. Two
# properties make it safe:
#
# * **sticky**: a user who got the new cache at 5% still has it at 25%. Users only ever
#   *join*; nobody flips back and forth between two caches (and two behaviours) on every
#   request;
# * **the same everywhere**: every app server, every restart, puts a user in the same
#   cohort, so the bucket must come from a hash that is stable across processes.
#
# Write `bucket_of(flag_key, user)`: an `int` in `[0, 10000)` from a stable hash of the
# flag key and the user id; and `in_rollout(flag_key, user, percent)`: `True` when the
# user's bucket is below `percent * 100`.

# %% nbgrader={"grade": false, "grade_id": "bucketing", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bucket_of(flag_key, user):
    ### BEGIN SOLUTION
    digest = hashlib.sha256(f"{flag_key}:{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000
    ### END SOLUTION


def in_rollout(flag_key, user, percent):
    ### BEGIN SOLUTION
    return bucket_of(flag_key, user) < percent * 100
    ### END SOLUTION


# %%
check("bucketing")

# %% nbgrader={"grade": true, "grade_id": "test_bucketing", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("bucketing"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m05_ship_safely import bucketing as _q

# about: other users (two other seeds): buckets in range, stable and even; the right share at each stage; sticky as it grows; independent flags
for _seed in (2, 3):
    _q.assert_buckets(bucket_of, _seed)
    _q.assert_rollout_fraction(in_rollout, _seed, percents=(2, 10, 33, 75))
    _q.assert_sticky(in_rollout, _seed, stages=(0, 2, 10, 33, 75, 100))
    _q.assert_flags_independent(in_rollout, _seed)
# about: a bucket that does not come from Python's per-process hash()
_q.assert_no_process_hash(bucket_of)
### END HIDDEN TESTS

# %% [markdown]
# The course's simulator does the same through **OpenFeature**, the CNCF's vendor-neutral
# flag API (`cachesim.rollout.Rollout`, an in-memory provider): the call site
# `client.get_string_value("new-session-cache", "control", context)` stays the same when
# production swaps in a real flag service. Your buckets and its buckets are different
# hashes, but both keep their users as the rollout grows:

# %%
require_finished(bucket_of, in_rollout)
users = rollout_users(7, 3000)
rows = []
with Rollout("new-session-cache", stages=(1, 5, 25, 100)) as flag:
    before = set()
    for _ in flag.stages:
        flag.advance()
        theirs = {u for u in users if flag.in_rollout(u)}
        mine = {u for u in users if in_rollout("new-session-cache", u, flag.percent)}
        rows.append(f"{flag.percent:>5.0f}%  OpenFeature: {len(theirs):>4} users ({len(before - theirs)} left)   "
                    f"yours: {len(mine):>4} users")
        before = theirs
print("\n".join(rows))

# %% [markdown]
# ## 2 · The canary and its judge
#
# With 25% of users on the new cache and 75% on the old one, both cohorts live through
# **the same simulated minutes**: the same database, the same hot users, the same bad
# luck. That's what makes the comparison fair. Here is one canary that reads the old and
# the new key schema on every miss (a migration shortcut someone thought was harmless):

# %%
slow = canary_run("slow", SEED)
plot_dashboard(slow, bucket=30, title=f"25% canary that double-reads on every miss (seed {SEED})")

# %% [markdown]
# Staring at graphs doesn't scale, and it invites wishful thinking at 6 p.m. on a Friday.
# Write the **automatic judgement** `judge_canary(control, canary)` that returns
# `"promote"`, `"halt"` or `"continue"`. Each argument is a `CohortSample` over the same
# minutes: `.latencies` (seconds), `.errors` (bools), `.db_calls`, `.requests`. With
# `alpha = 0.05`:
#
# * fewer than 200 requests in either cohort → `"continue"` (too little evidence);
# * **halt** if the canary is *slower* — Mann–Whitney `p < alpha/2` **and** the lower bound
#   of the bootstrap interval of the p99 difference (canary − control, at `ci = 1 − alpha`)
#   is above the margin `max(5 ms, 10% of the control's p99)`;
# * **halt** if it has *more errors* — two-proportion `p < alpha/2` and the error rates
#   differ by more than 0.2 percentage points;
# * **halt** if it makes more than **1.5×** the database calls per request;
# * otherwise **promote** if the interval's upper bound is within the margin and the
#   canary's error rate is at most 0.2 points above the control's; else **continue**.
#
# The statistics are imported for you: `mann_whitney_u(x, y)` → `(U, z, p)` (one-sided:
# is `y` larger?), `bootstrap_quantile_diff(x, y, 99, ci=..., seed=0)` → `(observed, low,
# high)` of `p99(y) − p99(x)`, `two_proportion_test(k1, n1, k2, n2)` → `(z, p)`.
# Why both tests for latency: the cohorts are different *users*, so the U test alone
# notices their different mix even when the code is identical; the interval on the tail
# says whether the difference matters.

# %% nbgrader={"grade": false, "grade_id": "canary_judge", "locked": false, "schema_version": 3, "solution": true, "task": false}
def judge_canary(control, canary, *, alpha=0.05):
    ### BEGIN SOLUTION
    if min(control.requests, canary.requests) < 200:
        return "continue"
    a = alpha / 2
    _, _, p_latency = mann_whitney_u(control.latencies, canary.latencies)
    _, low, high = bootstrap_quantile_diff(control.latencies, canary.latencies, 99, ci=1 - alpha, seed=0)
    margin = max(0.005, 0.1 * nearest_rank(np.sort(control.latencies), 99))
    k1, n1 = int(control.errors.sum()), control.requests
    k2, n2 = int(canary.errors.sum()), canary.requests
    _, p_errors = two_proportion_test(k1, n1, k2, n2)
    more_errors = k2 / n2 - k1 / n1
    per_control, per_canary = control.db_calls / n1, canary.db_calls / n2
    db_ratio = per_canary / per_control if per_control else 1.0
    if p_latency < a and low > margin:
        return "halt"
    if p_errors < a and more_errors > 0.002:
        return "halt"
    if db_ratio > 1.5:
        return "halt"
    if high <= margin and more_errors <= 0.002:
        return "promote"
    return "continue"
    ### END SOLUTION


# %%
check("canary_judge")

# %% nbgrader={"grade": true, "grade_id": "test_canary_judge", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("canary_judge"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m05_ship_safely import judge as _q

# about: seeded canaries on two other seeds: good promoted; slow, erroring and database-heavy halted; identical not halted
for _seed in (9, 21):
    _q.assert_judge_decisions(judge_canary, _seed)
# about: too few requests on another seed: the judgement waits
_q.assert_judge_too_few(judge_canary, 2)
# about: your own judgement, not the library's
_q.assert_judge_own(judge_canary)
### END HIDDEN TESTS

# %% [markdown]
# Your judge on five kinds of canary, two seeds each (the canary is the new cache on 25% of
# users, judged on minutes 2–10):

# %%
require_finished(judge_canary)
rows = []
for kind in ("identical", "good", "slow", "flaky", "chatty"):
    decisions = [judge_canary(*canary_samples(kind, seed)) for seed in (SEED, SEED + 1)]
    rows.append(f"{kind:<10} {decisions}")
print("\n".join(rows))

# %% [markdown]
# Now let it drive a real rollout: stages 5% → 25% → 50% → 100%, a judgement every 150
# simulated seconds on the current stage's requests; promote advances, halt turns the flag
# to 0%. A good canary, then a slow one:

# %%
rows = []
for kind in ("good", "slow"):
    run, log = staged_rollout(judge_canary, kind, seed=SEED)
    rows.append(f"{kind} canary: " + "; ".join(f"{t:.0f} s {d} -> {a}" for t, d, a, _ in log))
print("\n".join(rows))
plot_dashboard(run, bucket=30, title="Staged rollout of the slow canary: halted, everyone back on control")

# %% [markdown]
# ## 3 · Pre-warm on deploy, within the database's headroom
#
# A deploy restarts the servers with empty caches. Every critical user's next read is a
# cold database load, just when the database is busiest with everyone else's misses.
# Pre-warming the critical users' sessions fixes that, but loading them all at once is
# itself a stampede: the DBA gives you a **headroom** (queries per second the pre-warm may
# add), and the new version should take traffic within `ready_within` seconds.
#
# Write `prewarm_plan(keys, headroom_qps, ready_within)` returning a `Prewarm(keys,
# rate=..., burst=..., gate=...)`. The token bucket starts full: it allows `burst` loads at
# once, then `rate` a second. `gate=True` is a readiness gate: the old caches keep serving
# until the new ones are warm. Graded on the deploy scenario of several seeds (each with
# its own headroom and number of critical users): the pre-warm's own peak within the
# headroom, ready in time, critical users' cold-start p99 at most a third of what it is
# without pre-warm.

# %%
rows = []
for seed in (0, 1):
    sc, keys = deploy_scenario(seed), critical_keys(seed)
    rows.append(f"seed {seed}: {len(keys)} critical users, headroom {sc['headroom']:g} q/s, ready within "
                f"{sc['ready_within']:g} s; without pre-warm: {run_deploy(None, seed)}")
print("\n".join(rows))

# %% nbgrader={"grade": false, "grade_id": "prewarm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def prewarm_plan(keys, headroom_qps, ready_within):
    ### BEGIN SOLUTION
    burst = 1
    rate = headroom_qps - burst  # the first second holds the burst and the rate
    if len(keys) / rate > ready_within:
        raise ValueError(f"{len(keys)} keys can't be warmed in {ready_within} s within {headroom_qps} q/s")
    return Prewarm(list(keys), rate=rate, burst=burst, gate=True)
    ### END SOLUTION


# %%
check("prewarm")

# %% nbgrader={"grade": true, "grade_id": "test_prewarm", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("prewarm"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m05_ship_safely import prewarm as _q

# about: the deploy on three other seeds (other headrooms and numbers of critical users): load within the headroom, ready in time, cold-start p99 down
for _seed in (1, 2, 4):
    _q.assert_prewarm(prewarm_plan, _seed)
### END HIDDEN TESTS

# %%
require_finished(prewarm_plan)
sc = deploy_scenario(0)
before = run_deploy(None, 0)
after = run_deploy(prewarm_plan(critical_keys(0), sc["headroom"], sc["ready_within"]), 0)
print(f"without pre-warm: {before}\nwith your plan:   {after}")
plot_prewarm(before, after, sc["headroom"])

# %% [markdown]
# Every critical user's first read after the deploy is now a hit. The pre-warm stays under
# its headroom for two or three seconds while the old caches keep serving; the ordinary
# users' misses begin only when the warm caches take over. Loading the critical keys all at
# once would have landed on top of those misses.

# %% [markdown]
# ## 4 · Metrics, as Prometheus sees them
#
# The fleet now feeds real `prometheus_client` metrics (on a private registry, in virtual
# time): a latency histogram of successful reads, counters of reads and errors per server,
# database calls. This is the text a Prometheus server scrapes from `/metrics`. Here is a
# 20-minute run in which the database fails 8% of reads for four minutes:

# %%
from cachesim import error_rate

_, tel = telemetry_run(1, faults=[error_rate(at=600, duration=240, rate=0.08)], duration=1200.0)
text = tel.exposition()
print("\n".join(line for line in text.splitlines() if "le=\"0.2\"" in line or line.startswith("session_reads")
                or line.startswith("# TYPE")))

# %% [markdown]
# The SLO below counts a read as **good** when it succeeded within 200 ms: the histogram
# bucket `le="0.2"`. Write `good_ratio(text)`: good reads divided by all reads
# (`session_reads_total`), each summed over every cohort and server, parsed from the
# exposition text.

# %% nbgrader={"grade": false, "grade_id": "exposition", "locked": false, "schema_version": 3, "solution": true, "task": false}
def good_ratio(text):
    ### BEGIN SOLUTION
    good = reads = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, value = line.rsplit(" ", 1)
        if name_labels.startswith("session_read_latency_seconds_bucket{") and 'le="0.2"' in name_labels:
            good += float(value)
        elif name_labels.startswith("session_reads_total{"):
            reads += float(value)
    return good / reads
    ### END SOLUTION


# %%
check("exposition")

# %% nbgrader={"grade": true, "grade_id": "test_exposition", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("exposition"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m05_ship_safely import alerts as _q

# about: the exposition of two other runs with other error rates
for _seed in (2, 3):
    _q.assert_exposition(good_ratio, _seed)
### END HIDDEN TESTS

# %% [markdown]
# ## 5 · SLO alerts that wake the right person
#
# The SLO: **99.9% of session reads succeed within 200 ms** over 30 days, an error budget
# of 0.1%. A window's **burn rate** is its bad fraction divided by the budget: burning at 1
# spends the budget in exactly 30 days, at 14.4 it spends 2% of it in an hour.
#
# Google's SRE workbook alerts on burn rate with **two windows per rule**: a long one that
# decides (is this costing real budget?) and a short one, a twelfth as long, that lets the
# alert resolve soon after the problem stops. A rule fires while *both* windows burn faster
# than its threshold. Write `alert_rules()`: a list of `BurnRateRule(name, severity,
# long_window, short_window, burn_rate)` (windows in seconds) with two **page** rules and
# one **ticket** rule.
#
# Graded on seeded traffic (5 reads a second, hours to days of it, evaluated on 30-second
# buckets — the coarse mode that `cachesim.slo` checks against the exact one):

# %%
rows = []
for s in ALERT_SCENARIOS:
    within = "" if not s.within else f" within {s.within / 3600:g} h" if s.within >= 7200 else f" within {s.within / 60:g} min"
    rows.append(f"{s.name:<26} over {s.duration / 3600:g} h: {s.expect}{within}")
print("\n".join(rows))

# %% nbgrader={"grade": false, "grade_id": "slo_alerts", "locked": false, "schema_version": 3, "solution": true, "task": false}
HOUR, DAY = 3600, 86400


def alert_rules():
    ### BEGIN SOLUTION
    return [
        BurnRateRule("page-1h-5m", "page", 1 * HOUR, 5 * 60, 14.4),
        BurnRateRule("page-6h-30m", "page", 6 * HOUR, 30 * 60, 6.0),
        BurnRateRule("ticket-3d-6h", "ticket", 3 * DAY, 6 * HOUR, 1.0),
    ]
    ### END SOLUTION


# %%
check("slo_alerts")

# %% nbgrader={"grade": true, "grade_id": "test_slo_alerts", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("slo_alerts"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m05_ship_safely import alerts as _q

# about: the scenarios on two other seeds (incidents shifted, other noise): every incident detected in time, every blip quiet
for _seed in (5, 6):
    _q.assert_alert_scenarios(alert_rules, _seed)
# about: your own rules, well formed
_q.assert_rules_own(alert_rules)
### END HIDDEN TESTS

# %% [markdown]
# Your rules beside the alert many teams start with, "error rate over 1% for 5 minutes"
# (one window, burn 10). Precision: of the pages, how many were real; recall: of the real
# incidents, how many paged.

# %%
require_finished(alert_rules)
naive = [BurnRateRule("5m error rate > 1%", "page", 300, 300, 10.0)]
print(alert_table({"your rules": alert_rules(), "5-minute error rate": naive}, seed=0))

# %% [markdown]
# The single window pages fast, but on every blip, and it pages a slow leak that a ticket
# would handle; the two-window rules page on what costs budget and sleep through the rest.
# And on the exact per-request record of a two-hour run with a 20-minute, 10% error incident:

# %%
require_finished(alert_rules)
run, tel = telemetry_run(1, faults=[error_rate(at=1800, duration=1200, rate=0.10)])
exact = evaluate(tel.request_times, tel.request_good, SLO_999, alert_rules())
print(f"{exact}\npaged {exact.detection_time(1800.0) / 60:.1f} minutes after the incident began")
plot_dashboard(run, bucket=60, alerts=exact, threshold=0.2, title="10% errors from 30 to 50 min: the page (shaded)")

# %% [markdown]
# ## 6 · The rollout note
#
# Last step before the button: tell the team. A short note in the channel that the person
# on call can act on without asking you anything: **what is behind the flag**, the
# **canary stages** (percentages, how long, what moves a stage on), **who watches what**
# (a name or a role, and which dashboard or alert), and the **rollback trigger** (the
# number or alert, and who turns the flag off).
#
# The cue may come back here, more than at the code: a note puts your name on the change.
# Exhale, *"I'm sharing this change"*, and write it for them, not as a defence in advance.
# About 60–200 words. A person reads it; `check("rollout_note")` asks questions about it.

# %% nbgrader={"grade": true, "grade_id": "rollout_note", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
rollout_note = """
### BEGIN SOLUTION
Heads-up: the new session cache goes out today behind the OpenFeature flag new-session-cache.
Behind the flag: the 100 ms wait threshold, per-key refresh limits, the breaker and pre-warm of
critical users' sessions on deploy. Stages: 5% of users for an hour, then 25% for two hours,
50% overnight, then 100% tomorrow; each stage moves on only when the canary judge says promote.
Priya is on call and watches the canary dashboard (p99, error rate and database load per cohort).
I watch the SLO burn-rate alerts and the support queue until 100%.
Rollback: if the judge says halt, the page fires, or canary p99 is more than 10 ms above control,
Priya sets the flag to 0% straight away and posts here; no need to reach me first.
### END SOLUTION
"""

# %%
check("rollout_note")

# %% [markdown]
# The figures of this module, from your own code: the judge's decisions per canary and
# seed (section 2), critical users' cold-start p99 before and after pre-warm with the
# database's peak (section 3), the page's detection time and the precision/recall table
# (section 5).
#
# The change is out behind a flag, watched, with a short way back. It still goes wrong:
# in **[06 · It still goes wrong](../06_incident/06_incident.ipynb)** a user waits two
# minutes to reach their account, and you roll back, pre-warm, and write to them.

# %% tags=["nbval-ignore-output"]
progress()
