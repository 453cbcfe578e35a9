"""The run folder: an append-only, fsync'd trial log plus derived views.

results/<run>/
  config.yaml      resolved config
  trials.jsonl     source of truth: one JSON record per finished trial, fsync'd before ack;
                   each record also carries the strategy asks made since the previous one
                   ("asks"), so the log alone replays the search exactly
  state.json       periodic snapshot of the strategy (atomic replace) to make resume fast
  trials.parquet   tabular view (rewritten from the log)
  study.db         Optuna SQLite mirror (optuna-dashboard opens it)
  pareto.json      front, hypervolume and its history (fixed reference point)
  events.log       human-readable event log
Per trial the store costs one append and one fsync, whatever the run's size.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from search_spaces.errors import UserError

__all__ = ["RunStore", "TRIALS", "STATE", "flat_record"]

TRIALS, STATE, CONFIG, EVENTS = "trials.jsonl", "state.json", "config.yaml", "events.log"


def flat_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A trial record as one table row: nested keys joined by '.', without "asks"."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "asks" and not prefix:
            continue
        if isinstance(value, Mapping):
            row.update(flat_record(value, f"{prefix}{key}."))
        else:
            row[f"{prefix}{key}"] = value
    return row


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunStore:
    """Read and write one run folder; every finished trial is durable before it is acked."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir)
        self._log = None
        self._trials = None  # append handle, kept open

    # ----- creation and opening ---------------------------------------------------
    @staticmethod
    def ensure_new(run_dir: str | Path) -> None:
        """Refuse a folder that already holds a run (before any work starts)."""
        run_dir = Path(run_dir)
        if (run_dir / TRIALS).exists() or (run_dir / STATE).exists():
            raise UserError(f"run folder {str(run_dir)!r} already holds a run; pass --resume "
                            "to continue it or choose another --out/name")

    @classmethod
    def create(cls, run_dir: str | Path, config: Mapping[str, Any]) -> "RunStore":
        store = cls(run_dir)
        cls.ensure_new(store.dir)
        store.dir.mkdir(parents=True, exist_ok=True)
        (store.dir / "checkpoints").mkdir(exist_ok=True)
        _atomic_write(store.dir / CONFIG, yaml.safe_dump(dict(config), sort_keys=False))
        (store.dir / TRIALS).touch()
        return store

    @classmethod
    def open(cls, run_dir: str | Path) -> "RunStore":
        store = cls(run_dir)
        if not store.dir.is_dir():
            raise UserError(f"run folder {str(store.dir)!r} does not exist; "
                            "pass the folder that `nas search` printed (e.g. results/<name>)")
        if not (store.dir / CONFIG).is_file() or not (store.dir / TRIALS).is_file():
            raise UserError(f"{str(store.dir)!r} is not a run folder: it lacks {CONFIG} or "
                            f"{TRIALS}")
        return store

    def config(self) -> dict[str, Any]:
        try:
            data = yaml.safe_load((self.dir / CONFIG).read_text())
        except yaml.YAMLError as exc:
            raise UserError(f"{self.dir / CONFIG} is corrupted: {exc}") from None
        if not isinstance(data, dict):
            raise UserError(f"{self.dir / CONFIG} is corrupted: not a mapping")
        return data

    # ----- trials -------------------------------------------------------------------
    def append_trial(self, record: Mapping[str, Any]) -> None:
        """Append one finished trial and fsync; only then may the driver act on it."""
        self.append_trials([record])

    def append_trials(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append finished trials with one fsync for all of them (group commit)."""
        text = "".join(json.dumps(r, separators=(",", ":"), allow_nan=True) + "\n"
                       for r in records)
        if self._trials is None:
            self._trials = open(self.dir / TRIALS, "a")
        self._trials.write(text)
        self._trials.flush()
        os.fsync(self._trials.fileno())

    def trials(self, repair: bool = False) -> list[dict[str, Any]]:
        """All finished trial records. A torn last line (crash mid-write) is dropped, and
        with `repair` cut from the file; a bad line elsewhere means corruption: refuse."""
        path = self.dir / TRIALS
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        records, good_bytes = [], 0
        for number, line in enumerate(lines):
            if not line.strip():
                good_bytes += len(line) + 1
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "trial_id" not in record:
                    raise ValueError("not a trial record")
                records.append(record)
                good_bytes += len(line) + 1
            except (ValueError, UnicodeDecodeError):
                if number == len(lines) - 1:  # unterminated last line: never acked
                    if repair:
                        with open(path, "r+b") as f:
                            f.truncate(good_bytes)
                        self.log(f"dropped a torn final record ({len(line)} bytes)")
                    break
                raise UserError(f"{path} is corrupted at line {number + 1}; refusing to "
                                "continue (nothing was overwritten)") from None
        else:
            if repair and raw and not raw.endswith(b"\n"):  # whole record, newline torn off
                with open(path, "ab") as f:
                    f.write(b"\n")
        return records

    # ----- state ----------------------------------------------------------------------
    def save_state(self, state: Mapping[str, Any]) -> None:
        _atomic_write(self.dir / STATE, json.dumps(state))

    def load_state(self) -> dict[str, Any] | None:
        path = self.dir / STATE
        if not path.exists():
            return None
        try:
            state = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            state = None
        if not isinstance(state, dict):
            raise UserError(f"{path} is corrupted; refusing to resume "
                            "(nothing was overwritten)")
        return state

    # ----- derived views ------------------------------------------------------------
    def log(self, message: str) -> None:
        if self._log is None:
            self._log = open(self.dir / EVENTS, "a", buffering=1)
        self._log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")

    def write_parquet(self, records: Iterable[Mapping[str, Any]],
                      flat: bool = False) -> Path:
        """trials.parquet from trial records, or from rows already `flat_record`-ed."""
        import pandas as pd

        frame = pd.DataFrame(list(records) if flat else [flat_record(r) for r in records])
        path = self.dir / "trials.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path

    def write_json(self, name: str, data: Any, compact: bool = False) -> None:
        text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=1)
        _atomic_write(self.dir / name, text)

    def read_json(self, name: str) -> Any:
        path = self.dir / name
        return json.loads(path.read_text()) if path.exists() else None

    def close(self) -> None:
        for name in ("_log", "_trials"):
            handle = getattr(self, name)
            if handle is not None:
                handle.close()
                setattr(self, name, None)
