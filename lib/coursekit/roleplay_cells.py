"""Role-play replies written into the notebook's own answer cells, as plain Python.

nbgrader and ``coursekit grade`` read the notebook *file*, never the kernel. So when the
learner runs an answer cell that still holds its starter text and the role-play has the
replies that cell takes, the kernel replaces **that cell's source** with the replies as
string literals and assigns them. The mechanism is IPython's
``set_next_input(text, replace=True)``: ipykernel sends it as a ``set_next_input`` payload
in the execute reply, and JupyterLab 4 (and Notebook 7) then set the *executing* cell's
source to ``text`` — the next save writes it to the ``.ipynb`` like a typed answer, so
nbgrader and the CI grader read it unchanged. Frontends that ignore the payload (nbclient,
nbgrader autograde) change nothing.

Never a learner's words: a cell is rewritten only while it holds starter text, or holds
exactly what the kernel last wrote there (the replies changed since, say after "Go through
it again"). Once the learner edits it, it is theirs.

The literals are double-quoted pieces broken after a space or a newline, never inside a
word, so a long reply reads as a paragraph and ``exec`` of the cell gives back the exact
text (quotes, backslashes, unicode, control characters included):

>>> print(assignment("replies", ["Thanks \u2014 fair.", 'She said "no"\\\\n']))
# Your replies from the role-play above, written here when you ran this cell.
# They are yours now: edit them freely (an edited cell is never rewritten).
replies = [
    # reply 1
    "Thanks \u2014 fair.",
    # reply 2
    "She said \\"no\\"\\\\n",
]
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any, Mapping

from .roleplay_store import STUB_MARKERS

if TYPE_CHECKING:
    from .roleplay import Roleplay

__all__ = ["HEADER", "assignment", "cell_targets", "is_starter", "part_of", "string_literal", "write_cell"]

HEADER = (
    "# Your replies from the role-play above, written here when you ran this cell.\n"
    "# They are yours now: edit them freely (an edited cell is never rewritten).\n"
)
WIDTH = 76  # characters of text per line of the literal, indentation aside

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(text: str) -> str:
    """``text`` as the inside of a double-quoted literal; printable characters stay as they are."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:  # control characters, lone surrogates, U+2028 ...: an escape that round-trips
            out.append(repr(ch)[1:-1])
    return "".join(out)


def _pieces(text: str, width: int) -> list[str]:
    """``text`` cut after spaces and newlines into pieces of about ``width`` characters.

    A word longer than ``width`` stays whole; a newline always ends a piece.
    """
    pieces: list[str] = []
    for line in text.splitlines(keepends=True) or [""]:
        current = ""
        for word in _words(line):
            if current and len(_escape(current + word)) > width:
                pieces.append(current)
                current = ""
            current += word
        pieces.append(current)
    return pieces


def _words(line: str) -> list[str]:
    """``line`` split after each run of spaces: ``"a  b c"`` -> ``["a  ", "b ", "c"]``."""
    out, current = [], ""
    for i, ch in enumerate(line):
        current += ch
        if ch == " " and (i + 1 == len(line) or line[i + 1] != " "):
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def string_literal(text: str, indent: str = "    ", width: int = WIDTH) -> str:
    """Python source for the string ``text``: one quoted piece per line, each line after the first indented.

    Adjacent literals are one string to Python, so no ``+`` is needed inside brackets.

    >>> print(string_literal("one two three", width=7))
    "one "
        "two "
        "three"
    >>> ast.literal_eval("(" + string_literal("line\\nnext \\\\ \\"q\\"") + ")")
    'line\\nnext \\\\ "q"'
    """
    return f"\n{indent}".join(f'"{_escape(p)}"' for p in _pieces(text, width))


def assignment(name: str, value: str | list[str]) -> str:
    """The answer cell's source assigning ``value`` (one string, or a list of replies) to ``name``."""
    if isinstance(value, str):
        lit = string_literal(value, "    ")
        body = f"(\n    {lit}\n)" if "\n" in lit else lit
        return f"{HEADER.replace('Your replies', 'Your reply', 1)}{name} = {body}"
    items = "".join(f"    # reply {i}\n    {string_literal(r, '    ')},\n" for i, r in enumerate(value, 1))
    return f"{HEADER}{name} = [\n{items}]"


def part_of(replies: list[str], n_rounds: int, where: int | slice) -> str | list[str] | None:
    """What one answer cell takes from the replies: ``where`` is a round (a string) or a slice (a list).

    None while a round it covers has no reply yet.

    >>> part_of(["a", "b"], 3, 0), part_of(["a", "b"], 3, slice(1, None)), part_of(["a", "b", "c"], 3, -1)
    ('a', None, 'c')
    """
    rounds = range(n_rounds)
    if isinstance(where, slice):
        wanted = list(rounds[where])
        return [replies[i] for i in wanted] if wanted and wanted[-1] < len(replies) else None
    i = rounds[where]
    return replies[i] if i < len(replies) else None


def cell_targets(source: str) -> list[str] | None:
    """The names a cell assigns when it is nothing but ``name = <literal>`` statements; else None.

    >>> cell_targets("a = 'x'\\nb = ['y']"), cell_targets("a = f()"), cell_targets("x = 1\\nprint(x)")
    (['a', 'b'], None, None)
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            return None
        try:
            ast.literal_eval(node.value)
        except ValueError:
            return None
        names.append(node.targets[0].id)
    return names or None


def is_starter(source: str) -> bool:
    """True while every string in the cell is starter text (or blank): nothing the learner wrote.

    >>> stub = "'# YOUR CODE HERE; raise NotImplementedError()'"
    >>> is_starter(f"r = [{stub}, {stub}]"), is_starter(f'r = ["My own first reply.", {stub}]')
    (True, False)
    """
    try:
        strings = [n.value for n in ast.walk(ast.parse(source))
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    except SyntaxError:
        return False
    return bool(strings) and any(_stub(s) for s in strings) and all(_stub(s) or not s.strip() for s in strings)


def _stub(text: str) -> bool:
    return any(marker in text for marker in STUB_MARKERS)


def write_cell(rp: "Roleplay", raw_cell: str, shell: Any) -> str | None:
    """After ``raw_cell`` ran: rewrite it with ``rp``'s replies when it is one of its untouched answer cells.

    Returns what to tell the learner (None: not this role-play's answer cell, or nothing to do).
    """
    names = cell_targets(raw_cell)
    answers: Mapping[str, int | slice] = rp.answers
    if not names or not set(names) <= set(answers):
        return None
    written = rp.written
    if not (is_starter(raw_cell) or raw_cell.strip() == written.get(" ".join(names), "").strip()):
        return None
    values = {name: part_of(rp.replies, len(rp.rounds), answers[name]) for name in names}
    if any(v is None for v in values.values()):
        done = len(rp.replies)
        return (f"(This cell takes your role-play replies: {done} of {len(rp.rounds)} written so far. Finish the "
                "role-play above, then run this cell again: it writes your replies here, saved with the notebook.)")
    source = "\n\n".join(assignment(name, values[name]) for name in names)
    for name in names:
        rp.ns[name] = values[name]
    if source.strip() == raw_cell.strip():
        return None
    shell.set_next_input(source, replace=True)
    rp.remember_written(" ".join(names), source)
    n = sum(len(v) if isinstance(v, list) else 1 for v in values.values())
    it = "it" if n == 1 else "them"
    return (f"Your role-play repl{'y is' if n == 1 else 'ies are'} now written in this cell as code "
            f"({', '.join(names)}), so {'it is' if n == 1 else 'they are'} saved with the notebook and graded like "
            f"a typed answer. Save the notebook (Ctrl+S) to keep {it} in the file.")
