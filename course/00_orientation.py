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
# # 00 · Orientation: sharing a draft
#
# You look after the **user-session service**. Every request reads a session from the
# database, and the database is starting to sweat. Over the last few days you wrote a
# caching refactor: an LRU cache in front of the database, a background refresh when an
# entry goes stale, a new cache-key layout, and optimistic locking so two refreshes of the
# same session don't trample each other.
#
# It works, on the happy path. Nobody has seen it yet. Today you share it anyway.

# %% [markdown]
# ## How this course works
#
# Each module is a short story beat and a few small tasks. Every task has an id, and four
# calls work with it:
#
# | call | what it does |
# |---|---|
# | `check("id")` | runs the task's checks now and says what was expected and what came back |
# | `hint("id")` | one hint per call, from a gentle nudge to nearly the answer |
# | `reveal("id")` | the reference answer, once your own answer passes `check` |
# | `progress()` | which tasks of which modules pass so far |
#
# **Grading.** Cells marked *autograder tests* hold the same visible checks plus a few
# hidden tests. Your instructor (nbgrader) or your CI runs them on a fresh kernel, top to
# bottom, with a time limit per cell. Written answers are read by a person; here, `check`
# answers them with questions, never a score.
#
# In an answer cell, replace the line `raise NotImplementedError()` with your code. Work
# top to bottom, one cell at a time (Shift+Enter): *Run All* stops at the first task you
# have not done yet, and that is expected.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
from coursekit import check, hint, progress, reveal, start

start("00_orientation")

# %% [markdown]
# ## Warm-up: try the loop
#
# A session stays valid for **15 minutes** without activity. Set `SESSION_TTL_SECONDS` to
# that many seconds, as an `int`. Then run the test cell below it.

# %% nbgrader={"grade": false, "grade_id": "warmup", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
SESSION_TTL_SECONDS = 15 * 60
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_warmup", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# autograder tests: the visible check, then hidden tests
from coursekit import check

assert check("warmup"), "the visible checks above do not pass yet"
### BEGIN HIDDEN TESTS
from cache_course.m00_orientation import assert_ttl_is_int as _assert_ttl_is_int
from cache_course.m00_orientation import assert_ttl_value as _assert_ttl_value

# about: SESSION_TTL_SECONDS is a whole number of seconds
_assert_ttl_is_int(SESSION_TTL_SECONDS)
# about: SESSION_TTL_SECONDS is fifteen minutes in seconds
_assert_ttl_value(SESSION_TTL_SECONDS)
### END HIDDEN TESTS

# %% [markdown]
# Stuck on a task? Ask for a hint; call it again for the next one. Once `check` passes,
# `reveal` shows the reference answer to compare with yours.

# %%
hint("warmup")

# %%
reveal("warmup")

# %% [markdown]
# ## A pause before you press "send"
#
# Sharing unfinished work has a physical signature. For many engineers it is a clenched
# jaw; for others tight shoulders or a held breath. Find yours: it is your cue.
#
# ```mermaid
# flowchart LR
#   A[cue: jaw tightens] --> B[one slow exhale]
#   B --> C["name it: 'I'm sharing this draft'"]
#   C --> D[then respond]
# ```

# %% [markdown]
# When the cue shows up: one slow breath out, loosen the jaw, and say the intention to
# yourself: *"I'm sharing this draft."* Then write the reply. Five seconds, no ceremony.
# The course asks you to do it again at each review.

# %% [markdown]
# ## Your first draft: the WIP pull request
#
# You open the pull request **"WIP — feedback welcome: caching refactor for the
# user-session service"**. Write its description, a few sentences that tell the reviewer:
#
# 1. what the change does and what is **done**;
# 2. what is **not done** yet (how far do the tests go?);
# 3. which **specific questions** you want the reviewer to answer.
#
# Write inside the triple quotes, replacing the two placeholder lines. A person grades this
# answer; `check("wip_pr")` gives you questions to sharpen it.

# %% nbgrader={"grade": true, "grade_id": "wip_pr", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
wip_pr = """
### BEGIN SOLUTION
Caching refactor for the user-session service, shared early on purpose.

Done: an LRU cache in front of the session table, a background refresh when an entry
goes stale so readers are not blocked, a new cache-key layout (user id plus schema
version), and optimistic locking so two concurrent refreshes of one key cannot both win.

Not done: the tests cover only the happy path. There are no tests yet for two refreshes
racing, for a slow or failing database, or for eviction under load, and I have no
benchmarks of database load or tail latency.

Questions for the reviewer:
1. Are get and put really O(1) in the LRU, including eviction?
2. Can two refreshes of the same key race past the optimistic lock and write an older value?
3. Will the new key layout break any downstream service that reads these keys?
### END SOLUTION
"""

# %%
check("wip_pr")

# %% [markdown]
# That's module 00. Next, in **01 · LRU**, the first reviewer asks whether your cache is
# really O(1), and you find out by building one.

# %% tags=["nbval-ignore-output"]
progress()
