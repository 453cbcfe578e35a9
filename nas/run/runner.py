"""Trials in flight as Ray tasks: submit, wait, retry lost workers, enforce timeouts.

Ray's own task retries are off (`max_retries=0`) so that the driver sees every loss: a
trial whose worker process or node dies is submitted again up to `max_retries` times and
then failed with the reason; an error raised by the evaluator itself is not retried (it
would fail again). A trial still running `timeout_s` after its clock started is killed
with `ray.cancel(force=True)` and failed. The clock starts at submission while the
cluster's CPUs/GPUs hold every trial in flight; beyond that the later submissions queue
in Ray, and their clocks start as earlier trials leave (in submission order). Time spent
queued behind other jobs' tasks is not seen, so it counts. Tasks reuse Ray's worker
processes (no process or actor per trial), so a trivial trial costs about a millisecond
of Ray time.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .failures import strip_ansi, task_error_failure
from .ray_runtime import cluster_slots
from .worker import TRACEBACK_CHARS, evaluate_trial

__all__ = ["Flight", "RayTrials", "InlineTrials", "failed_result"]

POLL_S = 0.5  # wake up at least this often (Ctrl-C, deadlines)


@dataclass
class Flight:
    """One submitted attempt of a trial."""

    tid: int
    genotype: Genotype
    attempt: int
    submitted: float
    deadline: float | None  # None: no timeout, or its clock has not started (queued)


def failed_result(reason: str, started: float, attempts: int,
                  trace: str | None = None) -> dict[str, Any]:
    """A failure the driver records for a trial (with the worker's traceback, if any)."""
    result = {"metrics": Metrics.failed(reason).to_dict(), "worker": {}, "started": started,
              "finished": time.time(), "attempts": attempts}
    if trace:
        result["traceback"] = trace
    return result


class RayTrials:
    """The trials currently running; `wait` hands back finished (flight, result) pairs."""

    concurrent = True  # trials run beside the driver (so asking ahead pays)

    def __init__(self, task_base: dict[str, Any], num_cpus: float, num_gpus: float,
                 max_retries: int, timeout_s: float | None,
                 log: Callable[[str], None] = lambda message: None) -> None:
        import ray

        self.task_base, self.max_retries, self.timeout_s, self.log = (
            task_base, max_retries, timeout_s, log)
        self._remote = ray.remote(evaluate_trial).options(
            num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0, retry_exceptions=False)
        self.flights: dict[Any, Flight] = {}  # in submission order
        self.size = (num_cpus, num_gpus)
        self.slots = cluster_slots(*self.size)  # trials the cluster runs at once

    def __len__(self) -> int:
        return len(self.flights)

    def capacity(self, workers: int, depth: int) -> int:
        """Trials to keep submitted: `depth` (the extra ones queue in Ray) when the
        cluster runs at most `workers` at once anyway, else `workers`."""
        return depth if self.slots <= workers else workers

    def submit(self, tid: int, genotype: Genotype, attempt: int = 0) -> None:
        task = {**self.task_base, "genotype": genotype.to_dict(), "trial_id": tid}
        self.flights[self._remote.remote(task)] = Flight(tid, genotype, attempt, time.time(),
                                                         None)
        self._start_clocks()

    def _start_clocks(self) -> None:
        """Start the timeout of each trial among the oldest `slots` in flight (those the
        cluster runs now) whose clock has not started. Slots are recounted while trials
        queue, as a cluster may grow."""
        if not self.timeout_s:
            return
        if len(self.flights) > self.slots:
            self.slots = cluster_slots(*self.size)
        now = time.time()
        for i, flight in enumerate(self.flights.values()):
            if i >= self.slots:
                break
            if flight.deadline is None:
                flight.deadline = now + self.timeout_s

    def wait(self, poll_s: float = POLL_S) -> list[tuple[Flight, dict[str, Any]]]:
        """Block until some trials finish or time out (or `poll_s` passes: then [])."""
        import ray

        if not self.flights:
            return []
        deadlines = [f.deadline for f in self.flights.values() if f.deadline is not None]
        timeout = min([poll_s, *(d - time.time() for d in deadlines)])
        refs = list(self.flights)
        ready, _ = ray.wait(refs, num_returns=1, timeout=max(timeout, 0.0))
        if ready and len(refs) > 1:  # collect everything else already done: one fsync
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        finished = []
        for ref in ready:
            flight = self.flights.pop(ref)
            result = self._result(ref, flight)
            if result is not None:
                finished.append((flight, result))
        expired = self._expire()
        self._start_clocks()  # trials that left made room for queued ones
        return finished + expired

    def _result(self, ref, flight: Flight) -> dict[str, Any] | None:
        """The trial's result, a failure, or None when it was resubmitted."""
        import ray

        attempts = flight.attempt + 1
        try:
            return {**ray.get(ref), "attempts": attempts}
        except ray.exceptions.TaskCancelledError:
            return failed_result("cancelled", flight.submitted, attempts)
        except ray.exceptions.RayTaskError as exc:  # the task itself raised: not a loss
            failure = task_error_failure(exc)
            return failed_result(failure["reason"], flight.submitted, attempts,
                                 failure["traceback"][-TRACEBACK_CHARS:])
        except ray.exceptions.RayError as exc:  # worker process or node died
            reason = f"{type(exc).__name__}: {_first_line(exc)}"
            if flight.attempt < self.max_retries:
                self.log(f"trial {flight.tid}: worker lost ({reason}); retry "
                         f"{attempts}/{self.max_retries}")
                self.submit(flight.tid, flight.genotype, attempts)
                return None
            return failed_result(f"worker lost on all {attempts} attempt(s); last: {reason}",
                                 flight.submitted, attempts)

    def _expire(self) -> list[tuple[Flight, dict[str, Any]]]:
        """Kill and fail the trials past their deadline."""
        import ray

        now, expired = time.time(), []
        for ref, flight in list(self.flights.items()):
            if flight.deadline is not None and now >= flight.deadline:
                ray.cancel(ref, force=True)
                del self.flights[ref]
                self.log(f"trial {flight.tid}: timed out after {self.timeout_s:g}s; killed")
                expired.append((flight, failed_result(
                    f"timed out after {self.timeout_s:g}s (trial_timeout_s)", flight.submitted,
                    flight.attempt + 1)))
        return expired

    def cancel_all(self) -> None:
        """Kill every running trial (they stay pending in the log and rerun on resume).
        Trials that already finished are left alone: cancelling a task whose reply is
        arriving can abort the driver inside Ray ("Tried to complete task that was not
        pending", ray-project/ray#54846); a finished one is simply rerun on resume."""
        import ray

        refs = list(self.flights)
        _, running = ray.wait(refs, num_returns=len(refs), timeout=0) if refs else ([], [])
        for ref in running:
            ray.cancel(ref, force=True)
        self.flights.clear()


class InlineTrials:
    """Trials evaluated in the driver's own process, first in first out, one per `wait`
    (no Ray): for tests and debugging. Same interface as `RayTrials`."""

    concurrent = False

    def __init__(self, task_base: dict[str, Any]) -> None:
        self.task_base = task_base
        self.queue: list[Flight] = []

    def __len__(self) -> int:
        return len(self.queue)

    def capacity(self, workers: int, depth: int) -> int:
        """Inline trials run one at a time in `wait`: `workers`, never a queue."""
        return workers

    def submit(self, tid: int, genotype: Genotype, attempt: int = 0) -> None:
        self.queue.append(Flight(tid, genotype, attempt, time.time(), None))

    def wait(self, poll_s: float = POLL_S) -> list[tuple[Flight, dict[str, Any]]]:
        if not self.queue:
            return []
        flight = self.queue.pop(0)
        task = {**self.task_base, "genotype": flight.genotype.to_dict(), "trial_id": flight.tid}
        return [(flight, {**evaluate_trial(task), "attempts": 1})]

    def cancel_all(self) -> None:
        self.queue.clear()


def _first_line(exc: BaseException) -> str:
    text = strip_ansi(str(exc)).strip().splitlines()
    return text[0] if text else type(exc).__name__
