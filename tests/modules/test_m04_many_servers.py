"""Module 04 (many app servers): the autograder test cells accept the reference and reject
wrong answers, each costing only its own question. Wrong answers are the reference answer with
one deliberate mistake edited in, so they stay in step with the course source.

"wrong" answers fail the whole test cell; "beyond" answers pass the visible `check` and are
caught only by the hidden tests. Questions on the real Redis use the embedded server
(``swrcache.redis.server``), or ``$REDIS_URL``.
"""

from __future__ import annotations

import pytest
from modules_harness import code_cells, edited_answer, reference_answer, run_question

# each case executes the module's cells in-process (a second or two): not for `make test-fast`
pytestmark = pytest.mark.slow

MODULE = "04_many_servers"
QUESTIONS = ["lost_update", "watch_cas", "lua_cas", "key_schema", "fencing", "many_servers"]


def reference(question: str) -> str:
    return reference_answer(MODULE, question)


def edit(question: str, *pairs: tuple[str, str]) -> str:
    return edited_answer(MODULE, question, *pairs)


WRONG = {
    # 1 · in process
    "cas-ignores-version": ("lost_update", lambda: edit(
        "lost_update", ("        if version != expected_version:\n            return False\n", ""))),
    "update-no-retry": ("lost_update", lambda: edit(
        "lost_update", ("        retries += 1  # someone wrote first", "        return retries  # someone wrote first"))),
    "update-plain-set": ("lost_update", lambda: edit(
        "lost_update", ("        if await store.compare_and_set(key, version, new):\n            return retries",
                        "        await store.set(key, new)\n        return retries"))),
    # the shared-store model kept in an attribute: the own-work helper is in check_cas_semantics
    "store-wraps-model": ("lost_update", lambda: edit(
        "lost_update", ("    \"\"\"SharedDict with a version compare-and-set.\"\"\"\n",
                        "    \"\"\"SharedDict with a version compare-and-set.\"\"\"\n\n"
                        "    def __init__(self, latency=0.001):\n        super().__init__(latency)\n"
                        "        from cachesim.shared_store import SharedStoreModel\n"
                        "        self.model = SharedStoreModel()  # the versions, done for us\n"))),
    # 2 · WATCH
    "watch-missing": ("watch_cas", lambda: edit(
        "watch_cas", ("                await pipe.watch(key)  # from here, any change to key makes EXEC fail\n"
                      "                raw, version = await pipe.hmget(key, \"value\", \"version\")",
                      "                raw, version = await r.hmget(key, \"value\", \"version\")"))),
    "watch-no-version-bump": ("watch_cas", lambda: edit(
        "watch_cas", ("\"version\": int(version or 0) + 1}", "\"version\": int(version or 0)}"))),
    # 3 · Lua
    "lua-no-compare": ("lua_cas", lambda: edit(
        "lua_cas", ("if version ~= tonumber(ARGV[1]) then return 0 end\n", ""))),
    "lua-no-retry": ("lua_cas", lambda: edit(
        "lua_cas", ("        if await r.eval(CAS_LUA, 1, key, int(version or 0), encode(new)):\n            return retries\n"
                    "        retries += 1",
                    "        await r.eval(CAS_LUA, 1, key, int(version or 0), encode(new))\n        return retries"))),
    # 4 · key schema
    "schema-no-dual-write": ("key_schema", lambda: edit(
        "key_schema", ("        kv.set(v1_key(session[\"user_id\"]), to_v1(session))  # the audit service still reads v1",
                       "        pass"))),
    "schema-read-old-first": ("key_schema", lambda: edit(
        "key_schema", ("    raw = kv.get(v2_key(tenant, user_id))\n    if raw is not None:\n        return from_v2(raw)\n"
                       "    raw = kv.get(v1_key(user_id))\n    return None if raw is None else from_v1(raw, tenant)",
                       "    raw = kv.get(v1_key(user_id))\n    if raw is not None:\n        return from_v1(raw, tenant)\n"
                       "    raw = kv.get(v2_key(tenant, user_id))\n    return None if raw is None else from_v2(raw)"))),
    "schema-backfill-overwrites": ("key_schema", lambda: edit(
        "key_schema", ("to_v2(session), nx=True)", "to_v2(session))"))),
    "schema-no-backfill": ("key_schema", lambda: edit(
        "key_schema", ("    for key in kv.keys(\"session:\"):", "    for key in []:"))),
    # 5 · fencing
    "lock-no-nx": ("fencing", lambda: edit("fencing", ("token, nx=True, px=ttl_ms)", "token, px=ttl_ms)"))),
    "lock-no-expiry": ("fencing", lambda: edit("fencing", ("token, nx=True, px=ttl_ms)", "token, nx=True)"))),
    "fence-not-checked": ("fencing", lambda: edit(
        "fencing", ("if tonumber(ARGV[1]) < seen then return 0 end\n", ""))),
    # tokens compared as strings: 5, 3, 5, 9 come out right, but "3" > "27" (seed 0's random tokens)
    "fence-compares-strings": ("fencing", lambda: edit(
        "fencing", ("local seen = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')\n"
                    "if tonumber(ARGV[1]) < seen then return 0 end",
                    "local seen = redis.call('HGET', KEYS[1], 'fence') or '0'\n"
                    "if ARGV[1] < seen then return 0 end"))),
    # 6 · many servers
    "servers-no-lease": ("many_servers", lambda: edit(
        "many_servers", ("look = await self.store.get(key, lease_ttl=self.lease_ttl)", "look = await self.store.get(key)"),
        ("            await asyncio.sleep(self.poll)  # missing, and another server is loading it",
         "            return await self.load(key)"))),
    "servers-subclasses-sharedtier": ("many_servers", lambda: edit(
        "many_servers", ("class LeasedLoader:", "from swrcache.redis import SharedTier\n\n\nclass LeasedLoader(SharedTier):"))),
    # moved from BEYOND: the visible checks catch these
    # (check_many_callers runs the hidden tests' seeded race with seed 0, which counts the refusals)
    "update-miscounts-retries": ("lost_update", lambda: edit(
        "lost_update", ("            return retries\n        retries += 1  # someone",
                        "            return min(retries, 1)\n        retries += 1  # someone"))),
    "cas-awaits-between": ("lost_update", lambda: edit(
        "lost_update", ("        self._data[key] = (value, version + 1)\n        return True",
                        "        await asyncio.sleep(0)\n        self._data[key] = (value, version + 1)\n        return True"))),
    "schema-keeps-writing-v1": ("key_schema", lambda: edit(
        "key_schema", ("        kv.delete(v1_key(session[\"user_id\"]))  # nobody reads v1 now; don't leave a stale copy",
                       "        kv.set(v1_key(session[\"user_id\"]), to_v1(session))"))),
}

BEYOND = {
    # passes the visible checks, caught by the hidden tests
    # a retry budget: 16 attempts are enough for every caller of the visible seed-0 race, not for seed 12's
    "update-gives-up": ("lost_update", lambda: edit(
        "lost_update", ("    while True:\n        value, version", "    for _attempt in range(16):\n        value, version"),
        ("        retries += 1  # someone wrote first: re-read and recompute\n",
         "        retries += 1  # someone wrote first: re-read and recompute\n    return retries  # gave up\n"))),
    # str() of the new value: the same as JSON for the counters of the visible checks, not for a dict
    "watch-stores-str": ("watch_cas", lambda: edit("watch_cas", ("{\"value\": encode(new),", "{\"value\": str(new),"))),
    # a backfill that reads one page of keys (a SCAN without following the cursor): 30 users fit, 60 do not
    "schema-backfill-one-page": ("key_schema", lambda: edit(
        "key_schema", ("    for key in kv.keys(\"session:\"):", "    for key in kv.keys(\"session:\")[:40]:"))),
    # GET, then SET: one client at a time it looks like a lock; at the same moment everyone gets it
    "lock-get-then-set": ("fencing", lambda: edit(
        "fencing", ("    if await r.set(f\"lock:{key}\", token, nx=True, px=ttl_ms):",
                    "    if await r.get(f\"lock:{key}\") is None and await r.set(f\"lock:{key}\", token, px=ttl_ms):"))),
    # a stalled lease holder whose refused write escapes as an error
    "servers-fenced-raises": ("many_servers", lambda: edit(
        "many_servers", ("                except (FencedOut, VersionConflict):\n                    pass",
                         "                except VersionConflict:\n                    pass"))),
}


@pytest.fixture(autouse=True, scope="module")
def _private_redis():
    """One private server for this file (unless $REDIS_URL names one), given as REDIS_URL, so
    no process-wide embedded server outlives these tests in this worker (tests/redis checks
    what happens when none is running)."""
    import os

    if os.environ.get("REDIS_URL"):
        yield
        return
    from swrcache.redis.server import embedded_redis

    with embedded_redis() as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDIS_URL", server.url)
        yield


def test_reference_answers_pass():
    for q in QUESTIONS:
        out = run_question(MODULE, q)
        assert out.visible_passed, q
        assert out.error is None, (q, out.error)


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_answer_fails_visible_check_and_test_cell(case):
    question, make = WRONG[case]
    out = run_question(MODULE, question, make())
    assert not out.visible_passed, case
    assert out.error is not None, case


@pytest.mark.parametrize("case", sorted(BEYOND))
def test_subtly_wrong_answer_passes_check_but_fails_hidden_tests(case):
    question, make = BEYOND[case]
    out = run_question(MODULE, question, make())
    assert out.visible_passed, f"{case}: the visible check should not catch this one"
    assert out.error is not None, f"{case}: the hidden tests should"


@pytest.mark.parametrize("question", QUESTIONS)
def test_wrong_answer_costs_only_its_own_points(question):
    """Every other question keeps passing with its reference while one question's answer is broken."""
    wrong = {q: make() for q, make in (WRONG[c] for c in sorted(WRONG)) if q == question}
    for other in QUESTIONS:
        if other == question:
            continue
        out = run_question(MODULE, other, others={question: wrong[question]})
        assert out.error is None and out.visible_passed, (question, other, out.error)


def test_untouched_starter_reads_as_not_attempted():
    """Exercise stubs: every check says 'not attempted', never crashes."""
    from coursekit import check

    stub = "# YOUR CODE HERE\nraise NotImplementedError()"
    ns: dict = {}
    for gid, src in code_cells(MODULE):
        if gid is None or gid.startswith("test_") or gid in QUESTIONS:
            continue
        exec(compile(src, "<setup>", "exec"), ns)
    ns["CAS_LUA"] = ns["FENCED_LUA"] = "\n" + stub + "\n"
    for q in QUESTIONS:
        report = check(q, ns=ns, quiet=True)
        assert not report, q
