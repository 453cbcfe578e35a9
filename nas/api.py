"""The Python API behind `import nas`: run a search and open run folders.

`search` runs exactly what `nas search` runs (same run folder, store, Ray, resume);
`load_run` opens a finished or running run folder read-only. Both return a `Run`.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from search_spaces.errors import UserError

__all__ = ["Run", "load_run", "search"]

_SEARCH_FLAGS = ("space", "strategy", "trials", "workers", "address", "seed", "out")


class Run:
    """A run folder: its config, its trials (a DataFrame) and its Pareto front."""

    def __init__(self, run_dir: str | Path) -> None:
        from nas.store.runinfo import read_run_info
        from nas.store.trial_log import RunStore

        self._store = RunStore.open(run_dir)
        self.info = read_run_info(self._store.dir)
        self.dir = self._store.dir

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
                  for r in feasible_records(self.records(), self.info)]
        scored = [(v, r) for v, r in scored if not math.isnan(v)]
        if not scored:
            raise UserError(f"run {str(self.dir)!r} has no complete trial with {name!r} yet")
        return max(scored, key=lambda pair: pair[0])[1]


def load_run(run_dir: str | Path) -> Run:
    """Open a finished or running run folder (read-only: no lock, nothing written)."""
    return Run(run_dir)


def search(config: str | Path, *, resume: bool = False, quiet: bool = True,
           **overrides: Any) -> Run:
    """Run (or, with `resume`, continue) the search of config file `config`, exactly as
    `nas search --config FILE` does; `overrides` are the CLI's flags (trials=, workers=,
    strategy=, space=, seed=, address=, out=). Returns the finished `Run`."""
    from nas.run.search import run_search

    unknown = sorted(set(overrides) - set(_SEARCH_FLAGS))
    if unknown:
        raise UserError(f"nas.search got unknown overrides {unknown}; "
                        f"known: {list(_SEARCH_FLAGS)}")
    args = argparse.Namespace(config=str(config), resume=resume, quiet=quiet,
                              progress="text", **{k: overrides.get(k) for k in _SEARCH_FLAGS})
    summary = run_search(args)
    return Run(summary["run_dir"])
