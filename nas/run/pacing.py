"""How far the driver asks ahead, so the workers never wait while the strategy thinks.

The driver keeps `workers + low + batch` trials asked and not finished. The ones beyond the
running trials wait queued in Ray (where Ray caps how many run at once), so a worker that
finishes starts the next trial without the driver; when the queue is down to `low` the
driver asks `batch` more in one `ask_batch` (one model fit for the batch).

`ask_ahead: N` fixes it: low 0, batch N (deterministic: the asks depend on the results
only). `auto` (the default) starts there, at `batch = workers`, and measures the wall time
of an ask (a) and of a trial on its worker (t): the workers start c = workers * a / t
trials while one ask runs, so the queue left at the refill covers c with a margin
(low = ceil(1.25 c) once c >= 0.5) and a batch asks 2c (at least `workers`), so asking
takes at most about half the driver's time. Trials much longer than an ask (c < 0.5,
minutes-long training) keep the plain behaviour; short trials (a 50 ms trial against a
50 ms GP ask) get the depth they need. `low` covers the slowest recent ask (one that
refits the model's hyperparameters takes a few times an average one), `batch` the
average. With cap = 8 x workers, or a tenth of the trial budget where that is smaller
(never below `workers`), batch <= cap and low <= cap - workers, so a small search keeps
the plain behaviour and still learns from its results.
Every batch size goes into the trial log, so a resume replays the same asks whatever the
timing was.
"""
from __future__ import annotations

import math

__all__ = ["AskPacing"]

_SMOOTHING = 0.3  # weight of the newest measurement in the running averages
_PEAK_DECAY = 0.95  # the slowest recent ask fades by this much per ask
_MARGIN = 1.25  # queue kept at the refill, in trials started during one ask
_CAP = 8  # batch at most this many times `workers`
_BUDGET_SHARE = 0.1  # ... and at most this share of the trial budget


class AskPacing:
    """`low` and `batch` for `workers` concurrent trials of a `trials` budget (`fixed`:
    ask_ahead, or None)."""

    def __init__(self, workers: int, fixed: int | None = None,
                 trials: int | None = None) -> None:
        self.workers, self.fixed = workers, fixed
        budget_cap = math.inf if trials is None else int(_BUDGET_SHARE * trials)
        self.cap = max(workers, min(_CAP * workers, budget_cap))  # most batch; low <= cap - workers
        self.ask_s: float | None = None
        self.ask_peak_s = 0.0  # a recent slow ask (one that refits the model)
        self.trial_s: float | None = None

    def asked(self, seconds: float) -> None:
        """One ask (or batch) took `seconds` of wall time."""
        self.ask_s = _average(self.ask_s, seconds)
        self.ask_peak_s = max(seconds, _PEAK_DECAY * self.ask_peak_s)

    def ran(self, seconds: float) -> None:
        """One trial ran `seconds` on its worker."""
        self.trial_s = _average(self.trial_s, max(seconds, 1e-3))

    @property
    def started_per_ask(self) -> float:
        """Trials the workers start while an average ask runs (0 until measured)."""
        return self._started(self.ask_s)

    def _started(self, ask_s: float | None) -> float:
        if self.fixed is not None or ask_s is None or self.trial_s is None:
            return 0.0
        return self.workers * ask_s / self.trial_s

    @property
    def low(self) -> int:
        """Queued trials left when the driver asks the next batch: enough for a slow
        (refitting) ask, not only an average one."""
        c = self._started(self.ask_peak_s)
        return 0 if c < 0.5 else min(math.ceil(_MARGIN * c), self.cap - self.workers)

    @property
    def batch(self) -> int:
        """Trials asked in one batch."""
        if self.fixed is not None:
            return self.fixed
        return min(max(self.workers, math.ceil(2 * self.started_per_ask)), self.cap)


def _average(old: float | None, new: float) -> float:
    return new if old is None else (1 - _SMOOTHING) * old + _SMOOTHING * new
