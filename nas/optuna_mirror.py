"""Mirror the trial log into an Optuna SQLite study, in batches (optuna-dashboard reads it)."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import optuna

from search_spaces.space import Space

from .strategies.base import Objective

__all__ = ["mirror_to_optuna"]


def _frozen(record: Mapping[str, Any], objectives: Sequence[Objective],
            distributions: dict) -> optuna.trial.FrozenTrial:
    metrics = record["metrics"]
    ok = metrics["status"] == "complete"
    values = None
    if ok:
        merged = {**metrics["cost"], **metrics["objectives"]}
        values = [float(merged.get(o.name, float("nan"))) for o in objectives]
    state = (optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.PRUNED
             if metrics["status"] == "pruned" else optuna.trial.TrialState.FAIL)
    attrs = {"trial_id": record["trial_id"], "arch": record["arch"], "key": record["key"],
             "status": metrics["status"], "reason": metrics.get("reason", ""),
             **{f"cost.{k}": v for k, v in metrics["cost"].items()}}
    return optuna.trial.create_trial(params=dict(record["genotype"]["decisions"]),
                                     distributions=distributions, values=values, state=state,
                                     user_attrs=attrs)


def mirror_to_optuna(run_dir: Path, study_name: str, records: Sequence[Mapping[str, Any]],
                     objectives: Sequence[Objective], space: Space) -> int:
    """Append the records not yet in `study.db`; returns how many were added."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{Path(run_dir).resolve() / 'study.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(storage=storage, study_name=study_name,
                                    directions=[o.direction for o in objectives],
                                    load_if_exists=True)
        if len(objectives) > 1:
            study.set_metric_names([o.name for o in objectives])
    done = len(study.get_trials(deepcopy=False))
    new = records[done:]
    if new:
        distributions = space.distributions()
        study.add_trials([_frozen(r, objectives, distributions) for r in new])
    return len(new)
