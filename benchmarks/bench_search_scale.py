"""Search at scale, measured in one run: worker utilisation and a long search's footprint.

1. Utilisation: a `--trials` (2,000) search on the DARTS space with `--sleep-ms` (50 ms)
   synthetic trials on 2 Ray workers, for each of `--strategies` (our default `bo`,
   Optuna `tpe`) in our driver: busy time (the sum of the trials' own start-to-finish
   times on the workers) over 2 x wall time (first trial's start to last trial's end).
2. Scale (`--long N`, e.g. 10,000): an N-trial `bo` search (synthetic, no sleep, 2
   workers): wall time, the driver's resident memory (RSS) after 1,000 / N/2 / N trials,
   then on the finished run folder the wall time of `nas status` (a fresh process, as a
   user runs it) and of the dashboard's first front (a fresh process: `create_app` +
   GET /api/front?metrics=accuracy,params and /api/trials).

    python benchmarks/bench_search_scale.py [--strategies bo,tpe] [--trials 2000]
        [--sleep-ms 50] [--long 10000] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT

from nas.run.config import config_from_dict
from nas.run.driver import Driver
from nas.run.progress import Progress
from nas.run.ray_runtime import ray_session
from nas.store.trial_log import RunStore

WORKERS = 2


def _rss_mb() -> float:
    """Current resident set size of this process (Linux /proc), in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _search(root: Path, strategy: str, trials: int, sleep_s: float, marks=()):
    """Run one search; returns (driver, run folder, {trials: RSS MiB at that point})."""
    config = config_from_dict({
        "name": f"scale-{strategy}", "trials": trials, "workers": WORKERS, "space": "darts",
        "strategy": strategy,
        "evaluator": {"name": "synthetic", "options": {"sleep_s": sleep_s}}})
    store = RunStore.create(root / f"{strategy}-{trials}-{time.monotonic_ns()}",
                            config.to_dict())
    driver = Driver(config, store, Progress(trials, quiet=True))
    rss, original, left = {}, driver.progress.trial, sorted(marks)

    def mark(**fields):  # a batch of records may step over a mark: take the first after
        original(**fields)
        while left and fields["done"] >= left[0]:
            rss[left.pop(0)] = _rss_mb()
    driver.progress.trial = mark
    driver.run(WORKERS)
    store.close()
    return driver, store.dir, rss


def utilisation(driver) -> dict:
    records = driver.view.records
    busy = sum(r["finished"] - r["started"] for r in records)
    wall = max(r["finished"] for r in records) - min(r["started"] for r in records)
    return {"trials": len(records), "wall_s": wall, "busy_s": busy,
            "utilisation": busy / (WORKERS * wall)}


def _timed_process(code: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(code, check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - start


def responsiveness(run_dir: Path) -> dict:
    """Wall seconds of `nas status` and of the dashboard's first /api/front, each in a
    fresh Python process (imports included, as a user sees them)."""
    front = ("import sys; from nas.dashboard.app import create_app; "
             "client = create_app(sys.argv[1]).test_client(); "
             "r = client.get('/api/front?metrics=accuracy,params'); "
             "assert r.status_code == 200, r.data; "
             "assert client.get('/api/trials').status_code == 200")
    return {"nas_status_s": _timed_process([sys.executable, "-m", "nas", "status",
                                            str(run_dir)]),
            "dashboard_front_s": _timed_process([sys.executable, "-c", front, str(run_dir)])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default="bo,tpe")
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--sleep-ms", type=float, default=50.0)
    parser.add_argument("--long", type=int, default=0, help="trials of the scale run (0: skip)")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    result: dict = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}}
    with tempfile.TemporaryDirectory() as tmp, ray_session(WORKERS):
        root = Path(tmp)
        _search(root, "random", 8, 0.0)  # start both Ray workers (imports) once
        for name in filter(None, args.strategies.split(",")):
            driver, _, _ = _search(root, name, args.trials, args.sleep_ms / 1e3)
            result[name] = utilisation(driver)
            u = result[name]
            print(f"{name}: {u['trials']} trials of {args.sleep_ms:g} ms on {WORKERS} "
                  f"workers: utilisation {u['utilisation']:.1%} (busy {u['busy_s']:.1f}s, "
                  f"wall {u['wall_s']:.1f}s)", flush=True)
        if args.long:
            marks = {1000, args.long // 2, args.long}
            start = time.perf_counter()
            driver, run_dir, rss = _search(root, "bo", args.long, 0.0, marks)
            result["long"] = {"trials": args.long, "wall_s": time.perf_counter() - start,
                              "rss_mb": rss, **responsiveness(run_dir)}
            print(json.dumps(result["long"], indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
