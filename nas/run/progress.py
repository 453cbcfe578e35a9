"""Structured progress on stderr, one line per finished trial: done/running/failed,
infeasible, best, front size, hypervolume, ETA; as text or as JSON lines."""
from __future__ import annotations

import json
import math
import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Prints one line per finished trial; silent when `quiet`; `fmt` "text" or "json"."""

    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False,
                 fmt: str = "text") -> None:
        self.total, self.stream, self.quiet, self.fmt = total, stream or sys.stderr, quiet, fmt
        self.start = time.monotonic()
        self.done_at_start: int | None = None

    def line(self, message: str) -> None:
        if self.quiet:
            return
        if self.fmt == "json":
            message = json.dumps({"event": "message", "message": message})
        print(message, file=self.stream, flush=True)

    def trial(self, done: int, running: int, failed: int, summary: str, best: str,
              front: int, hv: float | None, infeasible: int = 0) -> None:
        if self.done_at_start is None:
            self.done_at_start = done - 1
        elapsed = time.monotonic() - self.start
        rate = (done - self.done_at_start) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else math.nan
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
        print(f"[{done:>{len(str(self.total))}}/{self.total}] {summary} | running {running} "
              f"failed {failed}{bad} | best {best} | front {front}{hv_text} | "
              f"{elapsed:.0f}s, ETA {eta:.0f}s", file=self.stream, flush=True)
