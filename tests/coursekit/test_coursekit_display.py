"""Hints and messages written in Markdown show as formatted HTML, and as clean plain text."""

from __future__ import annotations

from coursekit.display import Box

HINT = "Hint 1 of 3 for lru_basic: keep the order in an `OrderedDict` and **never** scan *all* entries."


def test_a_hint_renders_its_markdown_in_the_notebook_and_drops_it_in_plain_text():
    box = Box("info", HINT, ["Ask again with `hint(\"lru_basic\")` for the *next* one."])
    html = box.html()
    assert "<code>OrderedDict</code>" in html and "<b>never</b>" in html and "<i>all</i>" in html
    assert "`" not in html and "**" not in html
    assert "<code>hint(&quot;lru_basic&quot;)</code>" in html and "<i>next</i>" in html
    text = box.text()
    assert text.splitlines()[0] == "• Hint 1 of 3 for lru_basic: keep the order in an OrderedDict and never scan all entries."
    assert "`" not in text and "*" not in text


def test_code_and_arithmetic_are_left_alone():
    box = Box("failed", "expected 2 * 3 * 4 = 24", ["f(*args, **kwargs) got snake_case_name"])
    assert box.text() == "✗ expected 2 * 3 * 4 = 24\n  f(*args, **kwargs) got snake_case_name"
    assert "<i>" not in box.html() and "<b>" not in box.html()
