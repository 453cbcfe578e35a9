"""Driver benchmarks, measured side by side in one run (prints a table; --json for data).

1. Per-trial overhead on trivial trials (workers=1): our driver with its durable store
   (fsync per trial, snapshots, derived files) on Ray; the same driver without Ray (store
   and strategy bookkeeping only); plain Ray tasks; plain Optuna with SQLite storage;
   Ray Tune's Tuner (skipped if `ray.tune` does not import).
2. Parallel efficiency: 2 workers on 1-second trials (ideal wall time / measured).
3. Store cost per trial as a run grows to 10,000 trials (must stay flat).

    python benchmarks/bench_driver.py [--trials 300] [--tune-trials 20] [--store-trials 10000]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nas.run.config import config_from_dict  # noqa: E402
from nas.run.driver import Driver  # noqa: E402
from nas.run.progress import Progress  # noqa: E402
from nas.run.ray_runtime import ray_session  # noqa: E402
from nas.run.runner import InlineTrials  # noqa: E402
from nas.store.trial_log import RunStore  # noqa: E402


def _config(trials: int, workers: int = 1, sleep_s: float = 0.0):
    return config_from_dict({"name": "bench", "trials": trials, "workers": workers,
                             "strategy": "random",
                             "evaluator": {"name": "synthetic", "options": {"sleep_s": sleep_s}}})


def _driver(root: Path, config):
    store = RunStore.create(root / f"run-{time.monotonic_ns()}", config.to_dict())
    return Driver(config, store, Progress(config.trials, quiet=True)), store


def ours(root: Path, trials: int, inline: bool) -> tuple[float, float]:
    """Seconds per trial (the trial itself takes ~0.3 ms): in steady state, and for the
    whole `run` including the final write of pareto.json, parquet and study.db."""
    driver, store = _driver(root, _config(trials))
    runner = InlineTrials(driver.task_base) if inline else None
    start = time.perf_counter()
    driver.run(1, runner)
    whole = (time.perf_counter() - start) / trials
    store.close()
    return driver_seconds(driver) / (trials - 1), whole


def driver_seconds(driver) -> float:
    """From the start of the first trial to the end of the last (the first Ray worker's
    start-up, seconds of imports, is not per-trial overhead)."""
    records = driver.view.records
    return records[-1]["finished"] - records[0]["started"]


def plain_ray(trials: int) -> float:
    import ray

    @ray.remote(num_cpus=1)
    def trivial(x):
        return x

    ray.get(trivial.remote(0))  # warm the worker
    start = time.perf_counter()
    for i in range(trials):
        ray.get(trivial.remote(i))
    return (time.perf_counter() - start) / trials


def plain_optuna_sqlite(root: Path, trials: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    choices = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    study = optuna.create_study(storage=f"sqlite:///{root / 'optuna.db'}")

    def objective(trial):
        return sum(len(trial.suggest_categorical(f"e{i}", choices)) for i in range(6))

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - start) / trials


def ray_tune(root: Path, trials: int) -> float | None:
    try:
        from ray import tune
    except ImportError:
        return None

    def trainable(config):
        return {"score": config["x"]}

    tuner = tune.Tuner(trainable, param_space={"x": tune.uniform(0, 1)},
                       tune_config=tune.TuneConfig(num_samples=trials, max_concurrent_trials=1),
                       run_config=tune.RunConfig(storage_path=str(root / "tune"), verbose=0))
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Tune prints tables on stdout
            tuner.fit()
    except Exception as exc:  # missing optional deps (e.g. pyarrow.fs, tensorboardX)
        print(f"ray tune failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    return (time.perf_counter() - start) / trials


def parallel_efficiency(root: Path, trials: int) -> dict:
    warm, store = _driver(root, _config(4, workers=2, sleep_s=0.5))  # both workers warm
    warm.run(2)
    store.close()
    driver, store = _driver(root, _config(trials, workers=2, sleep_s=1.0))
    driver.run(2)
    store.close()
    wall = driver_seconds(driver)
    ideal = trials * 1.0 / 2
    return {"trials": trials, "wall_s": wall, "ideal_s": ideal, "efficiency": ideal / wall}


def store_growth(root: Path, trials: int, window: int = 1000) -> list[dict]:
    """Per-trial driver+store cost (no Ray, trivial trials) in windows as the run grows:
    wall time (includes the fsync) and this process's CPU time (immune to other load)."""
    driver, store = _driver(root, _config(trials))
    marks = []
    original = driver.progress.trial

    def mark(**fields):
        original(**fields)
        if fields["done"] % window == 0:
            marks.append((fields["done"], time.perf_counter(), time.process_time()))
    driver.progress.trial = mark
    previous = (0, time.perf_counter(), time.process_time())
    driver.run(1, InlineTrials(driver.task_base))
    store.close()
    out = []
    for done, wall, cpu in marks:
        n = done - previous[0]
        out.append({"trials": done, "ms_per_trial": (wall - previous[1]) / n * 1e3,
                    "cpu_ms_per_trial": (cpu - previous[2]) / n * 1e3})
        previous = (done, wall, cpu)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--tune-trials", type=int, default=20)
    parser.add_argument("--parallel-trials", type=int, default=20)
    parser.add_argument("--store-trials", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    result: dict = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with ray_session(2):
            ours(root, 20, inline=False)  # warm the worker
            ray_steady, ray_whole = ours(root, args.trials, inline=False)
            inline_steady, inline_whole = ours(root, args.trials, inline=True)
            result["overhead_ms"] = {
                "ours: Ray + durable store, steady state": ray_steady * 1e3,
                "ours: Ray + durable store, whole run": ray_whole * 1e3,
                "ours without Ray (store + bookkeeping)": inline_steady * 1e3,
                "plain Ray tasks (ray.get per task)": plain_ray(args.trials) * 1e3,
                "plain Optuna + SQLite storage": plain_optuna_sqlite(root, args.trials) * 1e3,
            }
            tune_s = ray_tune(root, args.tune_trials)
            result["overhead_ms"]["Ray Tune Tuner"] = tune_s * 1e3 if tune_s else None
            result["parallel"] = parallel_efficiency(root, args.parallel_trials)
        result["store_growth"] = store_growth(root, args.store_trials)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"machine: {result['machine']['cpus']} CPUs, load {result['machine']['load']:.1f}")
    print("per-trial overhead on trivial trials (workers=1):")
    for name, ms in result["overhead_ms"].items():
        print(f"  {name:<42} {'skipped' if ms is None else f'{ms:8.2f} ms'}")
    p = result["parallel"]
    print(f"parallel efficiency, 2 workers x {p['trials']} one-second trials: "
          f"{p['efficiency']:.1%} ({p['wall_s']:.2f}s vs ideal {p['ideal_s']:.1f}s)")
    growth = result["store_growth"]
    print("store + driver cost per trial as the run grows (no Ray):")
    for row in growth:
        print(f"  trials up to {row['trials']:<6} {row['ms_per_trial']:6.2f} ms wall "
              f"{row['cpu_ms_per_trial']:6.2f} ms CPU")
    if len(growth) >= 4:  # the first window also pays imports and warm-up: skip it
        rest = growth[1:]
        half = len(rest) // 2

        def mean(rows, key):
            return sum(r[key] for r in rows) / len(rows)
        wall = mean(rest[half:], "ms_per_trial") / mean(rest[:half], "ms_per_trial")
        cpu = mean(rest[half:], "cpu_ms_per_trial") / mean(rest[:half], "cpu_ms_per_trial")
        print(f"  later / earlier windows (first skipped): {wall:.2f} wall, {cpu:.2f} CPU")


if __name__ == "__main__":
    main()
