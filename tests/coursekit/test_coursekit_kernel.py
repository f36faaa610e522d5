"""coursekit inside a real IPython kernel, run headless by nbclient (as nbgrader autograde does)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.notebooks

SETUP = '''\
from coursekit import start, check, hint, reveal, progress
from coursekit.questions import Module, Question, register_module, expect
from coursekit.roleplay import Roleplay, HARSH_REVIEW, PAGER_ALERT

def check_double(ns):
    """double(4) is 8"""
    expect("double(4)", ns["double"](4), 8, advice="Multiply by two.")

_ = register_module(Module(id="90_kernel", title="Kernel demo", questions=[
    Question(id="dbl", title="Double it", checks=[check_double], hints=["What is 4 + 4?"]),
    Question(id="pr", title="PR text", kind="reflect", rubric="wip_pr"),
]))
start("90_kernel")'''

STUB = '''\
def double(x):
    # YOUR CODE HERE
    raise NotImplementedError()'''

BROKEN = '''\
def double(x):
    y = x * 2
    return y / 0'''


def run(cells: list[str], tmp_path) -> list[list[dict]]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return [cell.outputs for cell in nb.cells]


def texts(outputs: list[dict]) -> list[str]:
    found = []
    for out in outputs:
        if out["output_type"] == "stream":
            found.append(out["text"])
        elif "data" in out:
            found.append(out["data"].get("text/plain", ""))
    return found


def test_check_hint_roleplay_in_a_headless_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.delenv("COURSEKIT_PLAIN", raising=False)
    outputs = run(
        [
            SETUP,
            STUB,
            'check("dbl")',
            BROKEN,
            'r = check("dbl")\nbool(r)',
            "def double(x):\n    return 2 * x",
            'check("dbl")',
            'hint("dbl")',
            'pr = "YOUR ANSWER HERE"\ncheck("pr")',
            'Roleplay(list(HARSH_REVIEW), "review_replies", curveball=PAGER_ALERT).display()',
        ],
        tmp_path,
    )
    stub, broken, passed = outputs[2], outputs[4], outputs[6]
    # one display per check (no duplicate echo of the returned report), carrying text and HTML
    assert len(stub) == 1 and set(stub[0]["data"]) == {"text/plain", "text/html"}
    assert "not attempted yet" in stub[0]["data"]["text/plain"]
    assert "line 3 of your cell: raise NotImplementedError()" in stub[0]["data"]["text/plain"]
    broken_text = texts(broken)
    assert "your code raised ZeroDivisionError: division by zero" in broken_text[0]
    assert "line 3 of your cell: return y / 0" in broken_text[0]
    assert broken_text[1] == "False"
    assert len(passed) == 1 and "dbl — Double it: the check passes" in passed[0]["data"]["text/plain"]
    assert "#1a7f37" in passed[0]["data"]["text/html"]
    assert "Hint 1 of 1 for dbl: What is 4 + 4?" in texts(outputs[7])[0]
    assert "starter text" in texts(outputs[8])[0]
    roleplay = outputs[9]
    assert len(roleplay) == 1
    data = roleplay[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data  # a frontend renders the widget
    assert "review_replies = [" in data["text/plain"] and "Critique 3 of 3" in data["text/plain"]
