"""Module 04 · Many app servers: versions, compare-and-set, a key schema that breaks no
reader, leases with fencing, on a real Redis.

The lab bench is in :mod:`.lab` (`race`, `contention`), :mod:`.rollout` (`run_rollout`) and
:mod:`.scenarios` (`replay_pause`, `run_servers`); each question lives once in its own file (`lost_update.py`, `redis_cas.py`
(`watch_cas`, `lua_cas`), `key_schema.py`, `fencing.py`, `many_servers.py`): its assertion
helpers (`assert_...`, taking a seed where a scenario is random), the visible checks that
call them and its hints. The hidden tests in `course/04_many_servers.py` call the same
helpers with other seeds. This file ends with the module's ordered list of questions.

Every question builds its mechanism itself: the library's `swrcache.redis.RedisStore` and
`SharedTier` (and the simulator's `SharedStoreModel`) do not answer a question that asks
for the mechanism they implement; `many_servers` *uses* the store's protocol, as an app
server would, and builds the lease logic on it.
"""

from __future__ import annotations

from coursekit.questions import Module, Question

from ..lab import NBGRADER_STUB
from .fencing import FENCING
from .key_schema import KEY_SCHEMA
from .lab import (
    SharedDict,
    connect,
    contention,
    decode,
    encode,
    increment,
    new_key,
    plain_update,
    race,
    require_finished,
    run_real,
    show_source,
)
from .rollout import (
    KV,
    ROLLOUT,
    downstream_read_v1,
    downstream_read_v2,
    from_v1,
    from_v2,
    run_rollout,
    to_v1,
    to_v2,
    v1_key,
    v2_key,
)
from .scenarios import DB_LATENCY, KEYS, SERVERS, TTL, replay_pause, run_servers, run_servers_on_redis, unfenced_write
from .lost_update import LOST_UPDATE
from .many_servers import MANY_SERVERS
from .redis_cas import LUA_CAS, WATCH_CAS

__all__ = [
    "DB_LATENCY", "KEYS", "KV", "MODULE", "QUESTIONS", "ROLLOUT", "SERVERS", "TTL", "SharedDict", "connect",
    "contention", "decode", "downstream_read_v1", "downstream_read_v2", "encode", "from_v1", "from_v2", "increment",
    "new_key", "plain_update", "race", "replay_pause", "require_finished", "run_real", "run_rollout", "run_servers",
    "run_servers_on_redis", "show_source", "to_v1", "to_v2", "unfenced_write", "v1_key", "v2_key",
]

# --------------------------------------------------------------------------- race_reply (written)

RACE_REPLY = Question(
    id="race_reply",
    title="Reply: what happens when two refreshes lock the same key?",
    kind="reflect",
    rubric="review_reply",
    answer="race_reply",
    placeholder=NBGRADER_STUB,
    hints=[
        "Pause first: the question is about your design, not about you. Then one sentence that shows you heard it.",
        "Say what happens, in order: one process coalesces; across servers one gets the lease, the other reads "
        "its write (or the stale value); a late writer is fenced out.",
        "Give the numbers you measured: updates lost with a plain SET vs compare-and-set, database calls per "
        "expiry with four servers with and without the lease, p99.",
    ],
)

# --------------------------------------------------------------------------- the module, in order

QUESTIONS = [LOST_UPDATE, WATCH_CAS, LUA_CAS, KEY_SCHEMA, FENCING, MANY_SERVERS, RACE_REPLY]
MODULE = Module(id="04_many_servers", title="Many app servers", questions=QUESTIONS)
