"""What crosses the pipe between the grader and its worker: typed at both ends, JSON on the wire.

The grader (``engine``) sends one :class:`Job` on the worker's stdin; the worker answers with
:class:`Event` objects, one JSON line each, on stdout, as they happen (so the grader keeps what
was graded even if it has to kill the worker).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields


@dataclass
class Segment:
    """One part of a test cell, run as its own execution."""

    kind: str  #: ``"visible"`` (published to learners) or ``"hidden"`` (between the hidden-test markers)
    code: str  #: the part's source, markers removed


@dataclass
class Step:
    """One cell of the rebuilt notebook."""

    id: int  #: the cell's index in the instructor notebook (what scores and feedback refer to)
    role: str  #: ``"setup"`` (instructor code), ``"answer"`` (the learner's cell) or ``"test"``
    code: str = ""  #: setup and answer cells: the source to run
    binds: list[str] = field(default_factory=list)  #: setup cells: names it binds, guarded from then on
    segments: list[Segment] = field(default_factory=list)  #: test cells: visible and hidden parts, in order
    questions: list[int] | None = None  #: answer cells: the test cells whose kernels run it (None: all later)
    imports: list[str] | None = None  #: test cells: modules its kernel loads before any learner code


@dataclass
class Job:
    """One learner's notebook of one module."""

    steps: list[Step]  #: every setup, answer and test cell, in notebook order
    guard_modules: list[str] = field(default_factory=list)  #: modules the instructor's cells import
    cell_timeout: float = 60.0  #: seconds one cell may run before it is interrupted
    interrupt_grace: float = 5.0  #: seconds an interrupted cell gets before its kernel is stopped
    memory_mb: int = 4096  #: memory for the learner's whole process tree (every question's kernel)
    max_processes: int = 256  #: processes and threads for the learner's whole process tree
    file_mb: int = 512  #: largest file a kernel may write
    parallel: int = 1  #: question kernels of this notebook run at the same time
    socket_guard: bool = False  #: patch sockets in the kernel (no network namespace available)
    sandbox: dict = field(default_factory=dict)  #: ``level`` and ``expose`` for ``sandbox.enter``
    learner: str = ""  #: whose notebook: every kernel gets it as ``COURSEKIT_LEARNER`` (their variant)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Job":
        d = json.loads(text)
        d["steps"] = [Step(**{**s, "segments": [Segment(**g) for g in s.get("segments", [])]})
                      for s in d["steps"]]
        return cls(**d)


@dataclass
class Event:
    """One thing the worker observed. ``event`` says which; the other fields are set when they apply."""

    event: str  #: ``sandbox`` | ``limits`` | ``ready`` | ``start`` | ``step`` | ``fatal`` | ``limit`` | ``done``
    question: int | None = None  #: the test cell (``Step.id``) whose kernel this happened in
    id: int | None = None  #: ``start``/``step``: the cell
    status: str | None = None  #: ``step``: ``ok`` | ``error`` | ``timeout`` | ``died``
    seconds: float | None = None  #: ``step``: time the cell ran
    output_bytes: int | None = None  #: ``step``: output the cell printed (counted, then discarded)
    ename: str | None = None  #: ``step``: exception name of a failure
    evalue: str | None = None  #: ``step``: its message (learner cells and visible tests only)
    traceback: str | None = None  #: ``step``: cleaned traceback (learner cells and visible tests only)
    output: str | None = None  #: ``step``: what a failed visible test printed
    killed: bool | None = None  #: ``step``: the cell ignored the interrupt and its kernel was stopped
    segment: int | None = None  #: ``step`` of a test: the part that stopped it
    hidden: bool | None = None  #: ``step`` of a test: that part was hidden
    about: str | None = None  #: ``step`` of a test: the ``# about:`` label of the failed hidden part
    restored: list[str] | None = None  #: ``step`` of a test: what the guard put back before the test
    tamper: list[str] | None = None  #: ``step`` of a test: why the result cannot be trusted (scores 0)
    incomplete: bool | None = None  #: ``step`` of a test: no authenticated completion marker
    error: str | None = None  #: ``fatal``: why the grader could not run the notebook
    level: str | None = None  #: ``sandbox``: the isolation level reached
    visible: list[str] | None = None  #: ``sandbox``: host paths the kernel could see
    what: str | None = None  #: ``limit``: ``memory`` or ``processes``; ``limits``: how they are enforced
    amount: float | None = None  #: ``limit``: the measured amount (MB or processes)

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def from_json(cls, text: str) -> "Event | None":
        try:
            d = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(d, dict) or not isinstance(d.get("event"), str):
            return None
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
