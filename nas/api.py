"""The Python API behind `import nas`: run a search and open run folders.

`search` runs exactly what `nas search` runs (same run folder, store, Ray, resume);
`load_run` opens a finished or running run folder read-only. Both return a `Run`.
`register_*` register your own space, evaluator, strategy or proxy by name: used in
configs and `nas.search` like the built-in ones, and sent to every Ray worker (which never
ran the code that registered them). A built-in name is refused; yours may be registered
again.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

from search_spaces.errors import UserError
from search_spaces.user_code import check_user_name

__all__ = ["Run", "load_run", "search", "register_space", "register_evaluator",
           "register_strategy", "register_proxy"]


class Run:
    """A run folder: its config, its trials (a DataFrame) and its Pareto front."""

    def __init__(self, run_dir: str | Path) -> None:
        from nas.store.runinfo import read_run_info
        from nas.store.trial_log import RunStore

        self._store = RunStore.open(run_dir)
        self.info = read_run_info(self._store.dir)
        self.dir = self._store.dir
        #: the search's JSON summary (what `nas search --json` prints) when made by search()
        self.summary: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r})"

    @property
    def config(self) -> dict[str, Any]:
        """The resolved config the run was made with (its config.yaml)."""
        return self._store.config()

    def records(self) -> list[dict[str, Any]]:
        """Every finished trial record, in the order they finished (trials.jsonl)."""
        return self._store.trials()

    @property
    def trials(self):
        """One row per finished trial: trial_id, status, arch, metrics.* columns."""
        import pandas as pd

        from nas.store.trial_log import flat_record

        return pd.DataFrame([flat_record(r) for r in self.records()])

    @property
    def pareto(self) -> list[dict[str, Any]]:
        """The records of the feasible Pareto front (genotypes included)."""
        from nas.store.runinfo import front_trial_ids

        records = self.records()
        ids = set(front_trial_ids(records, self.info))
        return [r for r in records if r["trial_id"] in ids]

    def best(self, objective: str | None = None) -> dict[str, Any]:
        """The complete, feasible record best in `objective` (default: the first one)."""
        from nas.store.runinfo import feasible_records, metric_value

        names = self.info.objective_names
        name = objective or names[0]
        if name not in names:
            raise UserError(f"{name!r} is not an objective of this run; objectives: {names}")
        sign = 1.0 if self.info.directions[names.index(name)] == "maximize" else -1.0
        scored = [(sign * metric_value(r, name), r)
                  for r in feasible_records(self.records(), self.info.constraints)]
        scored = [(v, r) for v, r in scored if not math.isnan(v)]
        if not scored:
            raise UserError(f"run {str(self.dir)!r} has no complete trial with {name!r} yet")
        return max(scored, key=lambda pair: pair[0])[1]


def load_run(run_dir: str | Path) -> Run:
    """Open a finished or running run folder (read-only: no lock, nothing written)."""
    return Run(run_dir)


def search(config: Any = None, *, resume: bool | str | Path = False, out: str | None = None,
           quiet: bool = True, progress: str = "text", **overrides: Any) -> Run:
    """Run (or, with `resume`, continue) a search exactly as `nas search` does: same run
    folder, store, Ray, resume and Pareto front. Returns the finished `Run`.

    config: a YAML path, a mapping or a `SearchConfig` (None with `resume=RUN_DIR`);
    overrides: any config field (trials=, workers=, seed=, address=, objectives=, ...);
    space=, strategy=, evaluator= also take a name, {name, options}, or your own object:
    a function of one trial (evaluator), a Space subclass, a Strategy class.
    `resume`: True (the config's run folder) or a run folder.
    """
    from nas.run.code_shipping import module_path
    from nas.run.search import run_search

    components = {key: _component(key, overrides[key]) for key in _COMPONENTS
                  if key in overrides}
    objects = [v.get("name") if isinstance(v, dict) else v for v in
               (overrides[k] for k in components)]
    modules = [m for m in map(module_path, objects) if m is not None]
    summary = run_search(config, resume=resume, out=out, quiet=quiet, progress=progress,
                         overrides={**overrides, **components}, extra_code=modules)
    run = Run(summary["run_dir"])
    run.summary = summary
    return run


_COMPONENTS = ("space", "strategy", "evaluator")


def _component(key: str, value: Any) -> Any:
    """A component override as config data; the user's own object is registered under
    its "module:qualname" (sent to every worker) and named by it."""
    if isinstance(value, dict) and not isinstance(value.get("name"), str) and "name" in value:
        return {**value, "name": _component(key, value["name"])}
    if value is None or isinstance(value, (str, dict)):
        return value
    from search_spaces.user_code import reference_of

    name = reference_of(value)
    register_object(key, name, value)
    return name


def register_space(cls: type | None = None, *, name: str | None = None):
    """Class decorator, bare (`@nas.register_space`: under the class's `name`) or with a
    name (`@nas.register_space(name="tiny")`), registering a `search_spaces.Space`
    subclass."""
    from search_spaces.space import register_user_space

    def decorator(space_cls: type) -> type:
        if name is not None:
            check_user_name(name, "space")
        return register_user_space(space_cls, name)

    return decorator(cls) if cls is not None else decorator


def register_evaluator(name: str, metrics: Sequence[str] | None = None) -> Callable:
    """Decorator registering an evaluator function (one `Trial` -> metric mapping) or
    `Evaluator` subclass; `metrics` declares the names it returns (params and macs are
    added)."""
    from trainers.user_evaluator import register_evaluator as register

    return register(name, metrics)


def register_strategy(name: str) -> Callable:
    """Decorator registering a strategy class (space, objectives, seed, constraints=...,
    **options; ask/tell, see nas.strategies.base.Strategy)."""
    from nas.strategies.base import STRATEGIES

    check_user_name(name, "strategy")

    def decorator(cls: Any) -> Any:
        if not callable(cls):
            raise UserError(f"register_strategy({name!r}) decorates a Strategy class, "
                            f"not {cls!r}")
        return STRATEGIES.register_user(name, cls)

    return decorator


def register_proxy(name: str, *, data_free: bool = False, citation: str = "") -> Callable:
    """Decorator registering a zero-cost proxy `score(model, batch, seed=0) -> float`
    (higher is better) for ladder proxy rungs and `nas proxies`."""
    from trainers.proxies import register_user_proxy

    return register_user_proxy(name, data_free=data_free, citation=citation)


def register_object(kind: str, name: str, obj: Any) -> None:
    """Register the user's object passed to `nas.search` (space=, strategy=, evaluator=)
    under its reference `name`."""
    if kind == "space":
        from search_spaces.space import register_user_space

        register_user_space(obj, name)
    elif kind == "evaluator":
        from trainers.user_evaluator import register_user_evaluator

        register_user_evaluator(name, obj)
    else:
        from nas.strategies.base import STRATEGIES

        STRATEGIES.register_user(name, obj)
