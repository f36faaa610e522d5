"""Run one (learner, module) job: ``python -m coursekit.grading.worker``.

The job arrives as JSON on stdin (so the hidden tests never touch the disk);
results leave as JSON lines on stdout, one per cell as it finishes, so the
parent keeps what was graded even if it has to kill this process. The kernel
gets an empty working directory, a scrubbed environment and /dev/null for its
standard streams; pass/fail comes from each execute_reply's status plus a
per-segment completion marker, never from output text.
"""
from __future__ import annotations

import ast
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

from ..hidden_topics import outermost_line, topic_at
from . import sandbox

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRACEBACK_CAP = 4000
CAPTURE_CHARS = 3000  # of a visible test's printed output, kept for the feedback


class Emitter:
    def __init__(self, stream):
        self.stream = stream

    def __call__(self, **event):
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()


def clean_traceback(lines: list[str]) -> str:
    text = ANSI.sub("", "\n".join(lines or []))
    text = "\n".join(line for line in text.splitlines() if "__cup_done__" not in line)
    if len(text) > TRACEBACK_CAP:
        text = "…\n" + text[-TRACEBACK_CAP:]
    return text


def kernel_env(workdir: str) -> dict[str, str]:
    bindir = os.path.dirname(sys.executable)
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(workdir, ".config", "matplotlib"),
        "IPYTHONDIR": os.path.join(workdir, ".ipython"),
        "JUPYTER_CONFIG_DIR": os.path.join(workdir, ".jupyter"),
        "JUPYTER_DATA_DIR": os.path.join(workdir, ".local", "share", "jupyter"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "COURSEKIT_GRADING": "1",
    }


class Kernel:
    """An ipykernel in its own empty directory, driven over ZMQ."""

    def __init__(self, job: dict, root: str):
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        self.captured: str | None = None
        self.workdir = os.path.join(root, "work")
        rundir = os.path.join(root, "run")
        os.makedirs(self.workdir, mode=0o700)
        os.makedirs(rundir, mode=0o700)
        conn, _info = write_connection_file(os.path.join(rundir, "kernel.json"), ip="127.0.0.1",
                                            key=secrets.token_hex(16).encode())
        limits = (int(job.get("memory_mb", 0)) * 2**20, int(job.get("file_mb", 0)) * 2**20)

        def preexec():
            import resource

            sandbox.drop_privileges()

            if limits[0]:
                resource.setrlimit(resource.RLIMIT_AS, (limits[0], limits[0]))
            if limits[1]:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limits[1], limits[1]))

        cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", conn,
               "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True"]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=kernel_env(self.workdir),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=preexec)
        self.kc = BlockingKernelClient()
        self.kc.load_connection_file(conn)
        self.kc.start_channels()
        deadline = time.monotonic() + float(job.get("startup_timeout", 60))
        while True:
            if not self.alive:
                raise RuntimeError("the Python kernel exited while starting")
            try:
                self.kc.wait_for_ready(timeout=1)
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the Python kernel did not start in time") from None
        os.unlink(conn)  # the kernel has read it; keep the working area empty
        self.output_bytes, self.idle, self.current = 0, False, None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        if self.alive:
            self.proc.kill()
            self.proc.wait()

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
            try:
                reply = self.kc.get_shell_msg(timeout=0.05)
            except Empty:
                reply = None
            if reply is not None and reply.get("parent_header", {}).get("msg_id") == msg_id:
                c = reply["content"]
                self._drain(wait=5.0)  # all of this cell's output, so the count is exact
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


def _expr_value(reply: dict, key: str):
    e = (reply.get("expressions") or {}).get(key) or {}
    if e.get("status") != "ok":
        return None
    try:
        return ast.literal_eval(e.get("data", {}).get("text/plain", "None"))
    except (ValueError, SyntaxError):
        return None


GUARD = "__import__('sys').modules['_cup_guard'].guard"


def preamble(job: dict) -> str:
    src = (Path(__file__).with_name("kernel_guard.py")).read_text()
    return (
        "def __cup_setup(src, modules, sockets):\n"
        "    import sys, types\n"
        "    m = types.ModuleType('_cup_guard')\n"
        "    m.__dict__['get_ipython'] = get_ipython\n"
        "    exec(compile(src, '<grader>', 'exec'), m.__dict__)\n"
        "    m.guard = m._Guard(modules)\n"
        "    if sockets:\n"
        "        m._install_socket_guard()\n"
        "    sys.modules['_cup_guard'] = m\n"
        f"__cup_setup({src!r}, {job.get('guard_modules', [])!r}, {bool(job.get('socket_guard'))!r})\n"
        "del __cup_setup\n"
    )


def run_job(job: dict, emit: Emitter) -> None:
    timeout, grace = float(job.get("cell_timeout", 60)), float(job.get("interrupt_grace", 5))
    with tempfile.TemporaryDirectory(prefix="cup-") as root:
        try:
            kernel = Kernel(job, root)
        except Exception as exc:  # noqa: BLE001 - reported as "could not grade"
            emit(event="fatal", error=f"{type(exc).__name__}: {exc}")
            return
        try:
            r = kernel.run(preamble(job), 60, grace)
            if r["status"] != "ok":
                emit(event="fatal", error=f"grader preamble failed: {r.get('ename')}: {r.get('evalue')}")
                return
            emit(event="ready")
            for step in job["steps"]:
                if not _run_step(kernel, step, timeout, grace, emit):
                    break
            emit(event="done")
        finally:
            kernel.kill()
            kernel.kc.stop_channels()


def _run_step(kernel: Kernel, step: dict, timeout: float, grace: float, emit: Emitter) -> bool:
    sid, role = step["id"], step["role"]
    emit(event="start", id=sid)
    result: dict = {"event": "step", "id": sid}
    if role in ("setup", "answer"):
        r = kernel.run(step["code"], timeout, grace)
        result.update(status=r["status"], seconds=r["seconds"], output_bytes=r["output_bytes"])
        if r["status"] == "error":
            result.update(ename=r["ename"], evalue=r["evalue"],
                          traceback=clean_traceback(r["traceback"]) if role == "answer" else "")
        if r.get("killed"):
            result["killed"] = True
        if role == "setup" and step.get("binds") and r["status"] in ("ok", "error"):
            kernel.run(f"{GUARD}.register({step['binds']!r})", 30, grace)
    else:  # test: before each segment restore the helpers, then run it with a completion marker
        result.update(status="ok", seconds=0.0, output_bytes=0, restored=[])
        for k, seg in enumerate(step["segments"]):
            g = kernel.run(f"__cup_r__ = {GUARD}.restore()\n__cup_done__ = None", 30, grace, {"r": "__cup_r__"})
            if g["status"] in ("died", "timeout"):
                result.update(status=g["status"], segment=k, hidden=seg["kind"] == "hidden", ename="")
                break
            restored = _expr_value(g, "r") if g["status"] == "ok" else None
            for name in restored if restored is not None else ["the grader's own guard"]:
                if name not in result["restored"]:
                    result["restored"].append(name)
            kernel.run("del __cup_r__", 30, grace)
            nonce = secrets.token_hex(8)
            r = kernel.run(f"{seg['code']}\n__cup_done__ = {nonce!r}", timeout, grace, {"d": "__cup_done__"},
                           capture=seg["kind"] != "hidden")
            result["seconds"] += r["seconds"]
            result["output_bytes"] += r["output_bytes"]
            if r["status"] == "ok" and _expr_value(r, "d") != nonce:
                r = dict(r, status="error", ename="GradingError",
                         evalue="the test did not run to completion (the grader's completion marker is missing)")
                result["tampered"] = True
            if r["status"] != "ok":
                hidden = seg["kind"] == "hidden"
                result.update(status=r["status"], segment=k, hidden=hidden, ename=r.get("ename", ""))
                if not hidden:  # hidden-test messages and tracebacks never leave this process
                    result.update(evalue=r.get("evalue", ""), traceback=clean_traceback(r.get("traceback", [])),
                                  output=r.get("text", ""))
                else:  # ... only the author's `# about:` label of the part that failed
                    about = topic_at(seg["code"], outermost_line(r.get("traceback") or []))
                    if about:
                        result["about"] = about
                if r.get("killed"):
                    result["killed"] = True
                break
        if kernel.alive:
            kernel.run(f"{GUARD}.scrub()", 30, grace)
    emit(**result)
    return kernel.alive


def main() -> int:
    sandbox.not_dumpable()  # before the job (and its hidden tests) is read
    job = json.loads(sys.stdin.read())
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    emit = Emitter(out)
    try:
        info = sandbox.enter(job.get("sandbox") or {})
    except Exception as exc:  # noqa: BLE001
        emit(event="fatal", error=f"sandbox setup failed: {type(exc).__name__}: {exc}")
        return 0
    emit(event="sandbox", **info)
    run_job(job, emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
