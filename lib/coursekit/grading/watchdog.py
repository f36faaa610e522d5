"""The learner's limits, per learner not per process: a thread in the grading worker.

Every kernel of a job and everything those kernels start stay below the worker (it is a child
subreaper), so one walk of its process tree sees the learner's whole footprint. The watchdog
sums resident memory and threads over that tree every 0.2 s; past ``Job.memory_mb`` or
``Job.max_processes`` it stops the kernel tree holding the most and reports a ``limit`` event
naming the question that kernel grades.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Callable

from .protocol import Job

#: kernel pid -> the question it grades (written by the worker before the kernel starts)
OWNERS: dict[int, int | None] = {}


class Watchdog(threading.Thread):
    """Holds the learner's whole process tree (every kernel and what they started) to the job's limits."""

    def __init__(self, job: Job, emit: Callable[..., None]):
        super().__init__(daemon=True)
        self.job, self.emit, self.stop = job, emit, threading.Event()
        self.me, self.sid = os.getpid(), os.getsid(0)
        self.page = os.sysconf("SC_PAGE_SIZE")

    def tree(self) -> dict[int, tuple[int, int, int]]:
        """pid -> (resident bytes, threads, owning kernel pid or 0), for every process below this
        worker (a child subreaper, so orphans of a double fork come back to it)."""
        procs: dict[int, tuple[int, int]] = {}  # pid -> (ppid, 0)
        todo = [self.me]
        while todo:
            p = todo.pop()
            try:
                tasks = os.listdir(f"/proc/{p}/task")
            except OSError:
                continue
            for t in tasks:
                try:
                    with open(f"/proc/{p}/task/{t}/children") as f:
                        kids = [int(x) for x in f.read().split()]
                except (OSError, ValueError):
                    continue
                for k in kids:
                    if k not in procs:
                        procs[k] = (p, 0)
                        todo.append(k)
        mine = set(procs)
        mine.discard(self.me)
        owner = {}
        for p in mine:
            k, seen = p, 0
            while k in procs and k not in OWNERS and seen < 64:
                k, seen = procs[k][0], seen + 1
            owner[p] = k if k in OWNERS else 0
        out = {}
        for p in mine:
            try:
                with open(f"/proc/{p}/statm") as f:
                    rss = int(f.read().split()[1]) * self.page
                with open(f"/proc/{p}/status") as f:
                    threads = next((int(line.split()[1]) for line in f if line.startswith("Threads:")), 1)
                out[p] = (rss, threads, owner[p])
            except (OSError, ValueError, IndexError):
                continue
        return out

    def run(self) -> None:
        limit_bytes = self.job.memory_mb * 2**20
        while not self.stop.wait(0.2):
            t = self.tree()
            rss = sum(v[0] for v in t.values())
            tasks = sum(v[1] for v in t.values())
            what = ("memory", rss / 2**20) if limit_bytes and rss > limit_bytes else (
                ("processes", tasks) if tasks > self.job.max_processes else None)
            if what:  # stop the kernel (with all it started) that holds the most; orphans count as one
                groups: dict[int, list[int]] = {}
                for p, v in t.items():
                    groups.setdefault(v[2], []).append(p)
                size = (lambda g: sum(t[p][0] for p in groups[g])) if what[0] == "memory" else (
                    lambda g: sum(t[p][1] for p in groups[g]))
                worst = max(groups, key=size)
                for p in groups[worst]:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                self.emit(event="limit", what=what[0], amount=round(what[1]),
                          question=OWNERS.get(worst))
