"""The one-shot hook of `nas search`: train the supernet before the trials, check the
one-shot ranking against stand-alone training after them.

`before_search(config, store, progress)` (called once, before the Driver is built):
for strategies `spos`/`dnas` it trains (or resumes, or finds finished) the supernet in
`<run>/checkpoints/supernet.pt`, writes `<run>/oneshot.json`, and returns the config
the Driver should run: the `supernet` evaluator gets the checkpoint path, `dnas` gets
its learned architecture file. The run's `config.yaml` keeps what the user wrote, so
`--resume` repeats the same steps. Other strategies pass through unchanged.

`after_search(config, store, progress)` (called inside the Ray session, after the
trials): with `rank_check: {top_k: K, ...}` it trains the top-K genotypes stand-alone
(Ray tasks, evaluator `train`) and stores Kendall's tau between the two rankings.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from nas.run.config import Component, SearchConfig
from nas.strategies.oneshot import ONESHOT
from search_spaces import get_space
from search_spaces.errors import UserError
from trainers.oneshot.config import OneShotConfig, oneshot_config

__all__ = ["before_search", "after_search", "training_config", "CHECKPOINT", "ARCH",
           "GENOTYPE", "REPORT"]

CHECKPOINT, REPORT = "checkpoints/supernet.pt", "oneshot.json"
#: DNAS: theta, probabilities and the argmax genotype; the argmax as a Genotype JSON
ARCH, GENOTYPE = "checkpoints/dnas_arch.json", "checkpoints/dnas_genotype.json"
_FROM_EVALUATOR = ("dataset", "image_size", "seed")


def training_config(config: SearchConfig) -> OneShotConfig:
    """The supernet training options of a one-shot config; dataset, image_size and seed
    default to the evaluator's (then the search seed)."""
    options = dict(config.strategy.options.get("supernet") or {})
    if not isinstance(options, dict):
        raise UserError("strategy option 'supernet' must be a mapping of training options")
    for key in _FROM_EVALUATOR:
        if key not in options and key in config.evaluator.options:
            options[key] = config.evaluator.options[key]
    options.setdefault("seed", config.seed)
    return oneshot_config(options, mode=config.strategy.name)


def _report(store, **parts: Any) -> dict[str, Any]:
    report = store.read_json(REPORT) or {}
    report.update(parts)
    store.write_json(REPORT, report)
    return report


def before_search(config: SearchConfig, store, progress) -> SearchConfig:
    """Train the supernet of a one-shot search; return the config the Driver runs."""
    if config.strategy.name not in ONESHOT:
        return config
    mode, space_spec = config.strategy.name, dataclasses.asdict(config.space)
    if mode == "spos" and config.evaluator.name != "supernet":
        raise UserError("strategy 'spos' scores genotypes with inherited weights: set "
                        "`evaluator: {name: supernet, options: {dataset: ...}}`")
    train = training_config(config)
    space = get_space(config.space.name, **config.space.options)
    table = _latency_table(space, train, store, progress) if mode == "dnas" else None
    checkpoint = store.dir / CHECKPOINT
    progress.line(f"one-shot: training the {mode} supernet ({train.epochs} epochs, "
                  f"{train.world_size} x {train.device}) -> {checkpoint}")
    summary = _train(space, space_spec, train, checkpoint, table, progress)
    store.log(f"supernet {mode}: {train.epochs} epochs (resumed from "
              f"{summary['resumed_from']}) -> {checkpoint}")
    strategy = dict(config.strategy.options)
    if mode == "dnas":
        derived = space.genotype(summary["arch"]["genotype"]["decisions"])
        (store.dir / ARCH).write_text(json.dumps(summary["arch"], indent=1))
        (store.dir / GENOTYPE).write_text(derived.to_json())  # `--genotype FILE` input
        strategy["arch"] = str(store.dir / ARCH)
        progress.line(f"one-shot: DNAS argmax architecture: {space.format(derived)}")
    _report(store, training={k: v for k, v in summary.items() if k != "arch"},
            latency_table=str(table) if table else None)
    evaluator = config.evaluator
    if evaluator.name == "supernet":
        extra = {"checkpoint": str(checkpoint)}
        if table and not evaluator.options.get("latency_table"):
            extra["latency_table"] = str(table)  # the trials report latency_ms too
        evaluator = Component("supernet", {**evaluator.options, **extra})
    return dataclasses.replace(config, strategy=Component(mode, strategy), evaluator=evaluator)


def _train(space, space_spec: dict, train: OneShotConfig, checkpoint: Path,
           table: Path | None, progress) -> dict[str, Any]:
    """Train in this process, or on `world_size` ranks with DDP."""
    import torch

    from search_spaces.supernet import build_supernet
    from trainers.data import load_dataset
    from trainers.oneshot.checkpoint import check_checkpoint, read_checkpoint
    from trainers.oneshot.latency import LatencyTable, check_device
    from trainers.oneshot.loop import train_supernet

    check_device(train.device)
    torch.manual_seed(train.seed)
    supernet = build_supernet(space)
    if checkpoint.exists():  # refuse a foreign checkpoint before anything starts
        check_checkpoint(read_checkpoint(checkpoint), supernet, checkpoint, train)
    if train.world_size > 1:
        from .distributed import train_distributed

        del supernet
        return train_distributed(space_spec, train, str(checkpoint),
                                 str(table) if table else None)
    data = load_dataset(train.dataset, train.seed, train.image_size or None)
    lat = LatencyTable.load(table, space, train.device) if table else None
    return train_supernet(supernet, data, train, checkpoint, table=lat, log=progress.line)


def _latency_table(space, train: OneShotConfig, store, progress) -> Path:
    """The configured latency table (checked), or one measured now for this space and
    device into `<run>/checkpoints/` (kept for resume)."""
    from trainers.oneshot.latency import LatencyTable, build_table

    if train.latency_table:
        LatencyTable.load(train.latency_table, space, train.device)
        return Path(train.latency_table)
    path = store.dir / "checkpoints" / f"latency_{space.name}_{train.device}.json"
    if not path.exists():
        progress.line(f"one-shot: measuring the latency table on {train.device} -> {path}")
        build_table(space, train.device).save(path)
    LatencyTable.load(path, space, train.device)
    return path


def after_search(config: SearchConfig, store, progress) -> dict[str, Any]:
    """Rank agreement of the one-shot top-k with stand-alone training (if asked)."""
    if config.strategy.name not in ONESHOT:
        return {}
    from .rank_check import rank_check

    options = config.strategy.options.get("rank_check") or {}
    if not options:
        return {}
    result = rank_check(config, store, options, progress)
    _report(store, rank_check=result)
    return {"oneshot": {"rank_check": result}}
