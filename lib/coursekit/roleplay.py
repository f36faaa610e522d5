"""A review role-play: escalating critiques, a short pause before each reply, a curveball.

In a notebook with a widget frontend the learner sees one critique at a time, a
pause prompt with an "I've paused" button that unlocks sending, and — after
submitting — formative questions from the ``review_reply`` rubric. Midway, a
curveball (a pager alert) interrupts and asks for another pause before going on.

**Keystrokes stay in the widget.** The reply box is never *disabled* while a round is
open: JupyterLab sends the keys of a focused element that is not editable (a disabled
textarea, a clicked button) to the notebook's command-mode shortcuts, where ``a``,
``b`` and ``dd`` insert and delete cells. So before the pause the box is editable but
says "pause first" and only *Send* is locked (a draft typed early is kept, never sent
before the pause); after every click on one of the widget's buttons the focus goes
back to the reply box; and when the role-play is over the box is hidden, not disabled.

**Where replies go:** ``ns[answer_name]`` is always a *list of strings*, one reply per
critique, in order (a resubmitted reply replaces that round's entry; replies already in
that variable, e.g. from an earlier run of the cell, are kept until replaced).
``check()`` on a reflective question whose answer is a list gives rubric feedback per
reply. nbgrader collects the notebook *file*, not the kernel's memory, so ``answers``
names the graded answer cells and what each takes (``{"replies": slice(None)}`` by
default: all of them, as a list; an ``int``: one reply, as a string). The last screen asks
the learner to run those cells: each one still holding its starter text is rewritten
with the replies as code (:mod:`coursekit.roleplay_cells`), no copy and paste.

Headless (nbclient, nbgrader autograde, a terminal) nothing waits for input:
:meth:`Roleplay.display` prints the critiques and tells the learner to write the
replies into the answer variable themselves.

>>> rp = Roleplay(["Where are the benchmarks?", "This blocks every caller."], "replies", ns={})
>>> rp.stage, rp.round
('pause', 0)
>>> rp.pause(); _ = rp.submit("Thanks, fair point. I'll add a benchmark of p99 in ms.")
>>> rp.ns["replies"]
["Thanks, fair point. I'll add a benchmark of p99 in ms."]
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

from .display import esc, in_kernel
from .roleplay_cells import assignment as _assignment, part_of as _part_of
from .roleplay_store import STUB_MARKERS, load_replies as _load, load_written as _load_written
from .roleplay_store import notebook_namespace as _notebook_namespace, replies_in as _replies_in
from .roleplay_store import save_replies as _save, watch_answer as _watch_answer
from .rubric_engine import Feedback
from .rubrics import get_rubric

__all__ = ["Curveball", "DEFAULT_PAUSE", "HARSH_REVIEW", "PAGER_ALERT", "Roleplay"]

DEFAULT_PAUSE = (
    "Before you reply: notice any tension (a tight jaw, held breath, raised shoulders). "
    "Let one slow breath out. Then name your intention in a few words — for example, \u201cI'm sharing this draft.\u201d"
)

# Paraphrased from the course's story: each round is sharper than the one before.
HARSH_REVIEW: tuple[str, ...] = (
    "The LRU part looks reasonable, but there are no numbers. Does refresh-on-stale actually lower database load, "
    "and what does it do to tail latency? Also: what happens when two refreshes for the same key race?",
    "Singleflight means every caller of a hot key waits behind a single refresh. If that refresh takes two seconds, "
    "everyone on that key waits two seconds. That's head-of-line blocking, and it's in your p99.",
    "I don't think this is safe to ship. Critical users need their session in under two seconds, and as written "
    "one slow refresh can stall all of them at once. What exactly is your plan, and how will we know it works?",
)

PAGER_ALERT = (
    "\U0001f514 Pager alert: user-session service — p99 latency above 2 s for 5 minutes on the current production "
    "build. The on-call engineer is on it, but your chat is lighting up."
)


@dataclass(frozen=True)
class Curveball:
    """An interruption shown after round ``after_round`` (0-based) is answered."""

    text: str
    after_round: int | None = None  # None: the middle of the exercise


def _frontend_available() -> bool:
    if os.environ.get("COURSEKIT_HEADLESS") or not in_kernel():
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


class Roleplay:
    """The review role-play. Drive it with the widgets, or with :meth:`pause`, :meth:`submit`, :meth:`next`.

    ``rounds``: reviewer critiques, mildest first. ``answer_name``: the notebook variable
    that receives the replies (a list of strings). ``ns``: the namespace to write into
    (default: the notebook's). ``answers``: the graded answer cells, by the name each
    assigns, and the reply (an index) or replies (a slice) it takes — default: the class's
    ``ANSWERS``, else ``{answer_name: slice(None)}``.
    """

    ANSWERS: Mapping[str, int | slice] | None = None

    PLACEHOLDER_PAUSE = "Pause first (the \u201cI've paused\u201d button above); then write your reply here and send it."
    PLACEHOLDER_PAUSE_AGAIN = "Pause again first (the \u201cI've paused\u201d button above) before the next critique."
    PLACEHOLDER_REPLY = "Your reply to the reviewer\u2026"

    def __init__(
        self,
        rounds: Sequence[str],
        answer_name: str,
        pause_prompt: str = DEFAULT_PAUSE,
        curveball: str | Curveball | None = None,
        *,
        rubric: str = "review_reply",
        reviewer: str = "Reviewer",
        ns: dict[str, Any] | None = None,
        store: str | Path | None = "auto",
        title: str = "Code review",
        next_label: str = "Next critique",
        answers: Mapping[str, int | slice] | None = None,
    ) -> None:
        if not rounds:
            raise ValueError("a role-play needs at least one critique")
        self.rounds = list(rounds)
        self.title, self.next_label = title, next_label  # the widget's heading and its "go on" button
        self.answer_name = answer_name
        self.answers = dict(answers or type(self).ANSWERS or {answer_name: slice(None)})
        self.pause_prompt = pause_prompt
        if isinstance(curveball, str):
            curveball = Curveball(curveball)
        if curveball is not None and curveball.after_round is None:
            curveball = Curveball(curveball.text, max(0, (len(self.rounds) - 1) // 2))
        self.curveball = curveball
        self.rubric = get_rubric(rubric)
        self.reviewer = reviewer
        self.ns = ns if ns is not None else _notebook_namespace()
        if store == "auto":
            store = Path(".coursekit") / f"roleplay-{answer_name}.json" if _frontend_available() else None
        self.store = Path(store) if store is not None else None
        self.written: dict[str, str] = _load_written(self.store) if self.store is not None else {}
        self.replies: list[str] = _replies_in(self.ns.get(answer_name))[: len(self.rounds)]
        if not self.replies and self.store is not None:  # a restarted kernel: the replies saved on disk
            self.replies = _replies_in(_load(self.store))[: len(self.rounds)]
            if self.replies:
                self.ns[answer_name] = list(self.replies)
        self.feedback: list[Feedback | None] = [None] * len(self.replies)
        self.round = 0
        self.stage = "pause"  # pause → reply → feedback → (curveball →) pause … → done
        self.curveball_seen = False
        self._widgets: dict[str, Any] | None = None
        self.resumed = len(self.replies)
        if self.replies:  # carry on where the learner stopped, not at critique 1
            self._resume()
        if self.store is not None:
            _watch_answer(self)

    # ------------------------------------------------------------------ the state machine

    def _resume(self) -> None:
        n_done = len(self.replies)
        cb = self.curveball
        self.curveball_seen = cb is not None and cb.after_round is not None and n_done > cb.after_round
        if n_done >= len(self.rounds):
            self.round, self.stage = len(self.rounds) - 1, "done"
        else:
            self.round, self.stage = n_done, "pause"

    def restart(self) -> None:
        """Go through the critiques again from the first; each reply is kept until replaced."""
        self.round, self.stage, self.curveball_seen, self.resumed = 0, "pause", False, 0
        if self._widgets is not None:
            self._widgets["reply"].value = ""
        self._render()

    def pause(self) -> None:
        """The learner has paused: unlock the reply box (or, after a curveball, go on)."""
        if self.stage == "pause":
            self.stage = "reply"
        elif self.stage == "curveball":
            self.curveball_seen = True
            self.stage = "pause"
            self._advance()
        self._render()

    def submit(self, reply: str) -> Feedback | None:
        """Store ``reply`` for the current round and return the rubric's feedback.

        Ignored (returns None) before the pause or when the reply is blank.
        """
        if self.stage not in ("reply", "feedback") or not reply.strip():
            self._render(note="Write a reply first." if self.stage in ("reply", "feedback") else "")
            return None
        fb = self.rubric.evaluate(reply)
        if self.round < len(self.replies):
            self.replies[self.round] = reply
            self.feedback[self.round] = fb
        else:
            self.replies.append(reply)
            self.feedback.append(fb)
        self.ns[self.answer_name] = list(self.replies)
        if self.store is not None:
            _save(self.store, self.replies, self.written)
        self.stage = "feedback"
        self._render()
        return fb

    def next(self) -> None:
        """Move on after feedback: to the curveball if it is due, else to the next critique."""
        if self.stage != "feedback":
            return
        cb = self.curveball
        if cb is not None and not self.curveball_seen and self.round == cb.after_round and self.round + 1 < len(
            self.rounds
        ):
            self.stage = "curveball"
        else:
            self._advance()
        if self._widgets is not None:
            self._widgets["reply"].value = ""  # a fresh box for the next critique
        self._render()

    def _advance(self) -> None:
        if self.round + 1 < len(self.rounds):
            self.round += 1
            self.stage = "pause"
        else:
            self.stage = "done"

    def answer_code(self) -> str:
        """The answer cells' source for the replies so far (what running them writes there), blank-line separated.

        >>> rp = Roleplay(["Why?"], "replies", ns={"replies": ["I'll add a 100 ms threshold."]})
        >>> print("\\n".join(rp.answer_code().splitlines()[-4:]))
        replies = [
            # reply 1
            "I'll add a 100 ms threshold.",
        ]
        """
        parts = [(name, _part_of(self.replies, len(self.rounds), where)) for name, where in self.answers.items()]
        return "\n\n".join(_assignment(name, value) for name, value in parts if value is not None)

    def remember_written(self, key: str, source: str) -> None:
        """Note what the kernel wrote into the answer cell assigning ``key`` (so an unedited cell can be updated)."""
        self.written[key] = source
        if self.store is not None:
            _save(self.store, self.replies, self.written)

    # ------------------------------------------------------------------ headless text

    def text(self) -> str:
        """Everything a learner needs without widgets: the critiques and where to answer."""
        n = len(self.rounds)
        example = ", ".join(f'"my reply to critique {i + 1}"' for i in range(n))
        out = [
            f"Role-play: a code review in {n} round{'s' if n != 1 else ''}.",
            f"Write your replies into `{self.answer_name}` as a list of strings, one per critique:",
            f"    {self.answer_name} = [{example}]",
            "",
            self.pause_prompt,  # it says "before you reply" itself
            "",
        ]
        for i, critique in enumerate(self.rounds):
            out.append(f"Critique {i + 1} of {n} ({self.reviewer}): {critique}")
            if self.curveball is not None and i == self.curveball.after_round and i + 1 < n:
                out += ["", f"Interruption: {self.curveball.text}", "Pause again before you go on.", ""]
        return "\n".join(out)

    def display(self, stream: TextIO | None = None) -> None:
        """Show the widgets in a notebook; print :meth:`text` when headless. Never blocks."""
        if stream is not None or not _frontend_available():
            print(self.text(), file=stream or sys.stdout)
            return
        from IPython.display import display

        box = self.widget
        bundle = box._repr_mimebundle_()
        bundle = bundle[0] if isinstance(bundle, tuple) else bundle
        bundle["text/plain"] = self.text()  # what nbclient/nbgrader store and show without a frontend
        display(bundle, raw=True)

    def _ipython_display_(self) -> None:
        self.display()

    # ------------------------------------------------------------------ widgets

    @property
    def widget(self) -> Any:
        """The ipywidgets VBox (built on first use)."""
        return self.widgets["box"]

    @property
    def widgets(self) -> dict[str, Any]:
        """The individual widgets, by name (tests click them)."""
        if self._widgets is None:
            import ipywidgets as w

            parts = {
                "header": w.HTML(),
                "critique": w.HTML(),
                "pause_prompt": w.HTML(),
                "pause_button": w.Button(description="I've paused", icon="pause", button_style="info",
                                         # never squeezed by the prompt beside it: the label stays whole
                                         layout=w.Layout(width="auto", min_width="max-content", flex="0 0 auto")),
                "reply": w.Textarea(placeholder=self.PLACEHOLDER_PAUSE, layout=w.Layout(width="100%", height="8em")),
                "submit": w.Button(description="Send reply", button_style="primary", layout=w.Layout(width="auto")),
                "feedback": w.HTML(),
                "next": w.Button(description="Next", layout=w.Layout(width="auto")),
                "again": w.Button(description="Go through it again", icon="redo", layout=w.Layout(width="auto")),
            }
            def then_focus_reply(action):
                # A clicked button keeps the focus, and keys typed on a focused button go to
                # the notebook's command-mode shortcuts: hand the focus back to the reply box.
                def handler(_button: Any) -> None:
                    action()
                    if self.stage != "done":
                        parts["reply"].focus()

                return handler

            parts["pause_button"].on_click(then_focus_reply(self.pause))
            parts["submit"].on_click(then_focus_reply(lambda: self.submit(parts["reply"].value)))
            parts["next"].on_click(then_focus_reply(self.next))
            parts["again"].on_click(then_focus_reply(self.restart))
            parts["box"] = w.VBox(
                [
                    parts["header"],
                    parts["critique"],
                    w.HBox([parts["pause_prompt"], parts["pause_button"]]),
                    parts["reply"],
                    w.HBox([parts["submit"], parts["next"], parts["again"]]),
                    parts["feedback"],
                ]
            )
            self._widgets = parts
            self._render()
        return self._widgets

    def _render(self, note: str = "") -> None:
        if self._widgets is None:
            return
        p = self._widgets
        n = len(self.rounds)
        stage = self.stage
        p["header"].value = f"<b>{esc(self.title)} — round {min(self.round + 1, n)} of {n}</b>"
        if stage == "curveball" and self.curveball is not None:
            p["critique"].value = (
                "<div style='border-left:4px solid #9a6700;padding:4px 8px;background:#fff8c5'>"
                f"{esc(self.curveball.text)}</div>"
            )
            p["pause_prompt"].value = f"<i>Pause again before you go on. {esc(self.pause_prompt)}</i>"
        elif stage == "done":
            n_rep = len(self.replies)
            cells = " and ".join(f"<code>{esc(name)} = \u2026</code>" for name in self.answers)
            p["critique"].value = (
                f"<div>That was the last round. Your {n_rep} repl{'y is' if n_rep == 1 else 'ies are'} in "
                f"<code>{esc(self.answer_name)}</code>. <b>Now run the answer cell{'s' if len(self.answers) > 1 else ''} "
                f"below</b> ({cells}): running {'them' if len(self.answers) > 1 else 'it'} writes your replies there "
                "as code, so they are saved with the notebook and graded; you can still edit them there.</div>"
            )
            p["pause_prompt"].value = ""
        else:
            p["critique"].value = (
                f"<div style='border-left:4px solid #57606a;padding:4px 8px'><b>{esc(self.reviewer)}:</b> "
                f"{esc(self.rounds[self.round])}</div>"
            )
            p["pause_prompt"].value = f"<i>{esc(self.pause_prompt)}</i>" if stage == "pause" else ""
        p["pause_button"].disabled = stage not in ("pause", "curveball")
        p["pause_button"].layout.display = None if stage in ("pause", "curveball") else "none"
        # Never disabled while a round is open (see the module docstring): a disabled box
        # cannot take the focus, so typed keys would reach the notebook's shortcuts.
        p["reply"].disabled = False
        p["reply"].placeholder = (
            self.PLACEHOLDER_REPLY if stage in ("reply", "feedback")
            else self.PLACEHOLDER_PAUSE_AGAIN if stage == "curveball" else self.PLACEHOLDER_PAUSE
        )
        p["submit"].disabled = stage not in ("reply", "feedback")
        p["next"].disabled = stage != "feedback"
        p["next"].description = "Finish" if self.round + 1 >= n else self.next_label
        done = "none" if stage == "done" else None
        p["reply"].layout.display = done
        p["submit"].layout.display = done
        p["next"].layout.display = done
        p["again"].layout.display = None if stage == "done" else "none"
        fb = self.feedback[self.round] if stage == "feedback" and self.round < len(self.feedback) else None
        parts = [f"<div style='color:#cf222e'>{esc(note)}</div>"] if note else []
        if self.resumed and stage in ("pause", "done") and self.round <= self.resumed:
            parts.append(
                f"<div style='color:#57606a'>Your {self.resumed} earlier repl{'y is' if self.resumed == 1 else 'ies are'} "
                f"kept in <code>{esc(self.answer_name)}</code>"
                + (f"; carrying on with critique {self.round + 1}." if stage == "pause" else ".") + "</div>"
            )
        if fb is not None:
            parts.append(
                f"<div style='color:#0969da'>Saved as reply {self.round + 1} in <code>{esc(self.answer_name)}</code>. "
                "You can edit and send again, or go on.</div>" + fb.html()
            )
        p["feedback"].value = "".join(parts)
