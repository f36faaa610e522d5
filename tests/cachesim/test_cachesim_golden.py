"""Byte-identical results: full-result digests pinned with the implementation at 2c9ae03.

The simulator was made faster (a lean loop, a database query without asyncio.sleep, a
driver without a Task per waiting request); every latency, every database query's start
and end, every counter must stay what the previous implementation produced.
Regenerate (only for a deliberate change of results): python tests/cachesim/cachesim_golden.py
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cachesim_golden import RUNS, _run, digest  # noqa: E402

EXPECTED = {
    "bench-naive-ttl1": "0eb1de162d5a95a68a49e2927a812c6441798b6f04ac4eb8d09c8f789b4b6b9c",  # 20083 requests, 6702 db calls
    "bench-naive-ttl60": "2bdbd70fbba200ad9dc465e09985cc3fb954d643ca78f34655576edd15c92aea",  # 20083 requests, 4421 db calls
    "bench-swr-5k-ttl5": "8432bb09dab2d4ea2a32721d17a92cb5420720faf43e14e027b9a633c4a20487",  # 40117 requests, 7602 db calls
    "bench-swr-10k-ttl60": "f4aab7d18fd3088117b2e7a5d2d4b0919ef3b08ed3e3d0be08396a63b0ac7c58",  # 20083 requests, 4393 db calls
    "swr-capacity-timeouts-errors": "133b2a6283cd1f71b0bdbf9e79266e46d8e7f9bbb5f2423edc2695759b568c6f",  # 4781 requests, 598 db calls
    "singleflight-fixed-capacity": "dd73f42c77c6fdafcb7ad856221f7489c6b97bf328840f53a848ff193affbe27",  # 3000 requests, 675 db calls
    "lock-cache-lognormal": "bc934dc47cf23992f24b25db99e355557130e2e33d9d12dbd2901dd08e237c3f",  # 2806 requests, 439 db calls
    "swr-xfetch-uniform": "0685ce7e4bb865e2aa3b1b6ddeb62155201e86f3ada0d511e5bd56555fa4a4d9",  # 5070 requests, 890 db calls
    "needs-task-cache": "ee9850473abac253bff11ba01c9d96454fcb47f6a4ad43759e16f656353fa320",  # 1560 requests, 601 db calls
    "late-timeout-cache": "af067f479d8693a4b8696ad596e78c8fdfe5339cf9db266965459af1777c7d28",  # 1804 requests, 290 db calls (computed with 2c9ae03's lib/cachesim)
    "rich-11": "4139579896a24190d218ee2ebdb08cdb671bd225e3f5d8b8f53d77cbe94bd24c",  # 21280 requests, 4200 db calls
    "hot-key-demo-0": "fb9a9e1b115622af55581c275ed651f4d4555e37a2c220b94254541832eaaf5a",  # 2026 requests, 1049 db calls
    "hot-key-demo-1": "a1e2cc5895e32646bb62fecfe0bcce87edd26ca831db7b7476ce5e581abc473f",  # 2026 requests, 1 db calls
    "hot-key-demo-2": "afe42b88ae319324e645f254945c89c6302a2296de5b2f553c727e5a72414043",  # 2026 requests, 1 db calls
}


def test_every_pinned_run_is_listed():
    assert set(EXPECTED) == set(RUNS)


@pytest.mark.parametrize("name", RUNS)
def test_results_are_byte_identical_to_the_previous_implementation(name):
    assert digest(_run(name)) == EXPECTED[name]


def test_the_digest_sees_a_single_latency():
    r = _run("needs-task-cache")
    before = digest(r)
    r.latencies[len(r.latencies) // 2] += 1e-9
    assert digest(r) != before
