"""`nas search`: resolve the config and run folder, then drive the search on Ray."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import signal
import sys
from pathlib import Path
from typing import Any, Iterator

from nas.oneshot import after_search, before_search
from nas.store.lock import run_lock
from nas.store.trial_log import RunStore
from nas.strategies.oneshot import ONESHOT
from search_spaces.errors import UserError

from .config import SearchConfig, config_from_dict, load_config
from .driver import Driver
from .progress import Progress
from .ray_runtime import ray_session, resolve_workers

__all__ = ["run_search", "config_difference"]

# fields that may change when a run is resumed (they do not change what is searched)
RESUMABLE = ("workers", "address", "trials", "out", "resources", "trial_timeout_s",
             "max_retries")


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


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: finish writing, leave a resumable run, exit 130."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _local_cpus(config: SearchConfig) -> int | None:
    """CPUs for an embedded Ray: enough for `workers` trials (None: all, for "auto")."""
    if config.workers == "auto":
        return None
    return max(1, math.ceil(config.workers * config.resources.num_cpus))


def run_search(args: argparse.Namespace) -> dict[str, Any]:
    """Run or resume a search; returns the JSON summary. The run folder's writer lock is
    held throughout (taken before the folder is read), so a second writer exits 2 at once."""
    with contextlib.ExitStack() as held:
        return _run_search(args, held)


def _run_search(args: argparse.Namespace, held: contextlib.ExitStack) -> dict[str, Any]:
    store = None
    if args.resume:
        store, config = _resume_target(args)
        held.enter_context(run_lock(store.dir, "search --resume"))
    elif not args.config:
        raise UserError("nas search needs --config FILE (e.g. configs/quickstart.yaml)")
    else:
        config = load_config(args.config, **_overrides(args))
    progress = Progress(config.trials, quiet=args.quiet,
                        fmt=getattr(args, "progress", None) or "text")
    # checks every component (and, resuming, the whole run folder) before writing anything
    oneshot = config.strategy.name in ONESHOT  # the supernet trains first, inside Ray
    driver = None if oneshot else Driver(config, store, progress, resume=bool(args.resume))
    if store is None:
        run_dir = Path(args.out) if args.out else _unique_dir(Path(config.out) / config.name)
        RunStore.ensure_new(run_dir)
    # Ray prints worker-death notices on stdout; keep stdout for the one JSON summary
    with _sigterm_interrupts(), contextlib.redirect_stdout(sys.stderr), \
            ray_session(_local_cpus(config), config.address):
        res = config.resources
        workers = resolve_workers(config.workers, res.num_cpus, res.num_gpus)
        if store is None:  # only now: a search that cannot start leaves no run folder
            run_dir.mkdir(parents=True, exist_ok=True)
            held.enter_context(run_lock(run_dir, "search"))
            store = RunStore.create(run_dir, config.to_dict())
        if oneshot:
            config = before_search(config, store, progress)  # trains/resumes the supernet
            driver = Driver(config, store, progress, resume=bool(args.resume))
        driver.store = store
        progress.line(f"nas search: {config.strategy.name} on {config.space.name} with "
                      f"{config.evaluator.name}, {config.trials} trials, {workers} "
                      f"worker(s) -> {store.dir}")
        store.log(f"{'resume' if args.resume else 'start'}: {config.to_dict()}")
        try:
            summary = driver.run(workers)
            extra = after_search(config, store, progress)  # one-shot: rank agreement
            store.log(f"finished: {summary.trials} trials, {summary.failed} failed, "
                      f"{summary.infeasible} infeasible")
        finally:
            store.close()
    return {**dataclasses.asdict(summary), **extra}
