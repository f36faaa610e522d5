"""A grading kernel that fails to start is the grader's problem: retried, then reported, never scored."""
from __future__ import annotations

import socket

import jupyter_client.connect
import pytest

from coursekit.grading import kernel as worker
from coursekit.grading.protocol import Job


def test_a_kernel_whose_port_was_taken_is_started_again(tmp_path, monkeypatch):
    # the race a loaded machine loses now and then: a port picked for the kernel is bound by
    # someone else before the kernel binds it, and the kernel exits while starting
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    real, calls = jupyter_client.connect.write_connection_file, []

    def first_one_collides(fname, **kw):
        calls.append(fname)
        if len(calls) == 1:
            kw["shell_port"] = taken.getsockname()[1]
        return real(fname, **kw)

    monkeypatch.setattr(jupyter_client.connect, "write_connection_file", first_one_collides)
    kernel = worker.Kernel(Job(steps=[], memory_mb=1000, learner="amy"), str(tmp_path))
    try:
        assert len(calls) == 2, "the first start should have failed on the taken port and been retried"
        r = kernel.run("x = 40 + 2", 30, 5, expressions={"x": "x"})
        assert r["status"] == "ok" and r["expressions"]["x"]["data"]["text/plain"] == "42"
    finally:
        kernel.kill()
        kernel.kc.stop_channels()
        taken.close()


def test_a_kernel_that_never_starts_says_why_after_three_tries(tmp_path, monkeypatch):
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho starting >&2\necho 'ModuleNotFoundError: No module named ipykernel' >&2\n"
                      "echo run >> \"$0.runs\"\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(worker.sys, "executable", str(broken))
    with pytest.raises(RuntimeError) as err:
        worker.Kernel(Job(steps=[], learner="amy"), str(tmp_path / "k"))
    assert str(err.value) == ("the Python kernel did not start (3 tries): it exited while starting "
                              "(ModuleNotFoundError: No module named ipykernel)")
    assert (tmp_path / "python.runs").read_text().count("run") == 3


def test_kernels_reserve_address_space_beyond_the_memory_cap_but_not_without_bound(tmp_path):
    kernel = worker.Kernel(Job(steps=[], memory_mb=300, learner="amy"), str(tmp_path))
    try:
        r = kernel.run("import resource; soft, hard = resource.getrlimit(resource.RLIMIT_AS)", 30, 5,
                       expressions={"soft": "soft", "arenas": "__import__('os').environ['MALLOC_ARENA_MAX']",
                                    "learner": "__import__('os').environ['COURSEKIT_LEARNER']"})
        got = {k: v["data"]["text/plain"] for k, v in r["expressions"].items()}
        assert got == {"soft": str((300 + worker.ADDRESS_HEADROOM_MB) * 2**20), "arenas": "'2'", "learner": "'amy'"}
    finally:
        kernel.kill()
        kernel.kc.stop_channels()
