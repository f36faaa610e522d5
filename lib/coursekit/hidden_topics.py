"""What a failed hidden test was about, in words the course author chose for learners.

A hidden-test block may label its parts with comments::

    ### BEGIN HIDDEN TESTS
    # about: the greeting for a name it has never seen
    assert greet("Zoë") == "Hello, Zoë!"
    ### END HIDDEN TESTS

When a hidden test fails, the grader (coursekit's and the nbgrader feedback preprocessor)
finds the top-level line of the test cell that raised and shows the nearest ``# about:``
label above it, never the test's source or message. Labels are written to be shown.

>>> src = "x = 1\\n# about: eviction order\\nassert f() == 2\\n# about: capacity 0\\nassert g()"
>>> topic_at(src, 3), topic_at(src, 5), topic_at(src, 1)
('eviction order', 'capacity 0', None)
"""

from __future__ import annotations

import re

__all__ = ["cell_lines", "outermost_line", "topic_at"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython >= 8 names a cell's frame "Cell In[7], line 12"
_CELL_FRAME = re.compile(r"Cell In\s*\[(\d+)\],\s*line (\d+)")
_ABOUT = re.compile(r"^\s*#\s*about:\s*(.+?)\s*$")


def cell_lines(traceback: list[str] | str, execution_count: int | None = None) -> list[int]:
    """Line numbers of the cell frames in a traceback, outermost first.

    With ``execution_count``, only frames of that cell count.

    >>> cell_lines(["Cell In[3], line 9", "Cell In[1], line 2", "Cell In[3], line 4"], execution_count=3)
    [9, 4]
    """
    entries = traceback if isinstance(traceback, list) else [traceback]
    return [int(line) for entry in entries for count, line in _CELL_FRAME.findall(_ANSI.sub("", entry))
            if execution_count is None or int(count) == int(execution_count)]


def outermost_line(traceback: list[str] | str, execution_count: int | None = None) -> int | None:
    """The line of the running cell in a traceback's outermost cell frame (None if there is none).

    >>> outermost_line(["Cell In[3], line 9", "Cell In[1], line 2", "Cell In[3], line 4"])
    9
    """
    lines = cell_lines(traceback, execution_count)
    return lines[0] if lines else None


def topic_at(source: str, line: int | None) -> str | None:
    """The nearest ``# about:`` label at or above 1-based ``line`` of ``source``."""
    if line is None:
        return None
    for text in reversed(source.split("\n")[:line]):
        match = _ABOUT.match(text)
        if match:
            return match.group(1).rstrip(".")
        if "BEGIN HIDDEN TESTS" in text:
            return None  # labels do not reach across into the visible part
    return None
