"""The run folder: an append-only, fsync'd trial log plus derived views.

results/<run>/
  config.yaml      resolved config
  trials.jsonl     source of truth: one JSON record per finished trial, fsync'd before ack
  state.json       strategy state + pending trials (atomic replace), for resume
  trials.parquet   tabular view (rewritten from the log)
  study.db         Optuna SQLite mirror (optuna-dashboard opens it)
  pareto.json      front + hypervolume of the finished trials
  events.log       human-readable event log
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from search_spaces.errors import UserError

__all__ = ["RunStore", "TRIALS", "STATE"]

TRIALS, STATE, CONFIG, EVENTS = "trials.jsonl", "state.json", "config.yaml", "events.log"


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

    # ----- creation and opening ---------------------------------------------------
    @classmethod
    def create(cls, run_dir: str | Path, config: Mapping[str, Any]) -> "RunStore":
        store = cls(run_dir)
        if (store.dir / TRIALS).exists() or (store.dir / STATE).exists():
            raise UserError(f"run folder {str(store.dir)!r} already holds a run; pass --resume "
                            "to continue it or choose another --out/name")
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
        line = json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n"
        with open(self.dir / TRIALS, "a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

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
                records.append(json.loads(line))
                good_bytes += len(line) + 1
            except json.JSONDecodeError:
                if number == len(lines) - 1:  # unterminated last line: never acked
                    if repair:
                        with open(path, "r+b") as f:
                            f.truncate(good_bytes)
                        self.log(f"dropped a torn final record ({len(line)} bytes)")
                    break
                raise UserError(f"{path} is corrupted at line {number + 1}; refusing to "
                                "continue (nothing was overwritten)") from None
        return records

    # ----- state ----------------------------------------------------------------------
    def save_state(self, state: Mapping[str, Any]) -> None:
        _atomic_write(self.dir / STATE, json.dumps(state))

    def load_state(self) -> dict[str, Any] | None:
        path = self.dir / STATE
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            raise UserError(f"{path} is corrupted; refusing to resume "
                            "(nothing was overwritten)") from None

    # ----- derived views ------------------------------------------------------------
    def log(self, message: str) -> None:
        if self._log is None:
            self._log = open(self.dir / EVENTS, "a", buffering=1)
        self._log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")

    def write_parquet(self, records: Iterable[Mapping[str, Any]]) -> Path:
        import pandas as pd

        frame = pd.json_normalize(list(records), sep=".")
        path = self.dir / "trials.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path

    def write_json(self, name: str, data: Any) -> None:
        _atomic_write(self.dir / name, json.dumps(data, indent=1))

    def read_json(self, name: str) -> Any:
        path = self.dir / name
        return json.loads(path.read_text()) if path.exists() else None

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
