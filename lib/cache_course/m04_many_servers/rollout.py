"""Module 04's lab bench, part 2: the key-schema rollout (v1 -> v2) and the downstream
consumer's contract test (`run_rollout`). In process: a dict stands for the key space."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Callable

from ..lab import require_finished

__all__ = ["KV", "ROLLOUT", "RolloutStep", "downstream_read_v1", "downstream_read_v2", "from_v1", "from_v2",
           "run_rollout", "to_v1", "to_v2", "v1_key", "v2_key"]

# =========================================================================== 3 · key schema v1 -> v2

#: The rollout, in order. Step 0 is today (the old service writes v1 only).
ROLLOUT = ("dual_write", "read_new", "backfill", "retire_v1")


class KV:
    """The shared cache's key space, in process (a dict): ``get``, ``set`` (``nx=True``: only
    if absent; returns whether it wrote), ``delete``, ``keys(prefix)``. Values are strings."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str, *, nx: bool = False) -> bool:
        if not isinstance(value, str):
            raise TypeError(f"values are str (JSON), got {type(value).__name__}: encode it with to_v1/to_v2")
        if nx and key in self.data:
            return False
        self.data[key] = value
        return True

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))


def v1_key(user_id: int) -> str:
    """The old key: ``session:<user_id>``."""
    return f"session:{user_id}"


def v2_key(tenant: str, user_id: int) -> str:
    """The new key: ``sess:v2:<tenant>:<user_id>`` (sessions are per tenant now)."""
    return f"sess:v2:{tenant}:{user_id}"


def to_v1(session: dict) -> str:
    """The v1 value: ``{"user_id", "name", "roles"}`` (no tenant, no MFA flag)."""
    return json.dumps({"user_id": session["user_id"], "name": session["name"], "roles": list(session["roles"])},
                      sort_keys=True)


def to_v2(session: dict) -> str:
    """The v2 value: ``{"v": 2, "tenant", "user": {"id", "name"}, "roles", "mfa"}``."""
    return json.dumps({"v": 2, "tenant": session["tenant"], "user": {"id": session["user_id"], "name": session["name"]},
                       "roles": list(session["roles"]), "mfa": bool(session["mfa"])}, sort_keys=True)


def from_v1(raw: str, tenant: str) -> dict:
    """A session from its v1 value; v1 knows no tenant (given) and no MFA flag (False)."""
    d = json.loads(raw)
    return {"tenant": tenant, "user_id": d["user_id"], "name": d["name"], "roles": list(d["roles"]), "mfa": False}


def from_v2(raw: str) -> dict:
    d = json.loads(raw)
    return {"tenant": d["tenant"], "user_id": d["user"]["id"], "name": d["user"]["name"], "roles": list(d["roles"]),
            "mfa": bool(d["mfa"])}


def downstream_read_v1(kv: KV, user_id: int) -> dict | None:
    """The downstream consumer (the audit service) as it is today: it reads the v1 key and
    parses the v1 format. It is not yours to change."""
    raw = kv.get(v1_key(user_id))
    if raw is None:
        return None
    d = json.loads(raw)
    if set(d) != {"user_id", "name", "roles"}:
        raise ValueError(f"audit service: unexpected fields in {v1_key(user_id)}: {sorted(d)}")
    return d


def downstream_read_v2(kv: KV, tenant: str, user_id: int) -> dict | None:
    """The consumer after its own migration (shipped once the backfill is done): v2 only."""
    raw = kv.get(v2_key(tenant, user_id))
    return None if raw is None else from_v2(raw)


def _session(rng: random.Random, tenant: str, user_id: int, generation: int) -> dict:
    names = ["Ada", "Grace", "Edsger", "Barbara", "Ken", "Radia", "Linus", "Frances"]
    roles = ["reader", "writer", "admin", "billing"]
    return {"tenant": tenant, "user_id": user_id, "name": f"{rng.choice(names)}-{generation}",
            "roles": sorted(rng.sample(roles, rng.randint(1, 3))), "mfa": rng.random() < 0.5}


@dataclass
class RolloutStep:
    step: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def run_rollout(write_session: Callable, read_session: Callable, backfill: Callable, seed: int, *,
                users: int = 30) -> list[RolloutStep]:
    """Replay the rollout and run the consumer's contract test after each step.

    Before the rollout the old service wrote every user in v1. At each step of `ROLLOUT`
    some users' sessions change through ``write_session(kv, session, step)``; at
    ``"backfill"``, ``backfill(kv, tenants)`` runs (``tenants``: ``{user_id: tenant}``)
    before those writes. The contract, after every step: the downstream consumer reads
    every user's *current* session (v1 fields) until v1 is retired, and the migrated
    consumer reads it in v2 once it is; ``read_session(kv, tenant, user_id, step)`` returns
    every current session, MFA flag included (at ``"dual_write"`` reads may still take the v1
    path, which has no MFA flag); after ``"retire_v1"`` writes leave no v1 key and no stale
    v1 copy lingers.
    """
    require_finished(write_session, read_session, backfill)
    rng = random.Random(seed)
    kv = KV()
    tenants = {uid: rng.choice(["acme", "globex", "initech"]) for uid in range(1, users + 1)}
    current: dict[int, dict] = {}
    for uid, tenant in tenants.items():  # the old service, before the rollout
        s = _session(rng, tenant, uid, 0)
        s["mfa"] = False  # v1 cannot say otherwise
        current[uid] = s
        kv.set(v1_key(uid), to_v1(s))
    steps: list[RolloutStep] = []
    for generation, step in enumerate(ROLLOUT, start=1):
        problems: list[str] = []
        try:
            if step == "backfill":
                backfill(kv, dict(tenants))
            written = rng.sample(sorted(tenants), users // 3)
            for uid in written:
                s = _session(rng, tenants[uid], uid, generation)
                current[uid] = s
                write_session(kv, dict(s), step)
        except Exception as exc:  # noqa: BLE001 - reported as the step's problem
            steps.append(RolloutStep(step, [f"raised {type(exc).__name__}: {exc}"]))
            break
        for uid, s in current.items():
            want_v1 = {"user_id": uid, "name": s["name"], "roles": s["roles"]}
            try:
                if step != "retire_v1":
                    got = downstream_read_v1(kv, uid)
                    if got != want_v1:
                        problems.append(f"the downstream consumer read user {uid} as {got!r}, not {want_v1!r}")
                else:
                    got = downstream_read_v2(kv, s["tenant"], uid)
                    if got != s:
                        problems.append(f"the migrated consumer (v2 only) read user {uid} as {got!r}, not {s!r}")
                mine = read_session(kv, s["tenant"], uid, step)
                want = s if step != "dual_write" else {**s, "mfa": mine.get("mfa") if isinstance(mine, dict) else None}
                if mine != want:  # at dual_write reads may still take the v1 path, which knows no MFA flag
                    problems.append(f"read_session(kv, {s['tenant']!r}, {uid}, {step!r}) returned {mine!r}, not {s!r}")
            except Exception as exc:  # noqa: BLE001
                problems.append(f"reading user {uid} raised {type(exc).__name__}: {exc}")
        if step == "retire_v1":  # nobody reads v1 now: it must not be written, and no stale copy may linger
            for uid in written:
                if kv.get(v1_key(uid)) is not None:
                    problems.append(f"user {uid} was written after v1 was retired, and {v1_key(uid)} still exists")
                    break
            for key in kv.keys("session:"):
                uid = int(key.split(":")[1])
                s = current[uid]
                if json.loads(kv.get(key)) != {"user_id": uid, "name": s["name"], "roles": s["roles"]}:
                    problems.append(f"{key} holds a stale session after v1 was retired")
                    break
        steps.append(RolloutStep(step, problems))
        if problems:
            break
    return steps

