"""Module 01 (LRU): the reference passes; O(n) caches that pass every visible check are
caught by the hidden O(1) test, whether their scan compares keys (counted) or only loops
over entries in Python (its lines are counted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from modules_harness import run_question

pytestmark = pytest.mark.slow

MODULE = "01_lru"
ANSWERS = Path(__file__).resolve().parents[1] / "answers"  # wrong answers, shared with other tests

ITEMS_SCAN = (ANSWERS / "lru_items_scan.py").read_text()

DEQUE_REMOVE = (ANSWERS / "lru_deque_scan.py").read_text()


def test_reference_passes():
    out = run_question(MODULE, "lru_basic")
    assert out.visible_passed and out.error is None, repr(out.error)


@pytest.mark.parametrize("answer", [ITEMS_SCAN, DEQUE_REMOVE], ids=["python-items-scan", "deque-linear-search"])
def test_hidden_o1_test_catches_scans_the_visible_check_misses(answer):
    out = run_question(MODULE, "lru_basic", answer)
    assert out.visible_passed, "this answer should look right to the visible checks"
    assert isinstance(out.error, AssertionError), repr(out.error)
    assert "work per operation grows with size" in str(out.error)
