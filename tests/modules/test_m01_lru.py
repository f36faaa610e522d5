"""Module 01 (LRU): the reference passes; O(n) caches fail the visible check *and* the hidden
O(1) test, because both call the same helper (`cache_course.m01_lru.assert_constant_work`),
whether the scan compares keys (counted) or only loops over entries in Python (its lines are
counted). And the library's LRUCache does not answer the question that asks you to write one."""

from __future__ import annotations

from pathlib import Path

import pytest
from modules_harness import run_question

pytestmark = pytest.mark.slow

MODULE = "01_lru"
ANSWERS = Path(__file__).resolve().parents[1] / "answers"  # wrong answers, shared with other tests

ITEMS_SCAN = (ANSWERS / "lru_items_scan.py").read_text()

DEQUE_REMOVE = (ANSWERS / "lru_deque_scan.py").read_text()

LIBRARY_SUBCLASS = """
from swrcache import LRUCache

class SessionCache(LRUCache):
    pass
"""

LIBRARY_WRAPPER = """
import swrcache as _lib

class SessionCache:
    def __init__(self, capacity):
        self._lru = _lib.LRUCache(capacity)

    def get(self, key, default=None):
        return self._lru.get(key, default)

    def put(self, key, value):
        self._lru.put(key, value)

    def __len__(self):
        return len(self._lru)
"""


def test_reference_passes():
    out = run_question(MODULE, "lru_basic")
    assert out.visible_passed and out.error is None, repr(out.error)


@pytest.mark.parametrize("answer", [ITEMS_SCAN, DEQUE_REMOVE], ids=["python-items-scan", "deque-linear-search"])
def test_scans_fail_the_visible_check_and_the_hidden_test_alike(answer):
    from coursekit import check

    out = run_question(MODULE, "lru_basic", answer)
    assert not out.visible_passed, "the visible check must not certify O(1) for a scanning cache"
    report = check("lru_basic", ns=out.ns, quiet=True)
    assert [r.name for r in report.results if r.status == "failed"] == [
        "work per get/put at 400 entries vs at 25"], report.text()
    assert "grows with the size of the cache" in report.text()
    assert not report.passed  # so reveal stays locked and progress does not say passed
    # the autograder test cell's hidden part fails on the same helper (run it without the visible gate)
    from cache_course.m01_lru import assert_constant_work

    with pytest.raises(AssertionError, match="work per get/put at 2000 entries vs at 50"):
        assert_constant_work(out.ns["SessionCache"], small=50, large=2000)
    assert isinstance(out.error, AssertionError), repr(out.error)


@pytest.mark.parametrize("answer, how", [(LIBRARY_SUBCLASS, "subclasses swrcache.LRUCache"),
                                         (LIBRARY_WRAPPER, "wraps swrcache.lru.LRUCache (in self._lru)")],
                         ids=["subclass", "wrapper"])
def test_the_library_lru_does_not_count_in_check_or_hidden_test(answer, how):
    from coursekit import check

    from cache_course.m01_lru import assert_own_lru

    out = run_question(MODULE, "lru_basic", answer)
    report = check("lru_basic", ns=out.ns, quiet=True)
    assert not report.passed and not out.visible_passed
    text = report.text()
    assert f"SessionCache {how}" in text or "SessionCache uses swrcache" in text, text
    assert "write it yourself" in text
    with pytest.raises(AssertionError, match="SessionCache (subclasses|uses|wraps) swrcache"):
        assert_own_lru(out.ns["SessionCache"])
    assert isinstance(out.error, AssertionError)


def test_hidden_test_goes_beyond_the_visible_check_without_contradicting_it():
    """A scan that starts past 1,000 entries: the visible check (up to 400) passes and claims only
    what it measured ("at 25 and at 400 entries"); the hidden test at 2,000 entries fails it."""
    from coursekit import check

    out = run_question(MODULE, "lru_basic", (ANSWERS / "lru_scan_past_1000.py").read_text())
    assert out.visible_passed
    assert "get and put do the same work at 25 and at 400 entries (O(1))" in check(
        "lru_basic", ns=out.ns, quiet=True).text()
    assert isinstance(out.error, AssertionError)
    assert "work per get/put at 2000 entries vs at 50" in str(out.error)



COMMENTED_LRU = '''from collections import OrderedDict


class SessionCache:
    def __init__(self, capacity):
        """Like swrcache.LRUCache, but mine."""
        self.capacity, self.data = capacity, OrderedDict()  # not swrcache.LRUCache(capacity)
'''


def test_mentioning_the_library_in_a_comment_is_not_using_it(tmp_path, monkeypatch):
    import importlib
    import inspect

    from cache_course.m01_lru import ReferenceLRU, assert_own_lru

    (tmp_path / "commented_lru.py").write_text(COMMENTED_LRU)
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = importlib.import_module("commented_lru").SessionCache
    assert "swrcache.LRUCache(capacity)" in inspect.getsource(cls)  # the scan really reads this source
    assert_own_lru(cls)
    assert_own_lru(ReferenceLRU)


# the subtly wrong LRU of tests/pipeline/test_pipeline_nbgrader.py: one slot short from capacity 3 on
SHORT_FROM_THREE = """
from collections import OrderedDict


class SessionCache:
    def __init__(self, capacity):
        self.capacity = capacity if capacity < 3 else capacity - 1
        self.data = OrderedDict()

    def get(self, key, default=None):
        if key not in self.data:
            return default
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        if key in self.data:
            self.data.move_to_end(key)
        elif len(self.data) >= self.capacity:
            self.data.popitem(last=False)
        self.data[key] = value

    def __len__(self):
        return len(self.data)
"""


def test_the_visible_model_comparison_names_the_capacities_it_covers():
    """check() compares with the reference LRU at capacities 1 and 2 and says so; the hidden test
    (capacities 1 to 5, other seeds) catches a bug from capacity 3 on, under its about label."""
    from coursekit import check
    from coursekit.hidden_topics import topic_at

    out = run_question(MODULE, "lru_basic", SHORT_FROM_THREE)
    assert out.visible_passed
    assert "random sequences of get and put at capacities 1 and 2" in check("lru_basic", ns=out.ns, quiet=True).text()
    assert isinstance(out.error, AssertionError), repr(out.error)
    assert any(f"at capacity {c}" in str(out.error) or f"capacity {c}," in str(out.error) for c in (3, 4, 5)), str(out.error)
    tb = out.error.__traceback__
    while tb.tb_next is not None and tb.tb_frame.f_code.co_filename != "<01_lru:test_lru_basic>":
        tb = tb.tb_next
    cell = dict(__import__("modules_harness").code_cells(MODULE))["test_lru_basic"]
    assert topic_at(cell, tb.tb_lineno).startswith("long random sequences of get and put on capacities 1 to 5")
