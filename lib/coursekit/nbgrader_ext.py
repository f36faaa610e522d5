"""nbgrader preprocessors the course plugs in through `nbgrader_config.py` (nbgrader itself is unchanged).

* `ExecuteWithDeadline` — nbgrader's `Execute` with a whole-notebook time budget on top of the
  per-cell timeout: once the budget is spent, the remaining code cells are not run and carry a
  `NotebookTimeoutError` output instead (so their tests score zero and the feedback says why).
  Each notebook's kernel also gets its own scratch folder for coursekit's progress file and
  hypothesis' storage: otherwise every learner's `progress()` read (and showed in feedback)
  one shared file, and `.hypothesis/` landed in the released feedback. The kernel also gets
  `COURSEKIT_LEARNER` = the student id being graded, so it computes that learner's variant
  (`coursekit.variants`), not the instructor's.
* `StripHiddenTestTracebacks` — for feedback: in an autograder test cell that holds hidden tests,
  an error output keeps only what a learner may see. A failure on a *visible* line keeps its
  exception name and message (e.g. the `check()` mismatch); a failure inside the hidden region,
  or one we cannot place, keeps only the exception name. The raw traceback is always dropped,
  because IPython prints the failing source line and its neighbours. Run it *before*
  `ClearHiddenTests`, which removes the hidden source itself.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from typing import Any

from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float, Unicode

from coursekit.hidden_topics import BEGIN_HIDDEN, END_HIDDEN, cell_lines, hidden_line_numbers, topic_at

__all__ = ["ExecuteWithDeadline", "StripHiddenTestTracebacks", "hidden_line_numbers"]


class StripHiddenTestTracebacks(NbGraderPreprocessor):
    """Replace error outputs of hidden-test cells with a message that reveals no hidden source."""

    begin_test_delimeter = Unicode(BEGIN_HIDDEN, help="Marker line that opens hidden tests (as nbgrader's "
                                   "ClearHiddenTests).").tag(config=True)
    end_test_delimeter = Unicode(END_HIDDEN, help="Marker line that closes hidden tests.").tag(config=True)

    hidden_message = Unicode(
        "{ename} raised inside a hidden test.{about} The hidden tests are not shown; "
        "re-read the task, run check() again and test the edge cases yourself.",
        help="Replacement text for a failure in the hidden region ({ename} is substituted, and {about} "
        "by ' It checks <label>.' when the failing part has a `# about:` label).",
    ).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        hidden = hidden_line_numbers(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        if not hidden:
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            ename = str(output.get("ename", "Error"))
            frames = cell_lines(output.get("traceback", []), cell.get("execution_count"))
            where = set(frames)
            if where and not (where & hidden):
                text = f"{ename}: {output.get('evalue', '')}".rstrip(": ")
            else:
                # the author's learner-facing `# about:` label of the part that failed, if any
                about = topic_at(cell.source, frames[0] if frames else None)
                text = self.hidden_message.format(ename=ename, about=f" It checks {about}." if about else "")
                output["evalue"] = ""
            output["traceback"] = [text]
        return cell, resources


class ExecuteWithDeadline(Execute):
    """nbgrader's Execute plus a budget for the whole notebook (seconds, wall time)."""

    notebook_timeout = Float(
        600.0, help="Seconds for all cells of one notebook together; later cells are skipped."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        self._deadline = None  # the budget starts with the first cell, not with kernel startup
        self._scratch = tempfile.mkdtemp(prefix="cup-autograde-")
        self._student = str(((resources or {}).get("nbgrader") or {}).get("student") or "")
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def kernel_env(self) -> dict[str, str]:
        """The kernel's environment: this notebook's own progress file and hypothesis storage
        (in the scratch folder `preprocess` makes and removes), and the student graded as
        ``COURSEKIT_LEARNER`` (their variant; nbgrader's student id is their hub user name)."""
        env = {**os.environ,
               "COURSEKIT_PROGRESS": os.path.join(self._scratch, "progress.json"),
               "HYPOTHESIS_STORAGE_DIRECTORY": os.path.join(self._scratch, "hypothesis")}
        student = getattr(self, "_student", "")
        if student:
            env["COURSEKIT_LEARNER"] = student
        return env

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        kwargs.setdefault("env", self.kernel_env())
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds the sync wrapper to its own coroutine function at class creation
    start_new_kernel = run_sync(async_start_new_kernel)

    def _remaining(self) -> float:
        deadline = getattr(self, "_deadline", None)
        return float("inf") if deadline is None else deadline - time.monotonic()

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        timeout = super()._get_timeout(cell)
        remaining = self._remaining()
        if remaining == float("inf"):
            return timeout
        budget = max(1, math.ceil(remaining))
        return budget if timeout is None else min(timeout, budget)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if getattr(self, "_deadline", None) is None:
            self._deadline = time.monotonic() + self.notebook_timeout
        if cell.cell_type == "code" and self._remaining() <= 0:
            cell.outputs = [
                NotebookNode(
                    output_type="error",
                    ename="NotebookTimeoutError",
                    evalue=f"not run: the notebook used its {self.notebook_timeout:g} s budget",
                    traceback=[
                        f"NotebookTimeoutError: not run: the notebook used its {self.notebook_timeout:g} s budget"
                    ],
                )
            ]
            return cell, resources
        return super().preprocess_cell(cell, resources, index)
