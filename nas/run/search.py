"""`nas search`: resolve the config and run folder, then drive the search on Ray."""
from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

from nas.oneshot import after_search, before_search
from nas.store.lock import run_lock
from nas.store.trial_log import RunStore
from nas.strategies.oneshot import ONESHOT
from search_spaces.errors import UserError
from search_spaces.user_code import add_import_paths

from .code_shipping import user_code
from .config import SearchConfig, apply_overrides, config_from_dict, load_config
from .driver import Driver
from .interrupts import interruptible
from .progress import Progress
from .ray_runtime import check_cluster, ray_session, resolve_workers
from .worker import user_registrations

__all__ = ["run_search", "config_difference", "as_config", "RESUMABLE"]

# fields that may change when a run is resumed (they do not change what is searched)
RESUMABLE = ("workers", "address", "trials", "out", "resources", "trial_timeout_s",
             "max_retries", "code", "workdir", "ask_ahead")


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


ConfigSource = Union[str, Path, Mapping[str, Any], SearchConfig]


def as_config(source: ConfigSource, overrides: Mapping[str, Any] | None = None) -> SearchConfig:
    """A validated config from a YAML path, a mapping or a SearchConfig, with `overrides`
    (SearchConfig fields; None values are ignored)."""
    overrides = dict(overrides or {})
    if isinstance(source, (str, Path)):
        return load_config(source, **overrides)
    if isinstance(source, SearchConfig):
        source = source.to_dict()
    if not isinstance(source, Mapping):
        raise UserError(f"a search config is a YAML path, a mapping or a SearchConfig, not "
                        f"{type(source).__name__}")
    return config_from_dict(apply_overrides(source, overrides))


def _resume_target(source: ConfigSource | None, resume: bool | str | Path, out: str | None,
                   overrides: Mapping[str, Any]) -> tuple[RunStore, SearchConfig]:
    if isinstance(resume, (str, Path)):
        store = RunStore.open(resume)
    elif source is not None:
        cfg = as_config(source)
        store = RunStore.open(Path(out) if out else Path(cfg.out) / cfg.name)
    else:
        raise UserError("--resume needs a run folder (nas search --resume results/<run>) "
                        "or --config")
    saved = config_from_dict(store.config())
    given = {k: v for k, v in overrides.items() if v is not None}
    if source is not None:
        diff = config_difference(saved, as_config(source, given))
        if diff:
            raise UserError(f"run {str(store.dir)!r} was made with a different config; "
                            f"refusing to resume ({'; '.join(diff)})")
    changes = {k: v for k, v in given.items() if k in RESUMABLE}
    other = sorted(k for k in given if k not in RESUMABLE)
    if other and source is None:
        raise UserError(f"cannot change {other} when resuming; only {RESUMABLE}")
    return store, dataclasses.replace(saved, **changes)


def _local_cpus(config: SearchConfig) -> int | None:
    """CPUs for an embedded Ray: enough for `workers` trials (None: all, for "auto")."""
    if config.workers == "auto":
        return None
    return max(1, math.ceil(config.workers * config.resources.num_cpus))


def _registered_objects() -> list[Any]:
    """The user's objects registered in this process (a proxy's score function)."""
    return [getattr(entry, "score", entry) for entries in user_registrations().values()
            for entry in entries.values()]


def run_search(source: ConfigSource | None, *, resume: bool | str | Path = False,
               out: str | None = None, quiet: bool = False, progress: str = "text",
               overrides: Mapping[str, Any] | None = None,
               extra_code: Sequence[str] = ()) -> dict[str, Any]:
    """Run or resume a search; returns the JSON summary. `source`: a config file, mapping
    or SearchConfig (None when `resume` names the run folder); `overrides`: SearchConfig
    fields (the CLI's flags); `extra_code`: modules added to config `code`. The run
    folder's writer lock is held throughout (taken before the folder is read), so a second
    writer exits 2 at once."""
    with contextlib.ExitStack() as held:
        return _run_search(source, held, resume=resume, out=out, quiet=quiet,
                           progress=progress, overrides=overrides,
                           extra_code=extra_code)


def _run_search(source: ConfigSource | None, held: contextlib.ExitStack, *,
                resume: bool | str | Path, out: str | None, quiet: bool, progress: str,
                overrides: Mapping[str, Any] | None,
                extra_code: Sequence[str]) -> dict[str, Any]:
    overrides = dict(overrides or {})
    store = None
    if resume:
        store, config = _resume_target(source, resume, out, overrides)
        held.enter_context(run_lock(store.dir, "search --resume"))
    elif source is None:
        raise UserError("nas search needs --config FILE (e.g. configs/quickstart.yaml)")
    else:
        config = as_config(source, overrides)
    if extra_code:
        config = dataclasses.replace(config, code=tuple(dict.fromkeys([*config.code,
                                                                       *extra_code])))
    if config.address:  # seconds, before the components are built
        check_cluster(config.address)
    code = user_code(config.to_dict(), _registered_objects())
    if code is not None:  # the driver builds the user's components too
        add_import_paths(code.import_paths())
    reporter = Progress(config.trials, quiet=quiet, fmt=progress or "text")
    # checks every component (and, resuming, the whole run folder) before writing anything
    oneshot = config.strategy.name in ONESHOT  # the supernet trains first, inside Ray
    driver = None if oneshot else Driver(config, store, reporter, resume=bool(resume))
    if store is None:
        run_dir = Path(out) if out else _unique_dir(Path(config.out) / config.name)
        RunStore.ensure_new(run_dir)
    # Ray prints worker-death notices on stdout; keep stdout for the one JSON summary
    with interruptible(), contextlib.redirect_stdout(sys.stderr), \
            ray_session(_local_cpus(config), config.address, code,
                        store.dir if store is not None else run_dir):
        res = config.resources
        workers = resolve_workers(config.workers, res.num_cpus, res.num_gpus)
        if store is None:  # only now: a search that cannot start leaves no run folder
            run_dir.mkdir(parents=True, exist_ok=True)
            held.enter_context(run_lock(run_dir, "search"))
            store = RunStore.create(run_dir, config.to_dict())
        if oneshot:
            config = before_search(config, store, reporter)  # trains/resumes the supernet
            driver = Driver(config, store, reporter, resume=bool(resume))
        driver.store = store
        reporter.line(f"nas search: {config.strategy.name} on {config.space.name} with "
                      f"{config.evaluator.name}, {config.trials} trials, {workers} "
                      f"worker(s) -> {store.dir}")
        store.log(f"{'resume' if resume else 'start'}: {config.to_dict()}")
        try:
            summary = driver.run(workers)
            extra = after_search(config, store, reporter)  # one-shot: rank agreement
            store.log(f"finished: {summary.trials} trials, {summary.failed} failed, "
                      f"{summary.infeasible} infeasible")
        finally:
            store.close()
    return {**dataclasses.asdict(summary), **extra}
