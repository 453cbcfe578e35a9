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

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml

from nas.store.yaml_input import load_yaml
from search_spaces.errors import UserError

__all__ = ["RunStore", "TRIALS", "STATE", "DERIVED", "flat_record", "duplicated_ids",
           "rewrite_trials", "write_failed"]

TRIALS, STATE, CONFIG, EVENTS = "trials.jsonl", "state.json", "config.yaml", "events.log"
DERIVED = ("trials.parquet", "study.db", "pareto.json", STATE)  # rebuilt from the log


def flat_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A trial record as one table row: nested keys joined by '.', without "asks"."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "asks" and not prefix:
            continue
        if isinstance(value, dict):  # records are JSON: dict, not the (slow) Mapping ABC
            row.update(flat_record(value, f"{prefix}{key}."))
        else:
            row[f"{prefix}{key}"] = value
    return row


def write_failed(path: Path, reason: str) -> UserError:
    """A failed write (disk full, read-only folder) as a one-line reason: the log is
    intact, so the run continues with --resume once the cause is fixed."""
    return UserError(f"cannot write {str(path)!r} ({reason}); the trial log is "
                     "intact: free space or make the folder writable, then continue with "
                     f"`nas search --resume {path.parent}`")


@contextlib.contextmanager
def _writing(path: Path, tmp: Path | None = None) -> Iterator[None]:
    """OSError inside -> `write_failed`; a half-written `tmp` file is removed."""
    try:
        yield
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise write_failed(path, exc.strerror or str(exc)) from None


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with _writing(path, tmp):
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def _lines(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Trial records as the log stores them: compact JSON, one a line."""
    return "".join(json.dumps(r, separators=(",", ":"), allow_nan=True) + "\n"
                   for r in records).encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def rewrite_trials(run_dir: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Replace the trial log atomically (`nas repair`; never during a search)."""
    _atomic_write(Path(run_dir) / TRIALS, _lines(records).decode())


def duplicated_ids(records: Iterable[Mapping[str, Any]]) -> list[int]:
    """Trial ids recorded more than once (two writers on one run folder), in log order."""
    seen: set[int] = set()
    twice: dict[int, None] = {}
    for record in records:
        tid = record["trial_id"]
        if tid in seen:
            twice[tid] = None
        seen.add(tid)
    return list(twice)


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
        if run_dir.exists() and not run_dir.is_dir():
            raise UserError(f"run folder {str(run_dir)!r} is a file, not a folder; choose "
                            "another --out")
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
        if store.dir.exists() and not store.dir.is_dir():
            raise UserError(f"{str(store.dir)!r} is a file, not a run folder; pass the folder "
                            "that `nas search` printed (e.g. results/<name>)")
        if not store.dir.is_dir():
            raise UserError(f"run folder {str(store.dir)!r} does not exist; "
                            "pass the folder that `nas search` printed (e.g. results/<name>)")
        if not (store.dir / CONFIG).is_file() or not (store.dir / TRIALS).is_file():
            raise UserError(f"{str(store.dir)!r} is not a run folder: it lacks {CONFIG} or "
                            f"{TRIALS}")
        return store

    def config(self) -> dict[str, Any]:
        try:
            data = load_yaml((self.dir / CONFIG).read_text(), str(self.dir / CONFIG))
        except UserError as exc:
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
        data = _lines(records)
        path = self.dir / TRIALS
        with _writing(path):
            if self._trials is None:
                self._trials = os.open(path, os.O_WRONLY | os.O_APPEND)
            size = os.fstat(self._trials).st_size
            try:
                _write_all(self._trials, data)
                os.fsync(self._trials)
            except OSError:  # e.g. disk full: cut what was written, so no line is torn
                with contextlib.suppress(OSError):
                    os.ftruncate(self._trials, size)
                raise

    def trials(self, repair: bool = False, duplicates: bool = False) -> list[dict[str, Any]]:
        """All finished trial records. A torn last line (crash mid-write) is dropped, and
        with `repair` cut from the file; a bad line elsewhere means corruption: refuse.
        A trial id recorded twice is refused too, unless `duplicates` (`nas repair`)."""
        records = self._read_trials(repair)
        twice = [] if duplicates else duplicated_ids(records)
        if twice:
            raise UserError(f"{self.dir / TRIALS} records {len(twice)} trial id(s) more than "
                            f"once (first: {twice[0]}): two searches wrote to this run at "
                            f"once; run `nas repair {self.dir}` to keep the first record of "
                            "each and rebuild the derived files")
        return records

    def _read_trials(self, repair: bool) -> list[dict[str, Any]]:
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
            raise UserError(f"{path} is corrupted; refusing to resume (nothing was "
                            f"overwritten; `nas repair {self.dir}` sets it aside, and the log "
                            "replays)")
        return state

    # ----- derived views ------------------------------------------------------------
    def log(self, message: str) -> None:
        """One line in events.log; best effort (a full disk must not hide the real error,
        and the trial log, not this file, is the record of the run)."""
        with contextlib.suppress(OSError):
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
        with _writing(path, tmp):
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
        if self._trials is not None:
            os.close(self._trials)
            self._trials = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
