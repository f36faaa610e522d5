"""An optional, anonymous, ungraded team retro: Edmondson's (1999) team psychological-safety scale.

Seven items (Edmondson, A. (1999). Psychological safety and learning behavior in work teams.
*Administrative Science Quarterly*, 44(2), 350–383), each answered on a 7-point scale from
1 (very inaccurate) to 7 (very accurate); items 1, 3 and 5 are negatively worded and are
reverse-scored (8 − answer) for the scale score.

Anonymity, by construction:

* :func:`save_retro` writes **only** the seven numbers and a format version — no name, no user
  id, no timestamp, no notebook path — into a file with a random name (``uuid4``) in the drop
  folder; nothing about the learner goes into the content or the name. (On a shared disk the
  operating system still records the file's owner: a hub should collect the answers through a
  service account, or point learners at a folder whose owner is reset, if that matters.)
* :func:`aggregate_retro` returns **None** unless at least five answers exist (``min_answers``
  may raise that floor, never lower it), and then only means, a distribution per item and the
  count — never one person's answers.

The drop folder is ``$COURSEKIT_RETRO_DIR``, else ``retro/`` beside the progress file.

For the facilitator's page (built elsewhere)::

    from coursekit.retro import aggregate_retro
    summary = aggregate_retro("/srv/workshop/retro")      # None while fewer than 5 answers exist
    if summary is not None:
        summary["n"], summary["scale_mean"], summary["items"][0]["mean"], summary["items"][0]["counts"]

Nothing here knows any course, and no answer is ever graded.
"""

from __future__ import annotations

import json
import os
import statistics
import uuid
from pathlib import Path
from typing import Any, Mapping, Sequence

from .progress_store import progress_path

__all__ = ["ITEMS", "MIN_ANSWERS", "REVERSED", "SCALE", "aggregate_retro", "retro_dir", "retro_form", "retro_text", "save_retro"]

#: The seven items (Edmondson 1999), in the original order.
ITEMS: tuple[str, ...] = (
    "If you make a mistake on this team, it is often held against you.",
    "Members of this team are able to bring up problems and tough issues.",
    "People on this team sometimes reject others for being different.",
    "It is safe to take a risk on this team.",
    "It is difficult to ask other members of this team for help.",
    "No one on this team would deliberately act in a way that undermines my efforts.",
    "Working with members of this team, my unique skills and talents are valued and utilized.",
)
#: Indices (0-based) of the negatively worded items, reverse-scored.
REVERSED = frozenset({0, 2, 4})
#: The answer scale.
SCALE = (1, 7)
SCALE_LABELS = {1: "very inaccurate", 4: "neither", 7: "very accurate"}
#: Below this many answers nothing is aggregated.
MIN_ANSWERS = 5
_VERSION = 1


def retro_dir() -> Path:
    env = os.environ.get("COURSEKIT_RETRO_DIR")
    return Path(env).expanduser() if env else progress_path().with_name("retro")


def _valid(answers: Any) -> list[int] | None:
    if isinstance(answers, Mapping):
        answers = [answers.get(i + 1, answers.get(str(i + 1))) for i in range(len(ITEMS))]
    if not isinstance(answers, (list, tuple)) or len(answers) != len(ITEMS):
        return None
    out = []
    for a in answers:
        if isinstance(a, bool) or not isinstance(a, int) or not SCALE[0] <= a <= SCALE[1]:
            return None
        out.append(a)
    return out


def save_retro(answers: Sequence[int] | Mapping[int, int], folder: str | os.PathLike[str] | None = None) -> Path:
    """Save one anonymous answer (seven whole numbers 1–7, in item order) and return the file written.

    Raises:
        ValueError: not seven whole numbers from 1 to 7 (nothing is written).
    """
    valid = _valid(answers)
    if valid is None:
        raise ValueError(f"the retro takes {len(ITEMS)} whole numbers from {SCALE[0]} to {SCALE[1]}, one per item")
    target = Path(folder) if folder is not None else retro_dir()
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{uuid.uuid4().hex}.json"
    tmp = target / f".{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps({"v": _VERSION, "answers": valid}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _load(folder: Path) -> list[list[int]]:
    found = []
    for p in sorted(folder.glob("*.json")):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        valid = _valid(data.get("answers")) if isinstance(data, dict) and data.get("v") == _VERSION else None
        if valid is not None:
            found.append(valid)
    return found


def aggregate_retro(folder: str | os.PathLike[str] | None = None, min_answers: int = MIN_ANSWERS) -> dict | None:
    """The team's aggregate, or None while fewer than ``max(5, min_answers)`` valid answers exist.

    Returns ``{"n", "scale_mean", "items": [{"item", "reversed", "mean", "counts": {1..7: k}}, ...]}``:
    ``mean`` is the raw mean of that item's answers; ``scale_mean`` averages every answer after
    reverse-scoring items 1, 3 and 5 (higher = safer). Damaged or foreign files are skipped.
    """
    floor = max(MIN_ANSWERS, int(min_answers))
    target = Path(folder) if folder is not None else retro_dir()
    if not target.is_dir():
        return None
    answers = _load(target)
    if len(answers) < floor:
        return None
    items = []
    for i, text in enumerate(ITEMS):
        col = [a[i] for a in answers]
        items.append({"item": text, "reversed": i in REVERSED, "mean": round(statistics.fmean(col), 2),
                      "counts": {k: col.count(k) for k in range(SCALE[0], SCALE[1] + 1)}})
    scored = [(8 - a[i]) if i in REVERSED else a[i] for a in answers for i in range(len(ITEMS))]
    return {"n": len(answers), "scale_mean": round(statistics.fmean(scored), 2), "items": items}


def retro_text() -> str:
    """The retro as plain text: the items, the scale, and how to save without widgets."""
    lines = [f"{i + 1}. {t}" for i, t in enumerate(ITEMS)]
    return ("Optional team retro (anonymous, ungraded). Answer 1 (very inaccurate) to 7 (very accurate):\n"
            + "\n".join(lines) + "\nWithout widgets, run: save_retro([a1, a2, a3, a4, a5, a6, a7])")


def retro_form(folder: str | os.PathLike[str] | None = None) -> None:
    """Show seven sliders and a Save button (ipywidgets); print the text when there is no frontend.

    Nothing is saved until the learner presses the button (or calls :func:`save_retro`)."""
    from .display import esc, in_kernel

    if os.environ.get("COURSEKIT_HEADLESS") or not in_kernel():
        print(retro_text())
        return None
    import ipywidgets as w

    sliders = [w.IntSlider(value=4, min=1, max=7, description=f"{i + 1}", continuous_update=False) for i in range(7)]
    status = w.HTML()
    button = w.Button(description="Save anonymously", button_style="primary", layout=w.Layout(width="auto"))

    def save(_b):
        save_retro([s.value for s in sliders], folder)
        button.disabled = True
        status.value = "<i>Saved, without your name. Thank you.</i>"

    button.on_click(save)
    rows = [w.VBox([w.HTML(f"<b>{i + 1}.</b> {esc(t)}"), s]) for i, (t, s) in enumerate(zip(ITEMS, sliders))]
    box = w.VBox([w.HTML("1 = very inaccurate … 7 = very accurate"), *rows, button, status])
    from IPython.display import display

    bundle = box._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    bundle["text/plain"] = retro_text()  # what a notebook without a frontend stores and shows
    display(bundle, raw=True)
