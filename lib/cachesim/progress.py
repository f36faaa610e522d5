"""Progress for long simulations: a bar in a notebook, nothing in tests or scripts.

Nothing appears for runs shorter than half a second of wall time, so short runs leave no
output behind (notebook outputs stay deterministic). Progress reads the wall clock only to
decide when to redraw; it never influences a result.

>>> p = make_progress(None, total=100, duration=1.0, label="demo")   # not in a notebook
>>> p is None
True
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

__all__ = ["Progress", "make_progress", "interactive_notebook"]

SHOW_AFTER = 0.5  # wall seconds before anything is drawn
REDRAW_EVERY = 0.2


def interactive_notebook() -> bool:
    """True in a Jupyter kernel that is not running tests (pytest, nbval, CI)."""
    if os.environ.get("CACHESIM_PROGRESS", "").lower() in ("0", "false", "no", "off"):
        return False
    if "PYTEST_CURRENT_TEST" in os.environ or "pytest" in sys.modules or os.environ.get("CI"):
        return False
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


class Progress:
    """Requests done out of `total`, and virtual seconds out of `duration`.

    `mode` is "widget" (ipywidgets), "text" (one line, rewritten) or "silent".
    """

    def __init__(self, total: int, duration: float, label: str = "simulation", mode: str = "widget") -> None:
        self.total = max(1, int(total))
        self.duration = float(duration)
        self.label = label
        self.mode = mode
        self._t_start = time.monotonic()
        self._last = 0.0
        self._shown = False
        self._bar: Any = None

    def _text(self, done: int, vt: float) -> str:
        return (
            f"{self.label}: {done:,}/{self.total:,} requests, "
            f"virtual {vt:,.1f}/{self.duration:,.1f} s, wall {time.monotonic() - self._t_start:.1f} s"
        )

    def update(self, done: int, vt: float) -> None:
        """Called by the driver every few thousand requests; cheap when nothing is drawn."""
        if self.mode == "silent":
            return
        now = time.monotonic()
        if now - self._t_start < SHOW_AFTER or now - self._last < REDRAW_EVERY:
            return
        self._last = now
        self._draw(done, vt)

    def _draw(self, done: int, vt: float) -> None:
        if not self._shown:
            self._shown = True
            if self.mode == "widget":
                try:
                    import ipywidgets as widgets
                    from IPython.display import display

                    self._bar = widgets.IntProgress(min=0, max=self.total, description="simulating")
                    self._label = widgets.Label()
                    display(widgets.HBox([self._bar, self._label]))
                except Exception:
                    self.mode = "text"
        if self.mode == "widget" and self._bar is not None:
            self._bar.value = min(done, self.total)
            self._label.value = self._text(done, vt)
        elif self.mode == "text":
            sys.stdout.write("\r" + self._text(done, vt))
            sys.stdout.flush()

    def close(self, done: int, vt: float) -> None:
        """Final state (only if something was drawn)."""
        if self._shown:
            self._draw(done, vt)
            if self.mode == "text":
                sys.stdout.write("\n")
                sys.stdout.flush()


def make_progress(enabled: bool | None, *, total: int, duration: float, label: str) -> Progress | None:
    """A `Progress` when `enabled` (or, if None, in an interactive notebook), else None."""
    if enabled is None:
        enabled = interactive_notebook()
    if not enabled:
        return None
    mode = "widget" if "ipykernel" in sys.modules else "text"
    return Progress(total, duration, label, mode=mode)
