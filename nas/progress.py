"""Structured one-line progress on stderr (trials done/running/failed, best, HV, ETA)."""
from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Prints one line per finished trial; silent when `quiet`."""

    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.total, self.stream, self.quiet = total, stream or sys.stderr, quiet
        self.start = time.monotonic()
        self.done_at_start: int | None = None

    def line(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def trial(self, done: int, running: int, failed: int, summary: str, best: str,
              front: int, hv: float | None) -> None:
        if self.done_at_start is None:
            self.done_at_start = done - 1
        elapsed = time.monotonic() - self.start
        rate = (done - self.done_at_start) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        hv_text = f" HV {hv:.4g}" if hv is not None else ""
        self.line(f"[{done:>{len(str(self.total))}}/{self.total}] {summary} | running {running} "
                  f"failed {failed} | best {best} | front {front}{hv_text} | "
                  f"{elapsed:.0f}s, ETA {eta:.0f}s")
