"""Module 02: a question's points depend on that question only (issue 10), and the library's
Singleflight does not answer the question that asks you to write one (the check and the hidden
test say so alike, through `cache_course.m02_stampede.singleflight.assert_own_singleflight`)."""

from __future__ import annotations

import pytest
from modules_harness import run_question
from test_m02_stampede import SF_CANCEL_CANCELS_ALL, SF_NO_COALESCING, SF_REMEMBERS_ERRORS

from coursekit import check

pytestmark = pytest.mark.slow

MODULE = "02_stampede"

SWR_BLOCKING_EVERYWHERE = """
class StaleWhileRevalidate:
    def __init__(self, loader, *, ttl, stale_ttl):
        self.loader, self.ttl, self.stale_ttl = loader, ttl, stale_ttl
        self._entries = {}

    def put(self, key, value):
        self._entries[key] = (asyncio.get_running_loop().time(), value)

    async def get(self, key):
        value = await self.loader(key)
        self.put(key, value)
        return value
"""


@pytest.mark.parametrize("broken", [SF_NO_COALESCING, SF_REMEMBERS_ERRORS, SF_CANCEL_CANCELS_ALL],
                         ids=["no-coalescing", "remembers-errors", "cancel-cancels-all"])
def test_a_broken_singleflight_costs_only_the_singleflight_points(broken):
    own = run_question(MODULE, "singleflight", broken)
    assert not own.visible_passed and isinstance(own.error, AssertionError)  # its own points: lost
    for question in ("swr", "benchmark"):  # the questions that use a Singleflight: unaffected
        out = run_question(MODULE, question, others={"singleflight": broken})
        assert out.visible_passed, check(question, ns=out.ns, quiet=True).text()
        assert out.error is None, repr(out.error)
    # and the learner's broken class is back in place after the checks ran
    assert out.ns["Singleflight"].__module__ == "__main__"


def test_a_broken_swr_costs_only_the_swr_points():
    own = run_question(MODULE, "swr", SWR_BLOCKING_EVERYWHERE)
    assert not own.visible_passed
    out = run_question(MODULE, "benchmark", others={"swr": SWR_BLOCKING_EVERYWHERE, "singleflight": SF_NO_COALESCING})
    assert out.visible_passed, check("benchmark", ns=out.ns, quiet=True).text()
    assert out.error is None, repr(out.error)


LIBRARY_IMPORT = "from swrcache import Singleflight\n"

LIBRARY_SUBCLASS = """
import swrcache

class Singleflight(swrcache.Singleflight):
    pass
"""

LIBRARY_WRAPPER = """
from swrcache import Singleflight as _Shipped

class Singleflight:
    def __init__(self):
        self._calls = _Shipped()

    async def do(self, key, fn):
        return await self._calls.do(key, fn)
"""


@pytest.mark.parametrize("answer, says", [
    (LIBRARY_IMPORT, "Singleflight is swrcache.Singleflight"),
    (LIBRARY_SUBCLASS, "Singleflight subclasses swrcache.Singleflight"),
    (LIBRARY_WRAPPER, "Singleflight wraps swrcache.singleflight.Singleflight (in self._calls)"),
], ids=["import", "subclass", "wrapper"])
def test_the_library_singleflight_does_not_count_in_check_or_hidden_test(answer, says):
    from cache_course.m02_stampede.singleflight import assert_own_singleflight

    out = run_question(MODULE, "singleflight", answer)
    report = check("singleflight", ns=out.ns, quiet=True)
    assert not report.passed and not out.visible_passed
    assert says in report.text() and "write it yourself" in report.text(), report.text()
    with pytest.raises(AssertionError, match=says.split(" (")[0]):
        assert_own_singleflight(out.ns["Singleflight"])  # what the hidden test calls first
    assert isinstance(out.error, AssertionError)


def test_the_library_may_be_used_elsewhere():
    """Module 03 gives `swrcache.Singleflight` to ThresholdCache: that question still passes."""
    out = run_question("03_hol_blocking", "threshold")
    assert out.visible_passed and out.error is None


def test_one_hot_key_and_one_naive_cache():
    import cachesim
    from cachesim.scenarios import HOT_KEY
    from cache_course.m02_stampede import DraftCache, NaiveCache
    from cache_course.m03_hol_blocking import HOT_KEY as M03_HOT_KEY, hol_workload

    assert M03_HOT_KEY is HOT_KEY and hol_workload(0).key_names[0] == HOT_KEY  # the hottest Zipf key
    assert NaiveCache is DraftCache and NaiveCache is not cachesim.NaiveCache  # the notebook's name, an alias


def test_a_remembered_error_is_named_as_such():
    """Issue 11, item 6: the mutant that remembers errors is told the failure was remembered."""
    out = run_question(MODULE, "singleflight", SF_REMEMBERS_ERRORS)
    text = check("singleflight", ns=out.ns, quiet=True).text()
    assert "got 'DatabaseDown again (the earlier failure)'" in text and "The failure was remembered" in text, text
