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
# # 06 · It still goes wrong
#
# The change is behind its flag, a quarter of users are on the canary, the dashboards are
# green. Then, in the space of a few minutes, three unrelated things happen: one database
# shard slows to a crawl, an app server stalls while holding its lease, and somebody's
# routine deploy empties every cache. The pager goes off. Somewhere, one user stares at a
# sign-in spinner for more than two minutes — and misses a deadline.
#
# This module replays that incident in virtual time. You will work it from an **incident
# console**, then write to the user, then write the checklist that would make the next one
# shorter. When the pager goes off, the pause you practised in module 03 still applies:
# notice, one slow exhale, name your intention (*"I'm taking this one step at a time"*).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

from coursekit import check, hint, progress, reveal, start
from cache_course.m06_incident import (
    DURATION_MIN,
    MITIGATE_WITHIN_MIN,
    SLO_OBJECTIVE,
    SLO_THRESHOLD,
    VERIFY_MINUTES,
    IncidentConsole,
    IncidentRoleplay,
    ask_about_my_incident,
    my_variant,
    variant_line,
)

start("06_incident")

#: Your variant of the incident: from your name, the same here and when you are graded.
VARIANT = my_variant()
print(variant_line("06_incident", VARIANT))
console = IncidentConsole(seed=VARIANT)

# %% [markdown]
# ## 1 · The page
#
# Here is the incident with nobody acting on it: p99 sign-in latency per cohort (log scale),
# database load, the fleet's events (grey lines: the stalled server, the deploy) and the page
# alert (shaded). The SLO: **99.9% of sign-ins under 500 ms**; the alert is the SRE workbook's
# multiwindow burn-rate page.

# %%
untouched = console.baseline()
print(f"page fired at minute {console.page_minute()}; the longest sign-in took {untouched.worst_wait_s:.0f} s; "
      f"user-minutes over the SLO with nobody acting: {untouched.user_minutes_over_slo}")
console.dashboard(untouched, title="The incident, untouched")

# %% [markdown]
# The canary (red) goes first: its new refresh path makes every stale read wait for its own
# refresh on the slow shard. Then the stalled server holds its users for two and a half
# minutes, and the deploy sends everyone to the slow shard at once.
#
# ## 2 · Verification, in numbers
#
# Before anyone says "resolved", the numbers must say so for a while. A minute is **healthy**
# when at least `SLO_OBJECTIVE` (99.9%) of the sign-ins that started in it finished under
# 500 ms; `run.minute_good[m]` is that share for minute `m`.
#
# Write `healthy_minutes(run, at_minute)`: how many minutes in a row, ending just before
# `at_minute`, were healthy (0 if the last whole minute before it was not). Actions happen at
# minutes like `23.5`: a minute still in progress doesn't count yet.

# %% nbgrader={"grade": false, "grade_id": "verify", "locked": false, "schema_version": 3, "solution": true, "task": false}
def healthy_minutes(run, at_minute):
    ### BEGIN SOLUTION
    n, m = 0, int(at_minute) - 1
    while m >= 0 and run.minute_good[m] >= SLO_OBJECTIVE:
        n, m = n + 1, m - 1
    return n
    ### END SOLUTION


# %%
check("verify")

# %% nbgrader={"grade": true, "grade_id": "test_verify", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("verify"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m06_incident import respond as _q

# about: other variants of the incident, with and without a rollback, at several minutes
_q.assert_verify(healthy_minutes, 5, [(15.0, "rollback", {})], minutes=(5, 14, 25.5, 39.5))
_q.assert_verify(healthy_minutes, 9, (), minutes=(1, 10, 33))
### END HIDDEN TESTS

# %% [markdown]
# ## 3 · Work the incident
#
# The console takes actions at virtual minutes: `console.act(minute, action, **args)`, then
# `console.run()` replays the whole incident with them (deterministic: the same actions give
# the same result everywhere). The actions:
#
# | action | what it does |
# |---|---|
# | `"rollback"` | the flag: everyone back to the old cache |
# | `"prewarm"` (`rate=30`) | load every user's session into the cache that serves them, at `rate` loads a second |
# | `"wait_threshold"` (`seconds=0.1`) | the canary's stale reads wait at most that long |
# | `"hotfix"` | the canary coalesces its refreshes and waits at most 0.1 s |
# | `"investigate"` | start root-causing (it takes your responders' attention) |
# | `"resolve"` | declare the incident resolved |
#
# Write `respond(console)`: it acts on the incident **it is given** (the hidden tests use other
# variants, paged at other minutes):
#
# * nothing before the page (`console.page_minute()`);
# * a mitigation within `MITIGATE_WITHIN_MIN` (5) minutes of the page, **before** you start
#   root-causing — and do root-cause, after;
# * `resolve` only after `VERIFY_MINUTES` (5) healthy minutes in a row (use your
#   `healthy_minutes` on `console.run()`), and not long after.

# %% nbgrader={"grade": false, "grade_id": "respond", "locked": false, "schema_version": 3, "solution": true, "task": false}
def respond(console):
    ### BEGIN SOLUTION
    page = math.ceil(console.page_minute())
    console.act(page + 1, "rollback")  # mitigate first: the flag is the fastest lever we have
    console.act(page + 2, "prewarm", rate=30)  # the rolled-back users' sessions into the old cache
    console.act(page + 5, "investigate")  # root cause once users are out of harm's way
    run = console.run()
    m = page + 2
    while m < DURATION_MIN - 1 and healthy_minutes(run, m) < VERIFY_MINUTES:
        m += 1
    console.act(m, "resolve")
    ### END SOLUTION


# %%
check("respond")

# %% nbgrader={"grade": true, "grade_id": "test_respond", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("respond"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m06_incident import respond as _q

# about: two other variants of the incident, paged at other minutes: mitigate in time and before root-causing, verify before resolving
for _seed in (1, 3):
    _q.assert_response(respond, _seed)
### END HIDDEN TESTS

# %%
console.clear()
respond(console)
record = console.record()
f = record.figures
print(f"paged at minute {f.detected_at_min}, mitigated at {f.mitigated_at_min} "
      f"({f.time_to_mitigate_min} min after the page); healthy for {f.verified_minutes} min before "
      f"'resolved' at minute {f.resolved_at_min}; user-minutes over the SLO: {f.user_minutes_over_slo} "
      f"(untouched: {untouched.user_minutes_over_slo})")
console.dashboard(title="The incident, with your response")

# %% [markdown]
# Your timeline, in UTC — the scribe's job, done by the console. Module 07 starts from it.

# %%
print(record.table())

# %% [markdown]
# ## 4 · The apology
#
# The users are out of harm's way; one of them has written in. Reply to them — then to their
# follow-ups: *what happens to my account now*, *is it fully restored*, *what are you doing
# so this doesn't happen again*. Before each reply the role-play asks you to pause; partway
# through, your chat interrupts. Each reply gets questions back, some of them about **your
# own incident's figures** (a reply saying "fully restored" is checked against your own
# verification).
#
# Run the cell. With widgets: *I've paused*, type, *Send reply*. Without widgets, read the
# messages it prints and write your replies in the answer cells below. If the cell shows
# *model not found* after a kernel restart, run it again.

# %% tags=["nbval-ignore-output"]
roleplay = IncidentRoleplay(record=record)
roleplay

# %% [markdown]
# Your first reply — the apology — as a string (about 180 words at most). With the widget,
# run this cell as it is once you have sent that reply: it writes it here, saved with your
# notebook. A person reads it; `check("apology_message")` asks questions.

# %% nbgrader={"grade": true, "grade_id": "apology_message", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
apology_message = """
### BEGIN SOLUTION
I'm sorry. This morning between about 09:12 and 09:20 UTC, signing in took far too long for you and for
other people, in your case more than two minutes. That was caused by a change we made, not by anything
you did. We switched that change off at 09:18, and sign-in has been quick again since 09:20. Your
account data was not lost or changed. I'll write to you again by 15:00 UTC today, and you can reply
here at any time if something still looks wrong.
### END SOLUTION
"""

# %%
check("apology_message")

# %% [markdown]
# Your three follow-up replies, in order, as a list of strings (about 150 words each at most).
# With the widget, run this cell as it is once the role-play is finished: it writes them here.

# %% nbgrader={"grade": true, "grade_id": "status_replies", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
status_replies = [
    """
### BEGIN SOLUTION
Nothing changes for your account: your data and settings are safe, and you don't need to do anything.
Signing in has been quick again since 09:20 UTC, and we are still watching it closely today. I'll
write to you again by 15:00 UTC, and you can reply here if anything is slow.
### END SOLUTION
""",
    """
### BEGIN SOLUTION
Sign-in has worked normally for you since 09:20 UTC, and we confirmed five quiet minutes in a row
before we closed the incident at 09:25. We are still working out exactly why it happened, so I won't
call everything settled until we know. Your account is unaffected. I'll send you the next update by
15:00 UTC today; reply here if you see another slow sign-in.
### END SOLUTION
""",
    """
### BEGIN SOLUTION
We are changing how we release updates: a small group of people will get each change first, and it
will switch itself off if signing in gets slow for them. We are also testing what happens when one
part of our system is slow, before any change reaches you. Your account is safe. I'll email you a
short summary of these changes by Friday; if anything looks wrong before then, just reply here.
### END SOLUTION
""",
]

# %%
check("status_replies")
ask_about_my_incident([apology_message, *status_replies], record)

# %% [markdown]
# ## 5 · The checklist
#
# Next time should be shorter. Write the incident checklist for this service — the one you
# would want handed to you at 3 a.m. As structured text, one step a line:
#
# * the four roles, each with a **named person**: incident commander, operations,
#   communications, scribe (no "someone", no "the team");
# * every step with its owner and a **time-box or trigger** ("within 10 minutes of the page",
#   "if p99 is still over 500 ms after 10 minutes");
# * **mitigation before root cause**; the **update cadence** in numbers; when you may declare
#   resolved; the **post-mortem's owner and date**.

# %% nbgrader={"grade": true, "grade_id": "incident_checklist", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
incident_checklist = """
### BEGIN SOLUTION
Roles: incident commander: Amara. Operations: Jonas. Communications: Priya. Scribe: Lee.
1. Amara declares the incident and confirms the roles in the channel within 5 minutes of the page.
2. Jonas rolls back the session-cache flag within 10 minutes of the page; if p99 is still over 500 ms after 10 minutes, he pre-warms the sessions.
3. Priya posts the first status update within 15 minutes of the page, then every 30 minutes until resolved, each with the time of the next one.
4. Lee keeps the timeline in the incident doc from the first minute, with UTC times for every action and alert.
5. Jonas starts root-causing only after the rollback, and reports to Amara within 30 minutes.
6. Amara declares resolved only after 5 healthy minutes within the SLO, verified on the dashboard.
7. Post-mortem: Jonas owns it, draft by 2026-11-27, reviewed with Amara on 2026-11-30.
### END SOLUTION
"""

# %%
check("incident_checklist")

# %% [markdown]
# ## Your incident code
#
# Module 07 writes the post-mortem from **your** incident: it asks for this code and replays
# it (the same code gives the same timeline and figures on every machine). Copy the whole line.

# %%
print("Your incident code:", record.code())

# %% [markdown]
# Next: [module 07 · Afterwards](../07_afterwards/07_afterwards.ipynb) — a blameless post-mortem
# from your own incident, the two changes that matter most (measured), and the ask.

# %% tags=["nbval-ignore-output"]
progress()
