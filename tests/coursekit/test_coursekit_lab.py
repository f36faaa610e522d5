"""`make lab`'s server really starts: headless, on 127.0.0.1, serving exercises/ — as root too."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, proc: subprocess.Popen, lines: list[str]) -> dict:
    """GET a JSON document, retrying while the server has logged its URL but not yet listens."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=20) as r:
                return json.load(r)
        except urllib.error.URLError as exc:
            if not isinstance(exc.reason, ConnectionRefusedError) or time.monotonic() > deadline \
                    or proc.poll() is not None:
                raise AssertionError(f"{url.split('?')[0]}: {exc}\n" + "".join(lines[-20:])) from exc
            time.sleep(0.2)


@pytest.mark.notebooks
def test_headless_lab_serves_the_exercises_on_loopback(tmp_path):
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "coursekit.lab", "--headless", "--port", str(_free_port())],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []
    try:
        deadline, url = time.monotonic() + 90, None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            lines.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+)/\S*\?token=(\w+)", line)
            if m:
                url = m.groups()
        assert url, "JupyterLab printed no http://127.0.0.1 URL:\n" + "".join(lines[-30:])
        base, token = url
        listing = _get_json(f"{base}/api/contents?token={token}", proc, lines)
        names = {item["name"] for item in listing["content"]}
        assert {"00_orientation", "01_lru"} <= names, names
        specs = _get_json(f"{base}/api/kernelspecs?token={token}", proc, lines)["kernelspecs"]
        notebook = json.loads((ROOT / "exercises" / "00_orientation" / "00_orientation.ipynb").read_text())
        wanted = notebook["metadata"]["kernelspec"]["name"]
        assert wanted in specs, sorted(specs)
        # the notebooks' kernel is this environment's Python, not another one on the machine
        assert os.path.abspath(specs[wanted]["spec"]["argv"][0]) == os.path.abspath(sys.executable)
        # a notebook reaches JupyterLab with the kernel's own language_info, so that the kernel
        # starting changes nothing and the notebook is not marked unsaved on open (issue 11, item 7)
        from ipykernel.ipkernel import IPythonKernel

        served = _get_json(f"{base}/api/contents/00_orientation/00_orientation.ipynb?content=1&token={token}",
                           proc, lines)["content"]
        assert served["metadata"]["language_info"] == IPythonKernel.language_info
        assert json.loads((ROOT / "exercises" / "00_orientation" / "00_orientation.ipynb").read_text()) == notebook
        # learners get no instructor UI (formgrader, create assignment) and no news pop-up
        with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=20) as r:
            page = r.read().decode()
        config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      page, re.S).group(1))
        disabled = set(config["disabledExtensions"])
        assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list",
                "@jupyter/nbgrader:validate-assignment", "@jupyterlab/apputils-extension:announcements"} <= disabled
        assert "@jupyter/nbgrader" not in disabled  # the Assignments tab (fetch, submit) stays for learners
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/formgrader?token={token}", timeout=20)
        assert missing.value.code == 404
        if os.geteuid() == 0:
            assert any("--allow-root" in line for line in lines), "as root, say why --allow-root is used"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
