"""Synthetic run folders in the real format, for the dashboard benchmark, tests and demos.

Records follow `nas.store.trial_log` exactly (trial_id, key, genotype, arch, metrics with
objectives / cost / timings / fidelity / status / reason / rungs, worker, started,
finished); the numbers are made up but shaped like an NB201 search on 8x8 digits:
accuracy grows with convolutions, params and MACs are counted per edge, latency follows
MACs, two fidelity rungs correlate with the final accuracy, ~2% of trials fail, those
whose first-epoch rung scores under `PRUNE_BELOW` are "pruned" as a fidelity ladder
stops them, and trials over the config's params bound are "infeasible" as the driver
marks them.
No torch is imported; nothing here trains or builds a network.
"""
from __future__ import annotations

import hashlib
import heapq
import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import yaml

from nas.pareto.fronts import front_summary
from nas.pareto.reference import derive_reference

__all__ = ["make_synthetic_run", "synthetic_records", "synthetic_config"]

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
_KERNEL = {"nor_conv_1x1": 1, "nor_conv_3x3": 9}
_STAGES = ((16, 64), (32, 16), (64, 4))  # (channels, H*W) of the 3 stages on 8x8 input
MAX_PARAMS = 150_000  # the synthetic config's constraint
PRUNE_BELOW = 72.0  # epoch_1 rung score under which a trial is pruned (about a quarter)


def synthetic_config(name: str = "synthetic", constraints: bool = True) -> dict[str, Any]:
    """A resolved config like `nas search` writes (plus an optional constraint)."""
    config = {"name": name, "seed": 0, "trials": 0, "workers": 8,
              "space": {"name": "nb201", "options": {"channels": 16, "cells": 1,
                                                     "input_size": [1, 8, 8],
                                                     "num_classes": 10}},
              "strategy": {"name": "random", "options": {}},
              "evaluator": {"name": "train", "options": {"dataset": "digits", "epochs": 2}},
              "objectives": [{"name": "accuracy", "direction": "maximize"},
                             {"name": "params", "direction": "minimize"}],
              "out": "results", "address": None, "max_retries": 2}
    if constraints:
        config["constraints"] = {"params": {"max": MAX_PARAMS}}
    return config


def _arch(decisions: dict[str, str]) -> str:
    groups = [[f"{decisions[f'{to}<-{s}']}~{s}" for s in range(to)] for to in (1, 2, 3)]
    return "+".join("|" + "|".join(g) + "|" for g in groups)


def _metrics(decisions: dict[str, str], rng: np.random.Generator) -> dict[str, Any]:
    ops = list(decisions.values())
    params = 64_000 + sum(_KERNEL.get(op, 0) * c * c + (2 * c if op in _KERNEL else 0)
                          for c, _ in _STAGES for op in ops)
    macs = 480_000 + sum(_KERNEL.get(op, 0) * c * c * hw for c, hw in _STAGES for op in ops)
    accuracy = min(99.9, 88.0 + 1.6 * ops.count("nor_conv_3x3") + 0.9 * ops.count("nor_conv_1x1")
                   + 0.4 * ops.count("skip_connect") + rng.normal(0, 1.2))
    cost = {"params": float(params), "macs": float(macs),
            "latency_ms": round(0.3 + macs / 1.5e6 + abs(rng.normal(0, 0.05)), 4)}
    rungs = {"synflow": round(float(np.log(params) + rng.normal(0, 0.15)), 4),
             "epoch_1": round(float(accuracy * 0.8 + rng.normal(0, 2.5)), 4)}
    if rng.random() < 0.02:
        return {"objectives": {}, "cost": cost, "timings": {"total_s": 1.0}, "fidelity": None,
                "status": "failed", "reason": "Diverged: loss became nan in training",
                "rungs": {}}
    if rungs["epoch_1"] < PRUNE_BELOW:
        return {"objectives": {}, "cost": cost, "timings": {"train_s": 2.0, "total_s": 2.1},
                "fidelity": 1.0, "status": "pruned", "rungs": {"epoch_1": rungs["epoch_1"]},
                "reason": f"pruned at rung 2.train@1ep: {rungs['epoch_1']:.6g} < "
                          f"{PRUNE_BELOW:g}, the keep-0.7 threshold of 32 sampled archs"}
    return {"objectives": {"accuracy": float(accuracy)}, "cost": cost,
            "timings": {"train_s": 4.0, "total_s": 4.2}, "fidelity": 2.0,
            "status": "complete", "reason": "", "rungs": rungs}


def _constrain(record: dict[str, Any], max_params: float | None) -> dict[str, Any]:
    """Mark a complete trial over `max_params` infeasible, as `nas.run.driver` does."""
    metrics = record["metrics"]
    if max_params is None or metrics["status"] != "complete":
        return record
    over = metrics["cost"]["params"] - max_params
    record["violations"] = {"params": over}
    if over > 0:
        metrics.update(status="infeasible",
                       reason=f"violates params={metrics['cost']['params']:.6g} > max "
                              f"{max_params:g}")
    return record


def synthetic_records(n: int, seed: int = 0, workers: int = 8, start_id: int = 0,
                      t0: float = 1.79e9, max_params: float | None = MAX_PARAMS
                      ) -> Iterator[dict[str, Any]]:
    """`n` trial records in finish order, as `workers` parallel workers would write them;
    with `max_params`, those over it are infeasible (None: no constraint)."""
    rng = np.random.default_rng(seed)
    free = [(t0, w) for w in range(workers)]  # (time the worker is free, worker)
    heapq.heapify(free)
    running: list[tuple[float, int, int, float]] = []
    for tid in range(start_id, start_id + n):
        started, w = heapq.heappop(free)
        finished = started + float(rng.exponential(5.0)) + 0.5
        heapq.heappush(running, (finished, tid, w, started))
        heapq.heappush(free, (finished, w))
    while running:
        finished, tid, w, started = heapq.heappop(running)
        decisions = {e: OPS[int(rng.integers(len(OPS)))] for e in EDGES}
        genotype = {"space": "nb201", "decisions": decisions}
        key = hashlib.sha1(json.dumps(genotype, separators=(",", ":")).encode()).hexdigest()
        yield _constrain({
            "trial_id": tid, "key": key[:16], "genotype": genotype, "arch": _arch(decisions),
            "metrics": _metrics(decisions, rng),
            "worker": {"host": f"node-{w // 4}", "pid": 4000 + w, "node": f"n{w // 4}"},
            "started": started, "finished": finished}, max_params)


def make_synthetic_run(run_dir: str | Path, n: int = 10_000, seed: int = 0, workers: int = 8,
                       constraints: bool = True) -> Path:
    """Write a run folder (config.yaml, trials.jsonl, state.json, pareto.json, checkpoints/)."""
    run = Path(run_dir)
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    config = synthetic_config(run.name, constraints)
    config["trials"] = n
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    records = list(synthetic_records(n, seed, workers,
                                     max_params=MAX_PARAMS if constraints else None))
    with open(run / "trials.jsonl", "w") as f:
        for record in records:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
    (run / "state.json").write_text(json.dumps({"strategy": {"name": "random", "seed": seed,
                                                             "n_asked": n},
                                                "next_id": n, "pending": {}}))
    done = [r for r in records if r["metrics"]["status"] == "complete"]
    values = np.array([[r["metrics"]["objectives"]["accuracy"], r["metrics"]["cost"]["params"]]
                       for r in done]).reshape(-1, 2)
    directions = ["maximize", "minimize"]
    summary = front_summary(values, directions, derive_reference(values, directions)
                            if len(values) else None)
    (run / "pareto.json").write_text(json.dumps({
        "objectives": ["accuracy", "params"], "directions": ["maximize", "minimize"],
        "front_trial_ids": sorted(done[i]["trial_id"] for i in summary["front_indices"]),
        "hypervolume": summary["hypervolume"], "reference": summary["reference"],
        "n_complete": len(done),
        "n_infeasible": sum(r["metrics"]["status"] == "infeasible" for r in records)}, indent=1))
    return run
