"""Question `key_schema` (module 04): key schema v1 -> v2 without breaking the downstream
consumer, step by step. Its assertion helpers, visible checks and hints."""

from __future__ import annotations

from coursekit.questions import Question, expect, expect_true

from ..lab import need as _need
from ..variants import learner_seed
from .rollout import KV, from_v2, run_rollout, to_v1, to_v2, v1_key, v2_key


def assert_rollout(write_session, read_session, backfill, seed: int, users: int = 30) -> None:
    """The rollout replayed: the consumer's contract test passes after every step."""
    steps = run_rollout(write_session, read_session, backfill, seed, users=users)
    for s in steps:
        expect_true(f"the contract test after step {s.step!r} (seed {seed})", s.ok,
                    {"dual_write": "At dual_write the consumer still reads v1: write both keys.",
                     "read_new": "read_new: read v2 first (it has the MFA flag), fall back to v1 for sessions "
                                 "nobody has written since the rollout began.",
                     "backfill": "backfill copies sessions that exist only in v1 to v2, and never overwrites a v2 "
                                 "entry (it is newer: `kv.set(key, value, nx=True)`).",
                     "retire_v1": "retire_v1: write v2 only and delete the user's v1 key; after a complete "
                                  "backfill the migrated consumer finds everyone in v2."}[s.step],
                    expected="no problem", got=s.problems[0] if s.problems else None)
    expect(f"steps completed (seed {seed})", [s.step for s in steps],
           ["dual_write", "read_new", "backfill", "retire_v1"], "Every step must pass before the next one runs.")


def assert_backfill_keeps_newer(backfill) -> None:
    """Backfill leaves an existing v2 entry alone, copies a v1-only one, and can run twice."""
    kv = KV()
    newer = {"tenant": "acme", "user_id": 1, "name": "Ada-2", "roles": ["admin"], "mfa": True}
    older = {"tenant": "acme", "user_id": 1, "name": "Ada-1", "roles": ["reader"], "mfa": False}
    only_v1 = {"tenant": "globex", "user_id": 2, "name": "Ken-0", "roles": ["writer"], "mfa": False}
    kv.set(v1_key(1), to_v1(older))
    kv.set(v2_key("acme", 1), to_v2(newer))
    kv.set(v1_key(2), to_v1(only_v1))
    tenants = {1: "acme", 2: "globex"}
    backfill(kv, dict(tenants))
    backfill(kv, dict(tenants))
    expect("the v2 entry of a user written since the rollout, after backfill", from_v2(kv.get(v2_key("acme", 1))),
           newer, "Backfill must not overwrite a v2 entry: it is newer than v1 (and has the MFA flag).")
    raw = kv.get(v2_key("globex", 2))
    expect("the v2 entry of a user only in v1, after backfill", raw and from_v2(raw), only_v1,
           "Copy every v1-only session to its v2 key (tenant from `tenants`).")
    expect("v1 keys after backfill", kv.keys("session:"), [v1_key(1), v1_key(2)],
           "Backfill copies; retiring v1 is a later step.")


def _parts(ns):
    return (_need(ns, "write_session", "function"), _need(ns, "read_session", "function"),
            _need(ns, "backfill", "function"))


def check_rollout(ns: dict) -> None:
    """the rollout replayed: the consumer's contract test passes after every step"""
    assert_rollout(*_parts(ns), seed=learner_seed("04_many_servers", reference=1))


KEY_SCHEMA = Question(
    id="key_schema",
    title="Key schema v1 -> v2 without breaking a reader",
    checks=[check_rollout],
    hints=[
        "Ask at each step: who reads which key? Until v1 is retired, the audit service reads `session:<id>` in "
        "the v1 format, so every write must keep it current.",
        "`write_session`: v2 always; v1 too until `retire_v1`, where you delete it instead. `read_session`: v2 "
        "first, v1 (`from_v1(raw, tenant)`) if there is no v2 entry.",
        "`backfill`: for each `kv.keys('session:')`, `kv.set(v2_key(tenant, uid), to_v2(from_v1(raw, tenant)), "
        "nx=True)` — nx, so a newer v2 entry wins.",
    ],
)
