"""The runner inside a real Jupyter kernel (where an asyncio loop is already running)."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).parent / "notebooks" / "cachesim_in_kernel.ipynb"


@pytest.mark.notebooks
def test_notebook_runs_in_a_kernel_with_nbclient(tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "1004 20 0.01" in texts
    # The demo renders as an HTML table and its figure as a PNG (inline backend).
    data = [o.get("data", {}) for o in outputs if o.output_type in ("execute_result", "display_data")]
    assert any("<table>" in d.get("text/html", "") for d in data)
    assert any("image/png" in d for d in data)


@pytest.mark.notebooks
def test_notebook_passes_nbval():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", str(NOTEBOOK), "-q", "-p", "no:cacheprovider",
         "-p", "no:xdist", "-o", "addopts="],
        capture_output=True, text=True, timeout=300, cwd=NOTEBOOK.parent,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "passed" in proc.stdout
