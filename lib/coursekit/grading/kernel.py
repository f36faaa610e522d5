"""One grading kernel: an ipykernel in its own empty directory, started, driven and stopped over ZMQ.

The kernel runs without capabilities (``sandbox.drop_privileges``), in the scrubbed
environment of ``kernel_env``, under an address-space, file-size and (in a user namespace)
process limit. A kernel that fails to start is started again; one that never starts raises
``RuntimeError`` saying why, which the worker reports as "could not grade", never as a score.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from queue import Empty

from . import sandbox
from .kernel_env import ANSI, kernel_env
from .protocol import Job
from .watchdog import OWNERS

CAPTURE_CHARS = 3000  # of a visible test's printed output, kept for the feedback
ADDRESS_HEADROOM_MB = 1024  # address space a kernel may reserve beyond the learner's memory
START_ATTEMPTS = 3  # tries to start a kernel before its question is "could not grade"


class Kernel:
    """An ipykernel in its own empty directory, driven over ZMQ."""

    def __init__(self, job: Job, root: str, pass_fds: tuple[int, ...] = (), report_fd: int | None = None,
                 question: int | None = None):
        self.captured: str | None = None
        self.learner = job.learner  # COURSEKIT_LEARNER in its environment: whose variant it grades
        self.workdir = os.path.join(root, "work")
        self.rundir = os.path.join(root, "run")
        os.makedirs(self.workdir, mode=0o700)
        os.makedirs(self.rundir, mode=0o700)
        # resident memory is the watchdog's to cap; the address-space limit only stops one huge
        # allocation between two of its looks, so it leaves room for what a process reserves
        # without using (thread stacks, malloc arenas, mapped libraries)
        limits = ((int(job.memory_mb) + ADDRESS_HEADROOM_MB) * 2**20 if job.memory_mb else 0,
                  int(job.file_mb) * 2**20,
                  int(job.max_processes) if job.sandbox.get("level") in ("full", "net") else 0)
        self.report_fd, self.report_buf, self.reports = report_fd, b"", []

        def preexec():
            import resource

            sandbox.drop_privileges()

            if limits[0]:
                resource.setrlimit(resource.RLIMIT_AS, (limits[0], limits[0]))
            if limits[1]:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limits[1], limits[1]))
            if limits[2]:  # in our own user namespace: counts only this learner's processes
                resource.setrlimit(resource.RLIMIT_NPROC, (limits[2], limits[2]))

        # No learner code has run before the kernel is ready, so a start that fails (a port
        # another kernel took between being picked and bound, a machine under load) is the
        # grader's to retry, never the learner's to lose points for.
        why = ""
        for _attempt in range(START_ATTEMPTS):
            why = self._start(preexec, pass_fds, question)
            if not why:
                break
        else:
            raise RuntimeError(f"the Python kernel did not start ({START_ATTEMPTS} tries): {why}")
        self.output_bytes, self.idle, self.current = 0, False, None

    def _start(self, preexec, pass_fds: tuple[int, ...], question: int | None) -> str:
        """Start the kernel and wait until it answers; '' when ready, else why it is not."""
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        conn, _info = write_connection_file(os.path.join(self.rundir, "kernel.json"), ip="127.0.0.1",
                                            key=secrets.token_hex(16).encode())
        errpath = os.path.join(self.rundir, "kernel.stderr")
        with open(errpath, "wb") as err:  # what the interpreter says if it dies before it is ready
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ipykernel_launcher", "-f", conn,
                 "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True"],
                cwd=self.workdir, env=kernel_env(self.workdir, self.learner), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err, preexec_fn=preexec, pass_fds=pass_fds)
        OWNERS[self.proc.pid] = question  # before it starts: the watchdog charges its tree to it
        self.kc = BlockingKernelClient()
        self.kc.load_connection_file(conn)
        # liveness is the process itself: no heartbeat thread to race a kernel that died at once
        self.kc.start_channels(hb=False)
        deadline = time.monotonic() + 60
        why = ""
        while not why:
            if not self.alive:
                why = "it exited while starting"
                break
            try:
                self.kc.wait_for_ready(timeout=1)
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    why = "it did not answer within 60 s"
        os.unlink(conn)  # the kernel has read it; keep the working area empty
        if why:
            self.kill()
            self.kc.stop_channels()
            OWNERS.pop(self.proc.pid, None)
            with open(errpath, "rb") as f:
                last = [ln for ln in f.read()[-2000:].decode("utf-8", "replace").splitlines() if ln.strip()]
            why += f" ({last[-1].strip()[:300]})" if last else ""
        return why

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        if self.alive:
            self.proc.kill()
            self.proc.wait()

    def read_reports(self) -> None:
        """What the guard wrote on its pipe: complete lines, kept (at most 2,000 of them)."""
        if self.report_fd is None:
            return
        while True:
            try:
                chunk = os.read(self.report_fd, 65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if not chunk:
                return
            self.report_buf += chunk
            *lines, self.report_buf = self.report_buf.split(b"\n")
            self.report_buf = self.report_buf[-4096:]
            for line in lines:
                if len(self.reports) < 2000:
                    self.reports.append(line.decode("utf-8", "replace"))

    def _drain(self, wait: float = 0.0) -> None:
        """Read, count and drop pending output; with ``wait``, until the current request's idle status."""
        deadline = time.monotonic() + wait
        for _ in range(100_000 if wait else 2_000):
            if wait and self.idle:
                return
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.0, min(0.05, deadline - time.monotonic())))
            except Empty:
                if time.monotonic() >= deadline:
                    return
                continue
            content = msg.get("content", {})
            if (msg.get("msg_type") == "status" and content.get("execution_state") == "idle"
                    and msg.get("parent_header", {}).get("msg_id") == self.current):
                self.idle = True
            self.output_bytes += len(content.get("text", "")) + sum(
                len(str(v)) for v in (content.get("data") or {}).values())
            if self.captured is not None and len(self.captured) < CAPTURE_CHARS and (
                    msg.get("parent_header", {}).get("msg_id") == self.current):
                if msg.get("msg_type") == "stream":
                    self.captured += content.get("text", "")
                elif msg.get("msg_type") in ("display_data", "execute_result"):
                    self.captured += str((content.get("data") or {}).get("text/plain", "")) + "\n"

    def run(self, code: str, timeout: float, grace: float, expressions: dict | None = None,
            capture: bool = False) -> dict:
        """Execute one piece of code; return {'status': ok|error|timeout|died, ...}.

        With ``capture``, the result's ``text`` holds the first CAPTURE_CHARS of its plain-text
        output (what ``check`` printed, for feedback on a failed visible test)."""
        self.output_bytes, self.idle = 0, False
        self.captured = "" if capture else None
        msg_id = self.current = self.kc.execute(code, silent=False, store_history=False,
                                 user_expressions=expressions or {}, allow_stdin=False, stop_on_error=False)
        start = time.monotonic()
        deadline, interrupted = start + timeout, False
        while True:
            self._drain()
            self.read_reports()
            try:
                reply = self.kc.get_shell_msg(timeout=0.05)
            except Empty:
                reply = None
            if reply is not None and reply.get("parent_header", {}).get("msg_id") == msg_id:
                c = reply["content"]
                self._drain(wait=5.0)  # all of this cell's output, so the count is exact
                self.read_reports()
                out = {"status": c.get("status", "error"), "seconds": time.monotonic() - start,
                       "output_bytes": self.output_bytes}
                if self.captured is not None:
                    cut = len(self.captured) > CAPTURE_CHARS
                    out["text"] = ANSI.sub("", self.captured[:CAPTURE_CHARS]) + ("\n… (cut)" if cut else "")
                if out["status"] != "ok":
                    out.update(ename=str(c.get("ename", "")), evalue=str(c.get("evalue", ""))[:1000],
                               traceback=c.get("traceback") or [])
                out["expressions"] = c.get("user_expressions") or {}
                if interrupted:
                    out["status"] = "timeout"
                return out
            if not self.alive:
                return {"status": "died", "seconds": time.monotonic() - start, "output_bytes": self.output_bytes}
            now = time.monotonic()
            if now > deadline and not interrupted:
                interrupted = True
                try:
                    os.kill(self.proc.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
                deadline = now + grace
            elif now > deadline and interrupted:
                self.kill()
                return {"status": "timeout", "killed": True, "seconds": now - start,
                        "output_bytes": self.output_bytes}
