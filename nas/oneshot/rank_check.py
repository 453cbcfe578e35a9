"""Does the one-shot ranking hold? Train the top-k stand-alone and compare rankings.

Yu et al., ICLR 2020, "Evaluating the Search Phase of Neural Architecture Search":
weight-sharing rankings can disagree with stand-alone training, so we measure it: the
k best genotypes by inherited-weight accuracy are trained briefly from scratch (evaluator
`train`, as Ray tasks when Ray is up) and Kendall's tau between both accuracy lists is
stored in `<run>/oneshot.json`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from nas.run.worker import evaluate_trial
from search_spaces.errors import UserError, unknown_choice
from trainers.oneshot.rank import kendall_tau

__all__ = ["rank_check", "RANK_DEFAULTS", "top_k_records"]

RANK_DEFAULTS = {"top_k": 5, "epochs": 3, "batch_size": 64, "lr": 0.05,
                 "weight_decay": 5e-4}
_SHARED = ("dataset", "image_size", "seed")


def _options(options: Mapping[str, Any], evaluator: Mapping[str, Any]) -> tuple[int, dict]:
    for key in options:
        if key not in RANK_DEFAULTS and key not in _SHARED:
            raise unknown_choice("rank_check option", key, [*RANK_DEFAULTS, *_SHARED])
    merged = {**RANK_DEFAULTS, **{k: evaluator[k] for k in _SHARED if k in evaluator},
              **options}
    top_k = merged.pop("top_k")
    if not isinstance(top_k, int) or top_k < 2:
        raise UserError(f"rank_check top_k must be an integer >= 2, got {top_k!r}")
    return top_k, merged


def top_k_records(records: list[dict], k: int) -> list[dict]:
    """The k best complete trials by one-shot accuracy, one per genotype."""
    best: dict[str, dict] = {}
    for record in records:
        m = record["metrics"]
        acc = m["objectives"].get("accuracy", math.nan) if m["status"] == "complete" else math.nan
        if math.isfinite(acc) and record["key"] not in best:
            best[record["key"]] = record
    ranked = sorted(best.values(), key=lambda r: -r["metrics"]["objectives"]["accuracy"])
    return ranked[:k]


def _run(tasks: list[dict]) -> list[dict]:
    import ray

    if not ray.is_initialized():
        return [evaluate_trial(task) for task in tasks]
    remote = ray.remote(evaluate_trial).options(num_cpus=1, max_retries=1)
    return ray.get([remote.remote(task) for task in tasks])


def rank_check(config, store, options: Mapping[str, Any], progress) -> dict[str, Any]:
    """Kendall tau between one-shot and stand-alone accuracy of the one-shot top-k."""
    top_k, train = _options(options, config.evaluator.options)
    chosen = top_k_records(store.trials(), top_k)
    saved = (store.read_json("oneshot.json") or {}).get("rank_check")
    if saved and saved.get("keys") == [r["key"] for r in chosen] and saved.get(
            "train_options") == train:
        return saved  # resumed run, same top-k: already measured
    progress.line(f"one-shot: training the top {len(chosen)} stand-alone to check the ranking")
    space = dataclasses.asdict(config.space)
    tasks = [{"space": space, "evaluator": {"name": "train", "options": train},
              "genotype": r["genotype"], "trial_id": r["trial_id"], "threads": 1}
             for r in chosen]
    results = _run(tasks)
    oneshot = [r["metrics"]["objectives"]["accuracy"] for r in chosen]
    standalone = [res["metrics"]["objectives"].get("accuracy", math.nan)
                  if res["metrics"]["status"] == "complete" else math.nan for res in results]
    pairs = [(a, b) for a, b in zip(oneshot, standalone) if math.isfinite(b)]
    tau = kendall_tau(*zip(*pairs)) if len(pairs) >= 2 else math.nan
    progress.line(f"one-shot: Kendall tau (one-shot vs stand-alone, top {len(chosen)}) = "
                  f"{tau:.3f}")
    store.log(f"rank check: top {len(chosen)}, Kendall tau {tau:.4f}")
    return {"top_k": len(chosen), "trial_ids": [r["trial_id"] for r in chosen],
            "keys": [r["key"] for r in chosen], "oneshot_accuracy": oneshot,
            "standalone_accuracy": standalone, "kendall_tau": tau, "train_options": train}
