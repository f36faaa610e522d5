"""The markers of instructor cells, parsed here once for the build, both graders and nbgrader_ext.

Three kinds, each with one parser:

* ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (answer cells): :func:`solution_line_numbers`,
  :func:`strip_solution_markers`;
* ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` (test cells): :func:`split_hidden_regions`,
  :func:`hidden_line_numbers`;
* ``# about: <label>`` (inside hidden tests): :func:`topic_at` — the protocol below.

The ``# about:`` protocol: what a failed hidden test was about, in words the course author chose
for learners.

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

__all__ = ["BEGIN_HIDDEN", "BEGIN_SOLUTION", "END_HIDDEN", "END_SOLUTION", "cell_lines", "hidden_line_numbers",
           "outermost_line", "solution_line_numbers", "split_hidden_regions", "strip_solution_markers", "topic_at"]

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def _marked_lines(source: str, begin: str, end: str) -> set[int]:
    marked: set[int] = set()
    inside = False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            inside = True
        if inside:
            marked.add(number)
        if end in line:
            inside = False
    return marked


def hidden_line_numbers(source: str, begin: str = BEGIN_HIDDEN, end: str = END_HIDDEN) -> set[int]:
    """1-based line numbers of ``source`` inside (and including) the hidden-test markers.

    >>> sorted(hidden_line_numbers("a\\n### BEGIN HIDDEN TESTS\\nb\\n### END HIDDEN TESTS\\nc"))
    [2, 3, 4]
    """
    return _marked_lines(source, begin, end)


def solution_line_numbers(source: str) -> set[int]:
    """1-based line numbers of ``source`` inside (and including) the solution markers."""
    return _marked_lines(source, BEGIN_SOLUTION, END_SOLUTION)


def strip_solution_markers(text: str) -> str:
    """``text`` without its ``### BEGIN/END SOLUTION`` lines (what is between them stays)."""
    return "\n".join(line for line in text.splitlines()
                     if f"### {BEGIN_SOLUTION}" not in line and f"### {END_SOLUTION}" not in line)


def split_hidden_regions(source: str) -> list[tuple[str, str]]:
    """A test cell cut into ``("visible" | "hidden", code)`` parts, in order, markers dropped.

    >>> split_hidden_regions("a = 1\\n### BEGIN HIDDEN TESTS\\nb = 2\\n### END HIDDEN TESTS")
    [('visible', 'a = 1'), ('hidden', 'b = 2')]
    """
    parts: list[tuple[str, str]] = []
    kind, buf = "visible", []

    def flush():
        code = "\n".join(buf).strip("\n")
        if code.strip():
            parts.append((kind, code))
        buf.clear()

    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            flush()
            kind = "hidden"
        elif END_HIDDEN in line:
            flush()
            kind = "visible"
        else:
            buf.append(line)
    flush()
    return parts

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
        if BEGIN_HIDDEN in text:
            return None  # labels do not reach across into the visible part
    return None
