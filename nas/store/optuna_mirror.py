"""Mirror the trial log into an Optuna SQLite study (optuna-dashboard reads study.db).

Optuna creates the study (it owns the schema); new trials are then written with one SQL
transaction per batch, ~0.1 ms a trial instead of the ~60 ms a trial `Study.add_trials`
costs here through the ORM (a query per param and attribute, a commit per trial). The
rows are the ones Optuna's RDB storage writes (`optuna/storages/_rdb/models.py`); when a
table does not have the expected columns (another Optuna schema), `add_trials` is used.
Infeasible trials are COMPLETE with their constraint values (`Trial.set_constraint`'s
attributes), so optuna-dashboard shows them as infeasible; failed trials are FAIL.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import sqlite3
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import optuna

from nas.store.trial_log import write_failed
from nas.strategies.base import Objective
from search_spaces.errors import UserError
from search_spaces.space import Space
from trainers.metrics import COMPLETE, INFEASIBLE, PRUNED

__all__ = ["mirror_to_optuna"]

_CONSTRAINTS_KEY = "constraints"  # prefix `Trial.set_constraint` uses (Optuna >= 5)
_COLUMNS = {
    "trials": {"trial_id", "number", "study_id", "state", "datetime_start",
               "datetime_complete"},
    "trial_params": {"param_id", "trial_id", "param_name", "param_value",
                     "distribution_json"},
    "trial_values": {"trial_value_id", "trial_id", "objective", "value", "value_type"},
    "trial_user_attributes": {"trial_user_attribute_id", "trial_id", "key", "value_json"},
    "trial_system_attributes": {"trial_system_attribute_id", "trial_id", "key",
                                "value_json"},
}


def _parts(record: Mapping[str, Any], objectives: Sequence[Objective]):
    """(state, values, user attrs, system attrs) of one trial record."""
    metrics = record["metrics"]
    measured = metrics["status"] in (COMPLETE, INFEASIBLE)
    values = None
    if measured:
        merged = {**metrics["cost"], **metrics["objectives"]}
        values = [float(merged.get(o.name, math.nan)) for o in objectives]
        measured = all(not math.isnan(v) for v in values)
    user = {"trial_id": record["trial_id"], "arch": record["arch"], "key": record["key"],
            "status": metrics["status"], "reason": metrics.get("reason", ""),
            **{f"cost.{k}": v for k, v in metrics["cost"].items()}}
    system = {f"{_CONSTRAINTS_KEY}:{name}": min(float(v), 1e300)
              for name, v in (record.get("violations") or {}).items()} if measured else {}
    state = "COMPLETE" if measured else "PRUNED" if metrics["status"] == PRUNED else "FAIL"
    return state, (values if measured else None), user, system


def _utc(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    moment = datetime.datetime.fromtimestamp(float(timestamp), datetime.timezone.utc)
    return moment.replace(tzinfo=None).isoformat(sep=" ")


def _schema_ok(conn: sqlite3.Connection) -> bool:
    return all({row[1] for row in conn.execute(f"PRAGMA table_info({table})")} == columns
               for table, columns in _COLUMNS.items())


def _insert(path: Path, study_name: str, records: Sequence[Mapping[str, Any]],
            objectives: Sequence[Objective], distributions: dict) -> bool:
    """Write `records` in one transaction; False (nothing written) on another schema."""
    encoded = {n: optuna.distributions.distribution_to_json(d) for n, d in distributions.items()}
    with sqlite3.connect(path, timeout=60) as conn:  # commits (or rolls back) on exit
        if not _schema_ok(conn):
            return False
        study_id, = conn.execute("SELECT study_id FROM studies WHERE study_name = ?",
                                 (study_name,)).fetchone()
        number, = conn.execute("SELECT COUNT(*) FROM trials WHERE study_id = ?",
                               (study_id,)).fetchone()
        params, values, user_rows, system_rows = [], [], [], []
        for record in records:
            state, objective_values, user, system = _parts(record, objectives)
            trial_id = conn.execute(
                "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete)"
                " VALUES (?, ?, ?, ?, ?)", (number, study_id, state, _utc(record.get("started")),
                                            _utc(record.get("finished")))).lastrowid
            number += 1
            for name, choice in record["genotype"]["decisions"].items():
                internal = distributions[name].to_internal_repr(choice)
                params.append((trial_id, name, float(internal), encoded[name]))
            for i, v in enumerate(objective_values or []):
                kind = "INF_POS" if v == math.inf else "INF_NEG" if v == -math.inf else "FINITE"
                values.append((trial_id, i, v if kind == "FINITE" else None, kind))
            user_rows += [(trial_id, k, json.dumps(v)) for k, v in user.items()]
            system_rows += [(trial_id, k, json.dumps(v)) for k, v in system.items()]
        conn.executemany("INSERT INTO trial_params (trial_id, param_name, param_value, "
                         "distribution_json) VALUES (?, ?, ?, ?)", params)
        conn.executemany("INSERT INTO trial_values (trial_id, objective, value, value_type) "
                         "VALUES (?, ?, ?, ?)", values)
        conn.executemany("INSERT INTO trial_user_attributes (trial_id, key, value_json) "
                         "VALUES (?, ?, ?)", user_rows)
        conn.executemany("INSERT INTO trial_system_attributes (trial_id, key, value_json) "
                         "VALUES (?, ?, ?)", system_rows)
    return True


def _frozen(record: Mapping[str, Any], objectives: Sequence[Objective],
            distributions: dict) -> optuna.trial.FrozenTrial:
    state, values, user, system = _parts(record, objectives)
    return optuna.trial.create_trial(params=dict(record["genotype"]["decisions"]),
                                     distributions=distributions, values=values,
                                     state=optuna.trial.TrialState[state],
                                     user_attrs=user, system_attrs=system)


def _mirrored_ids(path: Path, study_name: str, objectives: Sequence[Objective]
                  ) -> list[tuple[Any, Any]] | None:
    """(trial id, genotype key) of each trial of the study in `path` (created when
    missing), or None when the file is not a readable study of these objectives."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(storage=f"sqlite:///{path}", study_name=study_name,
                                        directions=[o.direction for o in objectives],
                                        load_if_exists=True)
            if [d.name.lower() for d in study.directions] != [o.direction for o in objectives]:
                return None
            if len(objectives) > 1:
                study.set_metric_names([o.name for o in objectives])
            ids = [(t.user_attrs.get("trial_id"), t.user_attrs.get("key"))
                   for t in study.get_trials(deepcopy=False)]
            del study  # release its connections before writing directly
    except Exception as exc:  # sqlite, SQLAlchemy and Optuna each raise their own
        _raise_if_unwritable(exc, path)
        return None  # not a study we can read: rebuilt
    return ids


def _raise_if_unwritable(exc: Exception, path: Path) -> None:
    """A full disk or read-only folder is not a bad study.db: stop with the reason."""
    text = str(exc)
    if any(s in text for s in ("disk is full", "readonly", "unable to open")):
        raise write_failed(path, text.splitlines()[0][:120]) from None


def _checked_count(path: Path, study_name: str, records: Sequence[Mapping[str, Any]],
                   objectives: Sequence[Objective]) -> int:
    """How many of `records` study.db holds; a study.db that is unreadable or disagrees
    with the log (not a prefix of it) is moved aside to study.db.bad and rebuilt."""
    ids = _mirrored_ids(path, study_name, objectives)
    if ids is not None and ids == [(r["trial_id"], r["key"]) for r in records[:len(ids)]]:
        return len(ids)
    os.replace(path, path.with_name("study.db.bad"))
    for extra in ("-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{extra}")
    ids = _mirrored_ids(path, study_name, objectives)
    if ids != []:
        raise UserError(f"{path} cannot be rebuilt from the trial log")
    return 0


def mirror_to_optuna(run_dir: Path, study_name: str, records: Sequence[Mapping[str, Any]],
                     objectives: Sequence[Objective], space: Space,
                     done: int | None = None) -> int:
    """Append the records not yet in `study.db` (`done` of them are, when known, else it
    is checked against the log and rebuilt when it disagrees); returns how many records
    the study now holds."""
    path = Path(run_dir).resolve() / "study.db"
    if done is None:
        done = _checked_count(path, study_name, records, objectives)
    new = records[done:]
    try:
        if new and not _insert(path, study_name, new, objectives, space.distributions()):
            study = optuna.load_study(study_name=study_name, storage=f"sqlite:///{path}")
            study.add_trials([_frozen(r, objectives, space.distributions()) for r in new])
    except Exception as exc:
        _raise_if_unwritable(exc, path)
        raise
    return done + len(new)
