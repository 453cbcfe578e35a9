"""The dashboard's trial table: compact columns grown incrementally from trials.jsonl.

The server keeps one row per finished trial (ids, finish time, status, worker, every
objective / cost / rung value, the genotype as small integer codes) and sends slices of
it as columnar JSON with floats rounded to 6 significant digits, so 10,000 trials fit in
about a megabyte. Only bytes appended since the last read are parsed.
"""
from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from trainers.metrics import STATUSES

__all__ = ["TrialTable", "compact", "STATUS_CODES"]

#: status -> small code in the page's columns (complete 0, failed 1, infeasible 2, pruned 3)
STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}
RUNG_PREFIX = "rung:"


def compact(value: float) -> float | int | None:
    """A float for JSON: None for NaN/inf, an int when integral, else 6 significant digits."""
    if value is None or not math.isfinite(value):
        return None
    if value == int(value) and abs(value) < 2 ** 53:
        return int(value)
    return float(f"{value:.6g}")


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class TrialTable:
    """Finished trials of one run folder as columns; `refresh()` reads appended lines."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / "trials.jsonl"
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.offset = 0
        self.ids: list[int] = []
        self.finished: list[float] = []
        self.status: list[int] = []
        self.worker: list[int] = []
        self.workers: dict[str, int] = {}
        self.metrics: dict[str, list[float]] = {}
        self.kinds: dict[str, str] = {}  # metric -> objectives | cost | rungs
        self.choices: dict[str, dict[Any, int]] = {}  # decision -> value -> code
        self.geno: dict[str, list[int]] = {}
        self.row_of: dict[int, int] = {}
        self.line_at: list[int] = []  # byte offset of each row's line
        self.t0: float | None = None

    # ----- reading -------------------------------------------------------------------
    def token(self) -> str:
        """A cheap change token: size and mtime of trials.jsonl."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return "missing"
        return f"{stat.st_size}-{stat.st_mtime_ns}"

    def refresh(self) -> int:
        """Parse complete lines appended since the last call; returns rows added."""
        with self._lock:
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                return 0
            if size < self.offset:  # the log was cut (torn-record repair): start over
                self._reset()
            if size == self.offset:
                return 0
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read(size - self.offset)
            end = chunk.rfind(b"\n") + 1  # a line still being written waits for next time
            before, position, genotypes = len(self.ids), self.offset, []
            for line in chunk[:end].split(b"\n"):
                if line.strip():
                    self._try_add(line, position, genotypes)
                position += len(line) + 1
            self._add_genotypes(genotypes)
            self.offset += end
            return len(self.ids) - before

    def _try_add(self, line: bytes, position: int, genotypes: list) -> None:
        try:
            record = json.loads(line)
            int(record["trial_id"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            return  # a corrupt line is skipped; the dashboard is read-only
        self.line_at.append(position)
        self._add(record)
        genotypes.append((record.get("genotype") or {}).get("decisions") or {})

    def record(self, trial_id: int) -> dict[str, Any] | None:
        """The full record of one trial, read back from its line in the log."""
        row = self.row_of.get(trial_id)
        if row is None:
            return None
        with open(self.path, "rb") as f:
            f.seek(self.line_at[row])
            return json.loads(f.readline())

    def _add(self, record: Mapping[str, Any]) -> None:
        row = len(self.ids)
        metrics = record.get("metrics") or {}
        self.ids.append(int(record["trial_id"]))
        self.row_of[self.ids[-1]] = row
        started = _number(record.get("started"))
        if self.t0 is None and math.isfinite(started):
            self.t0 = started
        self.finished.append(_number(record.get("finished")) - (self.t0 or 0.0))
        self.status.append(STATUS_CODES.get(metrics.get("status"), 1))
        worker = record.get("worker") or {}
        name = f"{worker.get('host', '?')}:{worker.get('pid', '?')}" if worker else "lost"
        self.worker.append(self.workers.setdefault(name, len(self.workers)))
        values = {**{f"{RUNG_PREFIX}{k}": (v, "rungs")
                     for k, v in (metrics.get("rungs") or {}).items()},
                  **{k: (v, "cost") for k, v in (metrics.get("cost") or {}).items()},
                  **{k: (v, "objectives") for k, v in (metrics.get("objectives") or {}).items()}}
        for key, (value, kind) in values.items():
            if key not in self.metrics:
                self.metrics[key] = [math.nan] * row
                self.kinds[key] = kind
            self.metrics[key].append(_number(value))
        for column in self.metrics.values():
            if len(column) == row:
                column.append(math.nan)

    def _add_genotypes(self, batch: list[Mapping[str, Any]]) -> None:
        """Code the decisions of the rows one refresh added, a column at a time (-1 where
        a row lacks the decision): one pass per column, not per row and decision."""
        start = len(self.ids) - len(batch)
        for name in dict.fromkeys(name for decisions in batch for name in decisions):
            codes = self.choices.setdefault(name, {})
            column = self.geno.setdefault(name, [-1] * start)
            column.extend([codes.setdefault(d[name], len(codes)) if name in d else -1
                           for d in batch])
        for column in self.geno.values():
            column.extend([-1] * (len(self.ids) - len(column)))

    # ----- views ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> np.ndarray:
        """Full-precision values of one metric, NaN where a trial lacks it."""
        return np.asarray(self.metrics.get(name, [math.nan] * len(self.ids)), dtype=float)

    def complete_mask(self) -> np.ndarray:
        return np.asarray(self.status, dtype=int) == STATUS_CODES["complete"]

    def columns(self, since: int = 0) -> dict[str, Any]:
        """Rows `since`.. as compact columnar JSON (the page appends them)."""
        with self._lock:
            s = slice(max(0, since), None)
            return {"start": max(0, since), "n": len(self.ids), "token": self.token(),
                    "statuses": list(STATUS_CODES),
                    "t0": self.t0, "ids": self.ids[s],
                    "t": [compact(round(v, 2)) for v in self.finished[s]],
                    "status": self.status[s], "worker": self.worker[s],
                    "workers": list(self.workers), "kinds": dict(self.kinds),
                    "metrics": {k: [compact(v) for v in col[s]]
                                for k, col in self.metrics.items()},
                    "choices": {k: list(v) for k, v in self.choices.items()},
                    "geno": {k: col[s] for k, col in self.geno.items()}}
