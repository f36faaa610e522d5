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
# # 07 · Afterwards
#
# The morning after. Sign-ins are fast again, the user who waited two minutes has had an
# apology and an answer, and the incident channel has gone quiet. What is left is the part
# that decides whether it happens again: writing down what happened without a villain,
# choosing the two changes that matter most (by measurement, not by mood), and asking for
# the time to make them.
#
# If the jaw tightens at the thought of reading your own incident back: that's the cue. One
# slow exhale. *"I'm sharing what we learned."* Then open the timeline.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
from cache_course.m07_afterwards import (
    MANAGER_CURVEBALL,
    MANAGER_PAUSE,
    MANAGER_ROUNDS,
    REMEDIATION_LABELS,
    REMEDIATIONS,
    ManagerRoleplay,
    load_incident,
    plot_what_if,
    reference_table,
    replay,
    show_postmortem,
    what_if_display,
)
from cache_course.summary import write_summary
from coursekit import check, hint, progress, reveal, start
from coursekit.completion import summary_path
from coursekit.retro import aggregate_retro, retro_form, save_retro

start("07_afterwards")

# %% [markdown]
# ## Your incident
#
# Module 06 ended by printing an **incident code**, a line starting with `INC-`. Paste it
# between the triple quotes below, in place of the two starter lines, and run the cell. No
# code (you skipped module 06, or want the common case)? Delete the starter lines and leave
# the quotes empty: you get the reference incident. The code is the whole record: your
# variant and every action you took, replayed here the same way on every machine, and by
# the grader.

# %% nbgrader={"grade": false, "grade_id": "incident_code", "locked": false, "schema_version": 3, "solution": true, "task": false}
INCIDENT_CODE = """
### BEGIN SOLUTION
### END SOLUTION
"""

# %%
check("incident_code")

# %% nbgrader={"grade": true, "grade_id": "test_incident_code", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("incident_code"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m07_afterwards import incident_code as _q

# about: the code checked again: a whole code module 06 printed, or nothing for the reference incident
_q.assert_incident_code(INCIDENT_CODE)
# about: your incident replays to the same figures every time (what the rest of this notebook is graded on)
_q.assert_incident_replays_the_same(INCIDENT_CODE)
### END HIDDEN TESTS

# %%
INCIDENT, ABOUT = load_incident(INCIDENT_CODE)
print(f"Working with {ABOUT}.")
f = INCIDENT.figures
print(f"{f.user_minutes_over_slo:,} user-minutes over the SLO; page after {f.time_to_detect_min} min; "
      f"first mitigation {f.time_to_mitigate_min} min later; worst sign-in {f.worst_wait_s:g} s.")

# %% [markdown]
# ## 1 · The post-mortem, blameless
#
# Below is the post-mortem with everything the replay knows already filled in: your figures
# and your UTC timeline. Write the four sections that only you can:
#
# * **Impact**, in numbers: user-minutes over the SLO, the worst waits, how long to detect
#   and to mitigate.
# * **Contributing factors**: what in the system and the process made this possible, and
#   how the pieces combined. *What* and *how*, never *who*: "human error" and "careless"
#   are where an investigation stops, not what it finds.
# * **What went well**: what you would keep exactly as it was.
# * **Action items**: each one starts with a verb, is bounded (a date), has **one** owner, a
#   priority and a tracking id, for example
#   `- [SESS-101] P1, owner Dana, due 2026-12-01: Add … so that …`. At least one must
#   *prevent* a repeat, not just shorten it. None of them is "be more careful".
#
# This is the shape the Google SRE book and workbook (postmortem culture) and PagerDuty's
# post-mortem template recommend. About 150–400 words. A person reads it; `check` asks
# questions about it.

# %%
show_postmortem(INCIDENT)

# %% nbgrader={"grade": true, "grade_id": "postmortem", "locked": false, "points": 4, "schema_version": 3, "solution": true, "task": false}
postmortem = """
### BEGIN SOLUTION
Impact: on 24 November from 09:12 to 09:20 UTC, sign-ins on the user-session service were slow: 347
user-minutes over the SLO (99.9% under 500 ms), a worst minute with p99 of 152 s, and one sign-in that took
about 154 s. The page fired 4.67 minutes after the start, and the first mitigation came 1.33 minutes later.

Contributing factors: one database shard became 200x slower, and singleflight made every reader of a hot
session wait behind its one slow refresh, because nothing capped the wait. An app server then paused for 150
s while holding its lease, which meant the keys it owned could not be refreshed elsewhere. A deploy in the
middle emptied every cache, so the slow shard met a cold start at full traffic, with no pre-warm step.

What went well: the burn-rate page fired within five minutes, the rollback and the pre-warm stopped the harm
within three minutes of it, and we waited for five healthy minutes before declaring the incident resolved.

Action items:
- [SESS-701] P1, owner Dana, due 2026-12-01: Pre-warm the sensitive sessions on every deploy, so that no deploy starts cold at full traffic.
- [SESS-702] P1, owner Ravi, due 2026-12-03: Add a 100 ms wait threshold to stale reads, so that no reader waits for a slow refresh.
- [SESS-703] P2, owner Mei, due 2026-12-08: Write the rollback runbook with one named owner for each step, and rehearse it once.
### END SOLUTION
"""

# %%
check("postmortem")

# %% [markdown]
# The whole document, your sections under the replay's figures and timeline:

# %%
show_postmortem(INCIDENT, postmortem)

# %% [markdown]
# ## 2 · What if this had been in place?
#
# Your action items are candidates. Which of them would actually have mattered? The
# simulator can answer that for *your* incident: replay it with one remediation in place and
# keep everything else (your variant, your actions) the same. The five candidates from the
# story:

# %%
for name in REMEDIATIONS:
    print(f"{name:<20} {REMEDIATION_LABELS[name]}")

# %% [markdown]
# `replay(record)` replays an incident as it happened; `replay(record, {name})` with one
# remediation in place. Each returns an incident record whose `.figures` has
# `user_minutes_over_slo`, `db_calls`, `db_peak_qps`, `time_to_detect_min` and
# `time_to_mitigate_min` (among others).
#
# Write `what_if_table(record)`: one dict per remediation, each replayed **on its own**, with
# the keys `remediation`, `user_minutes_avoided` (as it happened minus with the remediation),
# `db_calls`, `db_peak_qps`, `time_to_detect_min` and `time_to_mitigate_min` (those five from
# the replay *with* the remediation), sorted by `user_minutes_avoided`, largest first.

# %% nbgrader={"grade": false, "grade_id": "what_if", "locked": false, "schema_version": 3, "solution": true, "task": false}
def what_if_table(record):
    ### BEGIN SOLUTION
    base = replay(record).figures
    rows = []
    for name in REMEDIATIONS:
        fig = replay(record, {name}).figures
        rows.append({
            "remediation": name,
            "user_minutes_avoided": base.user_minutes_over_slo - fig.user_minutes_over_slo,
            "db_calls": fig.db_calls,
            "db_peak_qps": fig.db_peak_qps,
            "time_to_detect_min": fig.time_to_detect_min,
            "time_to_mitigate_min": fig.time_to_mitigate_min,
        })
    return sorted(rows, key=lambda r: -r["user_minutes_avoided"])
    ### END SOLUTION


# %%
check("what_if")

# %% nbgrader={"grade": true, "grade_id": "test_what_if", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("what_if"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m07_afterwards import what_if as _q

# about: the same table for two other incident variants (a hard-coded table fails)
for _seed in (5, 11):
    _q.assert_what_if_numbers(what_if_table, _seed)
### END HIDDEN TESTS

# %% [markdown]
# Your incident, measured. The first row is the incident as it happened:

# %%
TABLE = what_if_table(INCIDENT)
what_if_display(TABLE, INCIDENT)

# %%
plot_what_if(TABLE, INCIDENT, title="Your incident: what if this had been in place?")

# %% [markdown]
# Read it slowly. Some changes spare users minutes; some cost the database a busier minute
# to do it; some change *when* you find out or how fast you act, not how much harm the fault
# does. The story had opinions about which fixes matter. Your table has numbers.
#
# ## 3 · The two changes that matter most
#
# The team can do two things this week. Pick them **from your table** and say why:
#
# * `TOP_TWO`: two names from `REMEDIATIONS`;
# * `TOP_TWO_WHY`: a few sentences; for each pick, a sentence that names it and quotes one of
#   its figures from your table.
#
# This is graded on consistency with your own measurements, not on one right answer: each
# pick must be first or second in your table on something it measures (user-minutes
# avoided, database calls or peak, time to detect, time to mitigate), and clearly better
# there than the incident as it happened (by 5%, or half a minute); your reasons must quote
# your numbers. The story's favourite fix may not make your top two: that is the point.

# %% nbgrader={"grade": false, "grade_id": "top_two", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
TOP_TWO = ("prewarm_on_deploy", "wait_threshold")
TOP_TWO_WHY = """
Pre-warming on deploy matters most on my incident: it avoids 105 user-minutes over the SLO, the largest row
of the table, even though the database's busiest minute rises to 14.72 queries/s. The wait threshold is
second: it avoids 69 user-minutes and leaves the database's peak at 5.87 queries/s, so it costs nothing
there. Together they attack both halves of the incident: the cold caches and the queue behind one slow
refresh.
"""
### END SOLUTION

# %%
check("top_two")

# %% nbgrader={"grade": true, "grade_id": "test_top_two", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("top_two"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m07_afterwards import top_two as _q

# about: your reasons: for each pick, a sentence that names it and quotes one of its own figures from your table
_q.assert_top_two_why(TOP_TWO, TOP_TWO_WHY, globals().get("INCIDENT_CODE"))
# about: the picks checked again against your incident's table, measured by the course's replay
_q.assert_top_two_measured(TOP_TWO, globals().get("INCIDENT_CODE"))
### END HIDDEN TESTS

# %% [markdown]
# Both together, replayed (the effects of two changes rarely add up exactly: they often
# spare the same users):

# %%
_both = replay(INCIDENT, TOP_TWO).figures
print(f"as it happened : {INCIDENT.figures.user_minutes_over_slo:>4} user-minutes over the SLO, "
      f"mitigated {INCIDENT.figures.time_to_mitigate_min} min after the page")
print(f"with your two  : {_both.user_minutes_over_slo:>4} user-minutes over the SLO, "
      f"mitigated {_both.time_to_mitigate_min} min after the page")

# %% [markdown]
# ## 4 · The ask
#
# Two fixes need two days, and the release is due. You need to ask your manager to pause
# feature work for 48 hours. Here is where the old reflex shows up: explain too much, or
# apologise for needing anything at all. Neither helps your manager decide.
#
# What helps: **the ask and the dates first**; the impact in numbers they can repeat;
# **what slips, and by how long**; options, including deferring, with its risk; an exit you
# can both measure. Framed as permission for the team's best use of two days, not as
# penance. You are asking for time, not forgiveness.
#
# Run the role-play. Before each reply it asks you to pause (notice, exhale, name your
# intention); partway through, a message changes the picture. Pause again. Without widgets,
# it prints the manager's lines: answer them on paper, then write the message the manager
# asks for in the answer cell below. If the cell shows *model not found* after a kernel
# restart, run it again.

# %% tags=["nbval-ignore-output"]
roleplay = ManagerRoleplay(MANAGER_ROUNDS, "manager_replies", MANAGER_PAUSE, curveball=MANAGER_CURVEBALL,
                           rubric="manager_ask", reviewer="Your manager")
roleplay

# %% [markdown]
# The manager's last line asks for one message to forward (about 80–200 words). With the
# widget, run this cell as it is once the role-play is finished: it writes your last reply
# here, saved with your notebook; edit it here if you like. Without it, write it here. A
# person reads it; `check("manager_ask")` asks questions about it, not scores.

# %% nbgrader={"grade": true, "grade_id": "manager_ask", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
manager_ask = """
### BEGIN SOLUTION
Can we pause feature work on the session team for 48 hours, Wednesday 25 and Thursday 26 November, to ship
the two fixes from yesterday's post-mortem? The incident put sign-ins 347 user-minutes over the SLO, and one
user waited about two and a half minutes. If we pause, the export release moves from Thursday to Monday 30
November. The other option is to ship on Thursday and fix it afterwards, but every deploy until then starts
with cold caches, so a repeat is likely and would spend more of the error budget. We're done when the replay
of this incident shows fewer than 50 user-minutes over the SLO and the rollback drill takes under a minute.
Are you okay with that?
### END SOLUTION
"""

# %%
check("manager_ask")

# %% [markdown]
# ## 5 · What you built
#
# Your completion summary: per module, what you built and your own before/after figures,
# as one HTML page you can keep. Modules 00 to 05: each module's measured questions measure
# your own code when their `check` passes (the page names the check; until then 02 and 03
# show the course's bench, labelled as not yours). Modules 06 and 07 come from your incident
# code (module 07 with your two picks replayed). Every figure says where it came from. The
# written answers are listed as written, never scored.
# The page is `completion-summary.html`, beside your progress file (in the repository:
# `.coursekit/completion-summary.html`; the exact path is `summary_path()`).

# %% tags=["nbval-ignore-output"]
page = write_summary(INCIDENT, globals().get("TOP_TWO", ()))
print("Your completion summary is written:" if page else "Could not write the summary here.",
      "completion-summary.html, beside your progress file (summary_path() says where).")

# %% tags=["nbval-ignore-output"]
progress()

# %% [markdown]
# ## Optional · A team retro (workshops)
#
# If you are in a workshop, your facilitator may ask for this. Seven statements about your
# *team* (Edmondson, 1999, team psychological safety), each from 1 (very inaccurate) to 7
# (very accurate). It is **anonymous and ungraded**: only the seven numbers are saved, in a
# file with a random name in the workshop's drop folder, with no name, user or time. The
# facilitator sees only an aggregate, and only once at least five people have answered
# (`aggregate_retro(folder)` returns nothing before that). Skip it freely.

# %% tags=["nbval-ignore-output"]
retro_form()

# %% [markdown]
# ## The end of the story
#
# Your manager reads the message twice, moves the export to Monday, and forwards it upwards
# with one line added: *"Approved. This is the right use of the next two days."* The
# threshold and the pre-warm go out behind the flag on Wednesday; on Thursday the replay
# of your incident comes back inside the SLO.
#
# You started this course by sharing a draft you weren't sure of, with a title that said so.
# Since then you measured before you argued, took a blunt review without going under, ran an
# incident with named owners, wrote down what happened without a villain, and asked for what
# the work needed. The pause came along each time: notice the tension, one slow exhale, name
# the intention, then respond. Keep it. Thank you for working through *Cache Under Pressure*.
