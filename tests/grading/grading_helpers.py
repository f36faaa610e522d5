"""Helpers of the grading tests: run the CLI, read its outputs, a local TCP server."""
from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grading_course as fc  # noqa: E402

CELL_TIMEOUT = "10"


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coursekit.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@dataclass
class GradingRun:
    out: Path
    proc: subprocess.CompletedProcess
    seconds: float
    accepted: list = field(default_factory=list)
    probe_planted: bool = False
    rerun: "GradingRun | None" = None

    def to_json(self) -> str:
        def enc(run):
            return None if run is None else {
                "out": str(run.out), "seconds": run.seconds, "accepted": run.accepted,
                "probe_planted": run.probe_planted, "rerun": enc(run.rerun),
                "proc": {"args": run.proc.args, "returncode": run.proc.returncode,
                         "stdout": run.proc.stdout, "stderr": run.proc.stderr}}
        return json.dumps(enc(self))

    @classmethod
    def from_json(cls, text: str) -> "GradingRun":
        def dec(d):
            if d is None:
                return None
            p = d["proc"]
            return cls(Path(d["out"]), subprocess.CompletedProcess(p["args"], p["returncode"], p["stdout"],
                                                                   p["stderr"]),
                       d["seconds"], d["accepted"], d["probe_planted"], dec(d["rerun"]))
        return dec(json.loads(text))

    @property
    def csv_text(self) -> str:
        return (self.out / "grades.csv").read_text()

    @property
    def rows(self) -> dict[tuple[str, str, str], dict]:
        return {(r["learner"], r["module"], r["question"]): r
                for r in csv.DictReader(self.csv_text.splitlines())}

    def row(self, learner: str, question: str, module: str = "00_basics") -> dict:
        return self.rows[(learner, module, question)]

    def feedback(self, learner: str, module: str = "00_basics") -> str:
        import html
        import re

        text = (self.out / "feedback" / learner / f"{module}.html").read_text()
        text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
        text = re.sub(r"</?code>", "`", text)
        return html.unescape(re.sub(r"<[^>]+>", " ", text))

    @property
    def summary(self) -> dict:
        return json.loads((self.out / "summary.json").read_text())


class Server:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted: list = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(addr)
            conn.close()

    def close(self):
        self._stop.set()
        self.thread.join()
        self.sock.close()


def grade_folder(submissions: Path, out: Path, *extra: str) -> GradingRun:
    t0 = time.monotonic()
    proc = run_cli("grade", str(submissions), "--out", str(out), "--source", str(fc.SOURCE),
                   "--cell-timeout", CELL_TIMEOUT, "--notebook-timeout", "120", "--jobs", "2", *extra)
    return GradingRun(out, proc, time.monotonic() - t0)
