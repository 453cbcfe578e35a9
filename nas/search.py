"""`nas search`: resolve the config and run folder, then drive the search on Ray."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from search_spaces.errors import UserError

from .config import SearchConfig, config_from_dict, load_config
from .driver import Driver
from .oneshot import after_search, before_search
from .progress import Progress
from .ray_runtime import ray_session
from .store import RunStore

__all__ = ["run_search", "config_difference"]

# fields that may change when a run is resumed
RESUMABLE = ("workers", "address", "trials", "out")


def config_difference(saved: SearchConfig, new: SearchConfig) -> list[str]:
    """Fields (other than RESUMABLE ones) whose values differ, as 'key: old -> new'."""
    old_d, new_d = saved.to_dict(), new.to_dict()
    return [f"{k}: {old_d[k]!r} -> {new_d[k]!r}" for k in old_d
            if k not in RESUMABLE and old_d[k] != new_d[k]]


def _unique_dir(base: Path) -> Path:
    if not base.exists():
        return base
    n = 2
    while Path(f"{base}-{n}").exists():
        n += 1
    return Path(f"{base}-{n}")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"space": args.space, "strategy": args.strategy, "trials": args.trials,
            "workers": args.workers, "address": args.address, "seed": args.seed}


def _resume_target(args: argparse.Namespace) -> tuple[RunStore, SearchConfig]:
    if isinstance(args.resume, str):
        store = RunStore.open(args.resume)
    elif args.config:
        cfg = load_config(args.config)
        store = RunStore.open(Path(args.out) if args.out else Path(cfg.out) / cfg.name)
    else:
        raise UserError("--resume needs a run folder (nas search --resume results/<run>) "
                        "or --config")
    saved = config_from_dict(store.config())
    if args.config:
        new = load_config(args.config, **_overrides(args))
        diff = config_difference(saved, new)
        if diff:
            raise UserError(f"run {str(store.dir)!r} was made with a different config; "
                            f"refusing to resume ({'; '.join(diff)})")
    changes = {k: v for k, v in _overrides(args).items() if k in RESUMABLE and v is not None}
    other = {k: v for k, v in _overrides(args).items() if k not in RESUMABLE and v is not None}
    if other and not args.config:
        raise UserError(f"cannot change {sorted(other)} when resuming; only {RESUMABLE}")
    return store, dataclasses.replace(saved, **changes)


def run_search(args: argparse.Namespace) -> dict[str, Any]:
    """Run or resume a search; returns the JSON summary."""
    if args.resume:
        store, config = _resume_target(args)
    else:
        if not args.config:
            raise UserError("nas search needs --config FILE (e.g. configs/quickstart.yaml)")
        config = load_config(args.config, **_overrides(args))
        run_dir = Path(args.out) if args.out else _unique_dir(Path(config.out) / config.name)
        store = RunStore.create(run_dir, config.to_dict())
    progress = Progress(config.trials, quiet=args.quiet)
    config = before_search(config, store, progress)  # one-shot: train the supernet first
    driver = Driver(config, store, progress)  # validates components before Ray starts
    progress.line(f"nas search: {config.strategy.name} on {config.space.name} with "
                  f"{config.evaluator.name}, {config.trials} trials, {config.workers} "
                  f"worker(s) -> {store.dir}")
    store.log(f"{'resume' if args.resume else 'start'}: {config.to_dict()}")
    with ray_session(config.workers, config.address):
        summary = driver.run(resume=bool(args.resume))
        extra = after_search(config, store, progress)  # one-shot: rank agreement check
    store.log(f"finished: {summary.trials} trials, {summary.failed} failed")
    store.close()
    return {**dataclasses.asdict(summary), **extra}
