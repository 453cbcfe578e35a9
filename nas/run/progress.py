"""Structured progress on stderr, one line per finished trial: done/running/failed,
infeasible, best, front size, hypervolume, ETA; as text or as JSON lines.

One clock (`Progress.start`, taken when `nas search` starts) times the progress lines and
the final summary. The ETA is the running mean of the trials' own durations (less a
worker's one-time set-up) times the trials left, shared by the workers, shown once each
worker can have reported a trial: unbiased by start-up time or by trials finishing in
batches (a throughput measured from the clock counts start-up and swings with every
batch). It cannot foresee a search that speeds up (cheaper candidates later, more
pruned), so early on it tends to be high.
"""
from __future__ import annotations

import json
import math
import sys
import time
from typing import TextIO

__all__ = ["Progress", "Eta", "shorten"]

SUMMARY_WIDTH = 100  # characters of a trial summary on a text progress line


def shorten(text: str, width: int) -> str:
    """`text` on one line, cut at a word boundary with an ellipsis when over `width`."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    space = len(cut) if text[width - 1] == " " else cut.rfind(" ")  # the last whole word
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,;:") + "\u2026"


class Eta:
    """Seconds left of a search of `total` trials with `workers` in parallel."""

    def __init__(self, total: int, workers: int = 1) -> None:
        self.total, self.workers = total, max(1, workers)
        self.seconds, self.measured = 0.0, 0

    def update(self, done: int, trial_seconds: float | None) -> float:
        """ETA after `done` trials, the latest of which ran `trial_seconds` (NaN until a
        duration is known; 0 when none are left)."""
        if trial_seconds is not None:
            self.seconds += max(0.0, trial_seconds)
            self.measured += 1
        left = max(0, self.total - done)
        if not left:
            return 0.0
        if self.measured < min(self.workers, self.total):
            return math.nan  # one trial per worker first: a single one is no mean
        return self.seconds / self.measured * left / self.workers


class Progress:
    """Prints one line per finished trial; silent when `quiet`; `fmt` "text" or "json"."""

    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False,
                 fmt: str = "text") -> None:
        self.total, self.stream, self.quiet, self.fmt = total, stream or sys.stderr, quiet, fmt
        self.start = time.monotonic()
        self.eta = Eta(total)

    def elapsed(self) -> float:
        """Seconds since the search started (the clock of every line and the summary)."""
        return time.monotonic() - self.start

    def set_workers(self, workers: int) -> None:
        self.eta.workers = max(1, workers)

    def line(self, message: str) -> None:
        if self.quiet:
            return
        if self.fmt == "json":
            message = json.dumps({"event": "message", "message": message})
        print(message, file=self.stream, flush=True)

    def trial(self, done: int, running: int, failed: int, summary: str, best: str,
              front: int, hv: float | None, infeasible: int = 0,
              seconds: float | None = None) -> None:
        """One finished trial; `seconds` is how long it ran (None: not measured)."""
        elapsed = self.elapsed()
        eta = self.eta.update(done, seconds)
        if self.quiet:
            return
        if self.fmt == "json":
            print(json.dumps({"event": "trial", "done": done, "total": self.total,
                              "running": running, "failed": failed, "infeasible": infeasible,
                              "trial": summary, "best": best, "front": front, "hv": hv,
                              "elapsed_s": round(elapsed, 3),
                              "eta_s": None if math.isnan(eta) else round(eta, 1)}),
                  file=self.stream, flush=True)
            return
        hv_text = f" HV {hv:.4g}" if hv is not None else ""
        bad = f" infeasible {infeasible}" if infeasible else ""
        eta_text = "?" if math.isnan(eta) else f"{eta:.0f}s"
        print(f"[{done:>{len(str(self.total))}}/{self.total}] "
              f"{shorten(summary, SUMMARY_WIDTH)} | running {running} failed {failed}{bad} | "
              f"best {best} | front {front}{hv_text} | {elapsed:.0f}s, ETA {eta_text}",
              file=self.stream, flush=True)
