"""Rendering helpers: small HTML in a notebook, plain text everywhere else.

Every learner-facing object is a :class:`Renderable`: it has ``text()`` (terminal,
headless runs, ``print``) and ``html()`` (notebook). :func:`show` puts one on screen
now; inside an IPython kernel it sends both ``text/plain`` and ``text/html``, so a
headless run (nbclient, nbgrader autograde) still stores readable plain text.
Nothing here needs a widget frontend.

>>> print(Box("passed", "Check passed", ["2 of 2 checks pass."]).text())
✓ Check passed
  2 of 2 checks pass.
"""

from __future__ import annotations

import html
import os
import re
import sys
from typing import Any, Iterable, TextIO

__all__ = ["Box", "Renderable", "esc", "in_kernel", "md_html", "md_text", "show"]

COLORS = {
    "passed": "#1a7f37",
    "answered": "#0969da",
    "failed": "#cf222e",
    "error": "#cf222e",
    "not_attempted": "#6e7781",
    "info": "#57606a",
    "locked": "#9a6700",
}
ICONS = {
    "passed": "✓",
    "answered": "✎",
    "failed": "✗",
    "error": "✗",
    "not_attempted": "○",
    "info": "•",
    "locked": "🔒",
}


def esc(text: Any) -> str:
    """HTML-escape ``text``.

    >>> esc("<b>")
    '&lt;b&gt;'
    """
    return html.escape(str(text), quote=True)


# Inline Markdown as course authors write it in hints and messages: `code`, **bold**,
# *emphasis* / _emphasis_, [text](url). Emphasis needs a non-space just inside its markers
# and no word character just outside, so `a * b`, `*args` and snake_case stay as they are.
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|\.{0,2}/|[\w.-]+/)[^)\s]*)\)")
_BOLD = re.compile(r"(?<![\w*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])")
_EM = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")


def _inline(text: str, code, link, bold, em, plain) -> str:
    pieces: list[str] = []
    pos = 0
    for m in _CODE.finditer(text):  # code spans first: nothing inside them is markup
        pieces.append(_spans(text[pos:m.start()], link, bold, em, plain))
        pieces.append(code(m.group(1)))
        pos = m.end()
    pieces.append(_spans(text[pos:], link, bold, em, plain))
    return "".join(pieces)


def _spans(text: str, link, bold, em, plain) -> str:
    out, pos = [], 0
    for m in _LINK.finditer(text):
        out.append(_emph(text[pos:m.start()], bold, em, plain))
        out.append(link(m.group(1), m.group(2)))
        pos = m.end()
    out.append(_emph(text[pos:], bold, em, plain))
    return "".join(out)


def _emph(text: str, bold, em, plain) -> str:
    out, pos = [], 0
    for m in _BOLD.finditer(text):
        out.append(_em_only(text[pos:m.start()], em, plain))
        out.append(bold(_em_only(m.group(1), em, plain)))
        pos = m.end()
    out.append(_em_only(text[pos:], em, plain))
    return "".join(out)


def _em_only(text: str, em, plain) -> str:
    out, pos = [], 0
    for m in _EM.finditer(text):
        out.append(plain(text[pos:m.start()]))
        out.append(em(plain(m.group(2))))
        pos = m.end()
    out.append(plain(text[pos:]))
    return "".join(out)


def md_html(text: Any) -> str:
    """``text`` with its inline Markdown as HTML, everything else escaped.

    >>> md_html("Use `dict.get(k)` and **never** *scan* <all> entries; see [RFC 5861](https://www.rfc-editor.org/rfc/rfc5861).")
    'Use <code>dict.get(k)</code> and <b>never</b> <i>scan</i> &lt;all&gt; entries; see <a href="https://www.rfc-editor.org/rfc/rfc5861" target="_blank">RFC 5861</a>.'
    >>> md_html("2 * 3 * 4, f(*args), snake_case_name, `a*b*c`")
    '2 * 3 * 4, f(*args), snake_case_name, <code>a*b*c</code>'
    """
    return _inline(
        str(text),
        code=lambda c: f"<code>{esc(c)}</code>",
        link=lambda t, u: f'<a href="{esc(u)}" target="_blank">{esc(t)}</a>',
        bold=lambda b: f"<b>{b}</b>",
        em=lambda e: f"<i>{e}</i>",
        plain=esc,
    )


def md_text(text: Any) -> str:
    """``text`` for a terminal: the same words without the Markdown markers.

    >>> md_text("Use `dict.get(k)` and **never** *scan*; see [RFC 5861](https://www.rfc-editor.org/rfc/rfc5861).")
    'Use dict.get(k) and never scan; see RFC 5861 (https://www.rfc-editor.org/rfc/rfc5861).'
    >>> md_text("2 * 3 * 4, f(*args), snake_case_name")
    '2 * 3 * 4, f(*args), snake_case_name'
    """
    same = lambda x: x  # noqa: E731
    return _inline(str(text), code=same, link=lambda t, u: f"{t} ({u})", bold=same, em=same, plain=same)


def in_kernel() -> bool:
    """True inside an IPython kernel (a notebook, or nbclient running one headless).

    ``COURSEKIT_PLAIN=1`` forces plain text.

    >>> in_kernel()  # doctests run outside a kernel
    False
    """
    if os.environ.get("COURSEKIT_PLAIN"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Renderable:
    """Base class: subclasses implement :meth:`text` and :meth:`html`."""

    _suppress_next_echo = False

    def text(self) -> str:  # pragma: no cover - overridden
        """Plain-text rendering."""
        raise NotImplementedError

    def html(self) -> str:
        """HTML rendering (defaults to the text in a ``<pre>``)."""
        return f"<pre>{esc(self.text())}</pre>"

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _ipython_display_(self) -> None:
        # show() already displayed this object; skip the echo of the cell's last value once.
        if self._suppress_next_echo:
            self._suppress_next_echo = False
            return
        show(self)


def show(obj: Renderable, stream: TextIO | None = None) -> Renderable:
    """Display ``obj`` now: HTML + text in a kernel, text on ``stream`` (stdout) otherwise.

    >>> _ = show(Box("info", "Hello", []))
    • Hello
    """
    if stream is None and in_kernel():
        from IPython.display import display

        display({"text/plain": obj.text(), "text/html": obj.html()}, raw=True)
        obj._suppress_next_echo = True
    else:
        print(obj.text(), file=stream or sys.stdout)
    return obj


class Box(Renderable):
    """A status line plus a few lines of detail (a list of strings; no walls of text).

    ``detail_html`` may carry pre-rendered HTML lines (already escaped).
    """

    def __init__(
        self,
        status: str,
        title: str,
        lines: Iterable[str] = (),
        *,
        detail_html: Iterable[str] | None = None,
        code: str | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.lines = list(lines)
        self.detail_html = list(detail_html) if detail_html is not None else None
        self.code = code

    def text(self) -> str:
        out = [f"{ICONS.get(self.status, '•')} {md_text(self.title)}"]
        out += [f"  {md_text(line)}" for line in self.lines]
        if self.code is not None:
            out += ["", *("    " + line for line in self.code.splitlines())]
        return "\n".join(out)

    def html(self) -> str:
        color = COLORS.get(self.status, COLORS["info"])
        items = self.detail_html if self.detail_html is not None else [md_html(line) for line in self.lines]
        body = "".join(f"<div style='margin:2px 0 0 1.4em'>{item}</div>" for item in items)
        code = ""
        if self.code is not None:
            code = (
                "<pre style='margin:6px 0 0 1.4em;padding:6px;background:#f6f8fa;"
                f"border-radius:4px;overflow-x:auto'>{esc(self.code)}</pre>"
            )
        return (
            f"<div style='border-left:4px solid {color};padding:4px 8px;margin:4px 0;font-size:0.95em'>"
            f"<b style='color:{color}'>{esc(ICONS.get(self.status, '•'))} {md_html(self.title)}</b>{body}{code}</div>"
        )
