"""`nas repair RUN`: make a run folder describe one search again, keeping everything.

Keeps the first record of each trial id in trials.jsonl (a second writer on the same
folder, before the writer lock existed, recorded ids twice), drops a torn final line, and
rebuilds the derived files (trials.parquet, study.db, pareto.json) from the repaired log;
state.json is dropped, so the next `--resume` replays the log. The original log and the
old derived files are moved into `<run>/before-repair-<time>/`, nothing is deleted.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from nas.store.lock import run_lock
from nas.store.results import ResultsView
from nas.store.trial_log import DERIVED, TRIALS, RunStore, duplicated_ids, rewrite_trials
from search_spaces import get_space

from .config import config_from_dict

__all__ = ["repair_run"]


def _first_of_each_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[int] = set()
    kept = []
    for record in records:
        if record["trial_id"] not in seen:
            seen.add(record["trial_id"])
            kept.append(record)
    return kept


def _move_aside(store: RunStore) -> Path:
    """Copy the log and move the derived files into a new before-repair-<time> folder."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    backup, n = store.dir / f"before-repair-{stamp}", 2
    while backup.exists():
        backup, n = store.dir / f"before-repair-{stamp}-{n}", n + 1
    backup.mkdir()
    shutil.copy2(store.dir / TRIALS, backup / TRIALS)  # the log stays readable meanwhile
    for name in DERIVED:
        if (store.dir / name).exists():
            (store.dir / name).replace(backup / name)
    return backup


def repair_run(run_dir: str | Path) -> dict[str, Any]:
    """Repair `run_dir` under its writer lock; returns what was kept and where the
    originals are."""
    store = RunStore.open(run_dir)
    with run_lock(store.dir, "repair"):
        config = config_from_dict(store.config())
        space = get_space(config.space.name, **config.space.options)
        records = store.trials(duplicates=True)  # a torn final line is left out
        twice = duplicated_ids(records)
        kept = _first_of_each_id(records)
        backup = _move_aside(store)
        rewrite_trials(store.dir, kept)
        view = ResultsView(config.objectives, space, config.reference)
        for record in kept:
            view.add(record)
        view.flush(store, config.name)
        store.log(f"repaired: kept {len(kept)} of {len(records)} records "
                  f"({len(twice)} duplicated ids); originals in {backup.name}")
        store.close()
    return {"run_dir": str(store.dir), "records": len(records), "kept": len(kept),
            "duplicated_ids": twice, "originals": str(backup),
            "rebuilt": [n for n in DERIVED if (store.dir / n).exists()]}
