"""Load on one hub: N simulated learners run module 01's cells through their own servers at once.

    sudo .venv/bin/python bench/bench_hub.py                  # N = 10, 15, 20, 30, 40 until p95 >= 2 s
    sudo .venv/bin/python bench/bench_hub.py --sizes 5,10     # only these (then bisect the 2 s boundary)

Root only: every simulated learner is a real Linux user on a throwaway hub
(:class:`coursekit.hub.ephemeral.EphemeralHub`, 127.0.0.1, removed afterwards). For each N it
spawns N servers over the REST API, starts one course kernel each, and runs the code cells of
module 01 (the exercise notebook with the reference answers filled in, visible checks included)
in every kernel at the same moment, one cell after another, timing each cell from
``execute_request`` to idle. Printed per N: memory per learner (server + kernel, resident),
the hub's own memory, p50/p95/max cell latency. Then the largest N with p95 under 2 s and a
projection for 40 learners (memory: hub + 40 × per learner; latency: p95 scaled by 40/N, the
CPU-bound worst case of everyone pressing Run All together).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from coursekit.checking import reference_answer  # noqa: E402
from coursekit.hub.ephemeral import EphemeralHub  # noqa: E402
from coursekit.hub.users import processes_of  # noqa: E402

MODULE = "01_lru"
TARGET_P95 = 2.0


def module_cells() -> list[str]:
    nb = json.loads((ROOT / "exercises" / MODULE / f"{MODULE}.ipynb").read_text())
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        meta = cell["metadata"].get("nbgrader") or {}
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if meta.get("solution"):
            src = reference_answer(MODULE, meta["grade_id"], ROOT / "solutions") or src
        cells.append(src)
    return cells


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_size(n: int, cells: list[str]) -> dict:
    with EphemeralHub(ROOT, learners=n, instructors=0, prefix="cupb") as hub:
        t0 = time.monotonic()
        for name in hub.learners:
            hub.client.spawn(name)
        for name in hub.learners:
            hub.client.wait_ready(name, timeout=600)
        spawn_s = time.monotonic() - t0
        servers = {name: hub.client.server(name, hub.client.user_token(name)) for name in hub.learners}
        kernels = {name: servers[name].start_kernel() for name in hub.learners}
        hub.note_processes()
        barrier = threading.Barrier(n)
        latencies: dict[str, list[float]] = {name: [] for name in hub.learners}
        errors: list[str] = []

        def learner(name: str) -> None:
            server, kernel = servers[name], kernels[name]
            server.execute(kernel, f"import os; os.chdir(os.path.expanduser('~'))")
            barrier.wait()
            for src in cells:
                reply = server.execute(kernel, src, timeout=600)
                latencies[name].append(reply["seconds"])
                if reply["status"] != "ok":
                    errors.append(f"{name}: {reply['error']}")

        threads = [threading.Thread(target=learner, args=(name,)) for name in hub.learners]
        t1 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        run_s = time.monotonic() - t1
        per_learner = [rss_mib(processes_of(name)) for name in hub.learners]
        hub_pids = [hub.proc.pid] + [p for p in hub.pids if p not in {q for name in hub.learners for q in processes_of(name)}]
        hub_mib = rss_mib(sorted(set(hub_pids)))
    flat = [x for xs in latencies.values() for x in xs]
    return {
        "n": n, "spawn_s": spawn_s, "run_s": run_s, "cells": len(cells), "errors": errors[:3],
        "mem_per_learner_mib": statistics.median(per_learner), "mem_max_mib": max(per_learner),
        "hub_mib": hub_mib, "p50": percentile(flat, 0.50), "p95": percentile(flat, 0.95), "max": max(flat),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,15,20,30,40", help="learner counts to try, in order")
    parser.add_argument("--refine", type=int, default=3, help="extra runs bisecting the p95 boundary (default 3)")
    parser.add_argument("--keep-going", action="store_true", help="try every size even after p95 >= 2 s")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_hub.py creates Linux users: run it as root", file=sys.stderr)
        return 2
    cells = module_cells()
    print(f"module {MODULE}: {len(cells)} code cells per learner; {os.cpu_count()} cores; target p95 < {TARGET_P95} s")
    print(f"{'N':>4} {'spawn s':>8} {'run s':>7} {'MiB/learner':>12} {'hub MiB':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    results = []

    def report(r: dict) -> None:
        print(f"{r['n']:>4} {r['spawn_s']:>8.1f} {r['run_s']:>7.1f} {r['mem_per_learner_mib']:>12.0f} {r['hub_mib']:>8.0f} "
              f"{r['p50']:>7.2f} {r['p95']:>7.2f} {r['max']:>7.2f}" + (f"  errors: {r['errors']}" if r["errors"] else ""),
              flush=True)

    for n in (int(x) for x in args.sizes.split(",")):
        r = run_size(n, cells)
        results.append(r)
        report(r)
        if r["p95"] >= TARGET_P95 and not args.keep_going:
            break
    # narrow the boundary down: bisect between the largest passing and the smallest failing N
    for _ in range(args.refine):
        passing = [r["n"] for r in results if r["p95"] < TARGET_P95]
        failing = [r["n"] for r in results if r["p95"] >= TARGET_P95]
        low, high = max(passing, default=0), min(failing, default=0)
        if not failing or high - low <= 1:
            break
        n = (low + high) // 2
        r = run_size(n, cells)
        results.append(r)
        report(r)
    ok = [r for r in results if r["p95"] < TARGET_P95]
    best = max(ok, key=lambda r: r["n"]) if ok else None
    print(f"largest N with p95 < {TARGET_P95} s: {best['n'] if best else 'none of the sizes tried'}")
    ref = best or results[-1]
    mem40 = ref["hub_mib"] + 40 * ref["mem_per_learner_mib"]
    p95_40 = ref["p95"] * 40 / ref["n"]
    print(f"projection for 40 learners (from N={ref['n']}): memory ≈ {mem40 / 1024:.1f} GiB "
          f"(hub {ref['hub_mib']:.0f} MiB + 40 × {ref['mem_per_learner_mib']:.0f} MiB); "
          f"p95 ≈ {p95_40:.1f} s if all 40 run module {MODULE} at the same moment on {os.cpu_count()} cores "
          f"(scaled linearly; staggered work, the usual case, is far lighter)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
