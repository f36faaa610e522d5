"""Module 03 (head-of-line blocking): the autograder test cells accept the reference and reject
wrong answers. Wrong answers are the reference answer with one deliberate mistake edited in, so
they stay in step with the course source.

"wrong" answers fail the whole test cell; "beyond" answers pass the visible `check` and are
caught only by the hidden tests.
"""

from __future__ import annotations

import pytest
from modules_harness import (
    assert_hidden_catches,
    assert_reference_passes,
    assert_wrong_fails,
    code_cells,
    edited_answer,
    reference_answer,
    run_question,
)

from coursekit import check
from coursekit.hidden_topics import topic_at

# each case executes the module's cells in-process (a second or two): not for `make test-fast`
pytestmark = pytest.mark.slow

MODULE = "03_hol_blocking"


def reference(question: str) -> str:
    return reference_answer(MODULE, question)


def edit(question: str, *pairs: tuple[str, str]) -> str:
    return edited_answer(MODULE, question, *pairs)


WRONG = {
    "reproduce-p50": ("reproduce", lambda: edit("reproduce", (").p99", ").p50"))),
    "threshold-blocks": ("threshold", lambda: edit(
        "threshold",
        ("return await asyncio.wait_for(asyncio.shield(refresh), self.wait_threshold)", "return await refresh"))),
    "threshold-no-shield": ("threshold", lambda: edit(
        "threshold", ("asyncio.wait_for(asyncio.shield(refresh), self.wait_threshold)",
                      "asyncio.wait_for(refresh, self.wait_threshold)"))),
    "slots-no-finally": ("slots", lambda: edit(
        "slots", ("        try:\n            await refresh()\n        finally:\n            self.release(key)",
                  "        await refresh()\n        self.release(key)"))),
    "slots-waits-for-slot": ("slots", lambda: edit(
        "slots", ("        if not self.try_acquire(key):\n            return False",
                  "        while not self.try_acquire(key):\n            await asyncio.sleep(0.01)"))),
    "slots-leaks-on-cancel": ("slots", lambda: edit(
        "slots", ("        try:\n            await refresh()\n        finally:\n            self.release(key)",
                  "        try:\n            await refresh()\n        except Exception:\n            self.release(key)\n"
                  "            raise\n        self.release(key)"))),
    "breaker-never-half-opens": ("breaker", lambda: edit(
        "breaker", ("if loop.time() - self._opened_at < self.reset_timeout:", "if True:"))),
    "breaker-no-timeout": ("breaker", lambda: edit(
        "breaker", ("await asyncio.wait_for(fn(), self.call_timeout)", "await fn()"))),
    "breaker-unlimited-probes": ("breaker", lambda: edit(
        "breaker", ("            if self._probing:\n                raise CircuitOpen(", "            if False:\n                raise CircuitOpen("))),
    "backoff-no-jitter": ("breaker", lambda: edit("breaker", ("return rng.uniform(0, ceiling)", "return ceiling"))),
    "priority-fifo": ("priority", lambda: edit("priority", ("(0 if critical else 1, next", "(1, next"))),
    "priority-no-budget": ("priority", lambda: edit(
        "priority", ("if self.running < self.budget and not self._waiting:", "if True:"))),
}

BEYOND = {
    "reproduce-hardcoded": ("reproduce", None),  # built below from the reference's own number
    "threshold-fixed-100ms": ("threshold", lambda: edit(
        "threshold", ("asyncio.shield(refresh), self.wait_threshold)", "asyncio.shield(refresh), 0.1)"))),
    "threshold-timeout-only": ("threshold", lambda: edit(
        "threshold", ("except Exception:  # TimeoutError", "except asyncio.TimeoutError:  # TimeoutError"))),
    "slots-leaks-counters": ("slots", lambda: edit(
        "slots", ("        if n == 1:\n            del self._running[key]  # don't keep a counter for every key ever refreshed\n"
                  "        else:\n            self._running[key] = n - 1",
                  "        self._running[key] = n - 1"))),
    "breaker-counts-all-failures": ("breaker", lambda: edit(
        "breaker", ("        self.failures = 0\n        self.state = \"closed\"\n        return result",
                    "        self.state = \"closed\"\n        return result"))),
    "breaker-cancelled-probe-sticks": ("breaker", lambda: edit(
        "breaker", ("        except Exception:\n            self.failures += 1",
                    "        except Exception:\n            self._probing = False\n            self.failures += 1"),
        ("        finally:\n            self._probing = False\n", ""),
        ("        self.failures = 0\n        self.state = \"closed\"\n        return result",
         "        self._probing = False\n        self.failures = 0\n        self.state = \"closed\"\n        return result"))),
    "backoff-overflows": ("breaker", lambda: edit(
        "breaker", ("ceiling = cap if attempt >= 64 else min(cap, base * 2**attempt)", "ceiling = min(cap, base * 2**attempt)"))),
    "priority-wakes-cancelled": ("priority", lambda: edit(
        "priority", ("            if not slot.done():  # skip callers cancelled while waiting\n                slot.set_result(None)\n                return",
                     "            slot.set_result(None)\n            return"))),
}


def _hardcoded_reproduce() -> str:
    value = run_question(MODULE, "reproduce").ns["hol_p99"](5)
    return f"def hol_p99(seed):\n    return {value!r}\n"


@pytest.mark.parametrize("question", ["reproduce", "threshold", "slots", "breaker", "priority"])
def test_reference_passes(question):
    assert_reference_passes(MODULE, question)


@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_answer_fails(case):
    question, make = WRONG[case]
    assert_wrong_fails(MODULE, question, make())


@pytest.mark.parametrize("case", sorted(BEYOND))
def test_hidden_tests_catch_what_check_misses(case):
    question, make = BEYOND[case]
    answer = _hardcoded_reproduce() if make is None else make()
    assert_hidden_catches(MODULE, question, answer)


def test_roleplay_is_headless_and_collects_replies():
    """The role-play cell runs without a widget frontend and leaves the answer variable to the learner."""
    cells = code_cells(MODULE)
    ns: dict = {"__name__": "__main__", "display": lambda *a, **k: None}
    for gid, src in cells:
        if src.lstrip().startswith(("check(", "progress()")):
            continue
        exec(compile(src, f"<{MODULE}:{gid}>", "exec"), ns)
        if src.startswith("ROUNDS = ["):
            rp = ns["roleplay"]
            assert rp.curveball is not None and rp.curveball.after_round == 1
            text = rp.text()
            assert "Critique 4 of 4" in text and "Pause again" in text
            rp.pause()
            rp.submit("Thanks, that's fair. I'll add a 100 ms wait threshold and measure p99 in ms.")
            rp.next()
            assert ns["roleplay_replies"][0].startswith("Thanks")
            rp.pause()
            rp.submit("You're right that users feel it. I'll post the p99 of 100 ms from the benchmark.")
            rp.next()
            assert rp.stage == "curveball"  # the pager goes off after the second reply
            rp.pause()
            assert rp.stage == "pause" and rp.round == 2
    from coursekit import check

    report = check("roleplay_replies", ns=ns, quiet=True)
    assert report.status == "answered", report.status
    assert len(ns["roleplay_replies"]) == 4


# ---------------------------------------------------------------- demos refuse starter code
# A simulation of a stub looks like a perfect run (0 database calls, p99 0 ms): the lab bench
# must say "finish the exercise first" instead.

class _StubGate:
    async def run(self, fn, *, critical=False):
        raise NotImplementedError()


class _StubBreaker:
    state, opens = "closed", 0

    async def call(self, fn):
        raise NotImplementedError()


def _stub_backoff(attempt, *, base, cap, rng):
    raise NotImplementedError()


def _no_backoff(attempt, *, base, cap, rng):
    return 0.0


class _StubCache:
    def __init__(self, load, **_):
        self.load = load

    def put(self, key, value):
        pass

    async def get(self, key):
        raise NotImplementedError()


def test_demos_refuse_starter_code_and_say_what_to_finish():
    from cache_course import lab
    from cache_course import m02_stampede as m02
    from cache_course import m03_hol_blocking as m03

    with pytest.raises(NotImplementedError, match=r"simulated requests failed with NotImplementedError: the code"):
        m03.run_hol(_StubCache, seed=1)
    with pytest.raises(NotImplementedError, match=r"simulated requests failed with NotImplementedError"):
        m02.run_stampede(_StubCache, seed=1)
    with pytest.raises(NotImplementedError, match=r"`_StubBreaker.call` still raises NotImplementedError"):
        m03.run_outage(_StubBreaker, _no_backoff, seed=1)
    with pytest.raises(NotImplementedError, match=r"`_StubBreaker.call`, `_stub_backoff` still raise"):
        m03.run_outage(_StubBreaker, _stub_backoff, seed=1)
    with pytest.raises(NotImplementedError, match=r"`_StubGate.run` still raises"):
        m03.run_coldstart(_StubGate, seed=1)
    with pytest.raises(NotImplementedError, match=r"`_StubGate.run` still raises"):
        m03.SlottedCache(None, ttl=1.0, stale_ttl=1.0, slots=_StubGate())
    # the course's own "no guards" stand-ins are not starter code
    assert lab.still_starter_code(_no_backoff) == [] and lab.still_starter_code(m03.WaitingCache) == []


#: what the feedback must say for the mutants whose old messages did not say what is wrong
SAYS = {
    "slots-no-finally": "The slot is never released after an error",
    "slots-leaks-on-cancel": "The slot is never released after a cancel",
    "breaker-never-half-opens": "The breaker never lets a probe through after its cool-down",
}


@pytest.mark.parametrize("case", sorted(SAYS))
def test_wrong_answers_are_told_what_is_wrong(case):
    question, make = WRONG[case]
    out = run_question(MODULE, question, make())
    report = check(question, ns=out.ns, quiet=True).text()
    assert SAYS[case] in report, report
    assert "your code raised" not in report, "a crash report does not say what is wrong"


def _failed_label(question: str, error: BaseException) -> str | None:
    """The `# about:` label the grader shows for a hidden-test failure (the test cell's failing line)."""
    source = reference_test_cell(question)
    tb, line = error.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == f"<{MODULE}:test_{question}>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return topic_at(source, line)


def reference_test_cell(question: str) -> str:
    return dict((gid, src) for gid, src in code_cells(MODULE) if gid)[f"test_{question}"]


@pytest.mark.parametrize(("case", "says"), [
    ("slots-leaks-counters", "no counter left behind for a key with nothing running"),
    ("breaker-cancelled-probe-sticks", "the breaker still lets the next probe through"),
])
def test_hidden_failures_are_labelled_with_the_property(case, says):
    question, make = BEYOND[case]
    out = run_question(MODULE, question, make())
    assert out.visible_passed and out.error is not None
    label = _failed_label(question, out.error)
    assert label and says in label, label


def test_slot_and_breaker_labels_name_the_property():
    slots, breaker = reference_test_cell("slots"), reference_test_cell("breaker")
    assert "every slot released when its refresh ends, even one that raised or was cancelled" in slots
    assert "after its cool-down the breaker lets a probe through" in breaker
