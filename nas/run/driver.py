"""The search driver: ask -> run trials as Ray tasks -> durably record -> tell.

Every finished trial is appended (fsync'd) to the trial log before the strategy is told
and before anything else acts on it; the record carries the strategy asks made since the
previous record, so the log alone replays the search (nas.run.resume). Up to `workers` trials
run at once; a genotype already measured is answered from the store and one already in
flight is asked again, so no genotype is evaluated twice. Ctrl-C (or SIGTERM) kills the
running trials, writes a snapshot and leaves a run that `--resume` continues. An
interruption in the middle of asking or of recording + telling (the strategy and the
driver's bookkeeping half updated) writes no snapshot: the previous one plus the log
replay exactly, whereas a snapshot of the half-updated strategy would not.
"""
from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from nas.pareto.constraints import apply_constraints, violations
from nas.pareto.reference import run_reference
from nas.store.results import ResultsView
from nas.store.trial_log import RunStore
from nas.strategies import make_strategy
from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .config import SearchConfig
from .interrupts import raise_if_interrupted
from .metric_names import check_declared, check_first_result, cost_to_measure
from .pacing import AskPacing
from .progress import Progress
from .resume import restore, snapshot
from .runner import Flight, InlineTrials, RayTrials
from .task_inputs import task_base, with_run_checkpoints
from .worker import build_components

__all__ = ["Driver", "SearchSummary"]

SNAPSHOT_EVERY_S = 5.0
SNAPSHOT_MAX_SHARE = 0.05  # snapshots may take at most this share of the driver's time
REASK_LIMIT = 20


@dataclass
class SearchSummary:
    run_dir: str
    trials: int
    failed: int
    seconds: float
    infeasible: int = 0
    cached: int = 0
    workers: int = 1
    pareto: dict[str, Any] = field(default_factory=dict)
    pruned: int = 0  # stopped early by a fidelity ladder: finished, never on the front


class Driver:
    """Runs one search (fresh or resumed) against one run folder.

    Resuming reads and checks the whole run folder in the constructor, before anything
    is written, so a corrupted or mismatched run is refused untouched.
    """

    def __init__(self, config: SearchConfig, store: RunStore | None, progress: Progress,
                 resume: bool = False) -> None:
        self.config, self.store, self.progress = config, store, progress
        spec = config.to_dict()
        self.space, self.evaluator = build_components(spec["space"], spec["evaluator"])
        self.task_base = task_base(spec, self.evaluator)
        self.task_base["cost_metrics"] = cost_to_measure(config)
        check_declared(config, self.evaluator)
        self._undeclared = getattr(self.evaluator, "metric_names", None) is None
        self.evaluator.check(self.space)
        self.strategy = make_strategy(config.strategy.name, self.space, config.objectives,
                                      config.seed, config.strategy.options, config.constraints)
        reference = config.reference if store is None else run_reference(
            store.dir, [o.name for o in config.objectives], config.reference)
        self.view = ResultsView(config.objectives, self.space, reference)
        self.pending: dict[int, Genotype] = {}  # asked, not yet recorded
        self.ready: list[int] = []  # asked ahead, not yet submitted (trial ids, in order)
        self.pacing = AskPacing(1)  # how far to ask ahead; set for the workers by run()
        self.unlogged: list[dict[str, Any]] = []  # asks since the last record
        self.next_id = 0
        self._next_snapshot = time.monotonic() + SNAPSHOT_EVERY_S
        self._resume_note: str | None = None
        self._consistent = True  # False while the strategy and bookkeeping are mid-update
        if resume:
            self._restore(store.trials(repair=False), store.load_state())

    # ----- resume ---------------------------------------------------------------------
    def _restore(self, records: list[dict[str, Any]], state: dict[str, Any] | None) -> None:
        restored = restore(self.strategy, self.space, records, state)
        for record in records:
            self.view.add(record)
        self._remember(records)
        self.pending, self.unlogged = dict(restored.pending), restored.unlogged
        self.next_id = restored.next_id
        self._resume_note = (f"resumed: {len(records)} finished, {len(self.pending)} to "
                             f"rerun, {restored.replayed_asks} asks replayed")
        if restored.diverged:
            self._resume_note += f"; WARNING strategy replay diverged: {restored.diverged}"

    @contextlib.contextmanager
    def _updating(self) -> Iterator[None]:
        """Strategy and bookkeeping change together inside; an exception (Ctrl-C) that
        leaves the block early leaves them out of step, so `_consistent` stays False."""
        self._consistent = False
        yield
        self._consistent = True

    def _snapshot(self) -> None:
        start = time.monotonic()
        self.store.save_state(snapshot(self.strategy, self.view.records, self.unlogged))
        spent = time.monotonic() - start
        self._next_snapshot = time.monotonic() + max(SNAPSHOT_EVERY_S,
                                                     spent / SNAPSHOT_MAX_SHARE)

    def _remember(self, records: list[dict[str, Any]]) -> None:
        """Grow the rung history sent to evaluators that want it (nas.run.rung_scores)."""
        history = self.task_base.get("history")
        if history is not None:
            for record in records:
                history.add(record)

    # ----- asking ---------------------------------------------------------------------
    def _ask(self, k: int) -> None:
        """Prepare k trials (`Strategy.ask_batch`; one `ask` when k is 1); a genotype in
        flight is withdrawn and asked again singly (up to REASK_LIMIT times). The first log
        entry of a batch carries its size, so the replay asks in the same batches."""
        with self._updating():
            in_flight = {g.key for g in self.pending.values()}
            batch = self.strategy.ask_batch(k) if k > 1 else [self.strategy.ask()]
            entries, again = [], 0
            for genotype in batch:
                duplicate = genotype.key in in_flight
                if duplicate:
                    self.strategy.cancel(genotype)  # never evaluated: withdraw it
                    again += 1
                entries.append(self._prepared(genotype, duplicate))
                in_flight.add(genotype.key)
            if k > 1:
                entries[0]["batch"] = k
            self.unlogged.extend(entries)
            for _ in range(again):
                for attempt in range(REASK_LIMIT):
                    genotype = self.strategy.ask()
                    last = attempt == REASK_LIMIT - 1
                    if genotype.key not in in_flight or last:
                        break
                    self.strategy.cancel(genotype)
                    self.unlogged.append(self._prepared(genotype, True))
                self.unlogged.append(self._prepared(genotype, False))
                in_flight.add(genotype.key)

    def _prepared(self, genotype: Genotype, discarded: bool) -> dict[str, Any]:
        """The log entry of one ask; a kept ask gets a trial id and waits in `ready`."""
        tid = None
        if not discarded:
            tid, self.next_id = self.next_id, self.next_id + 1
            self.pending[tid] = genotype
            self.ready.append(tid)
        return {"tid": tid, "key": genotype.key, "genotype": genotype.to_dict()}

    # ----- the loop -------------------------------------------------------------------
    def run(self, workers: int, runner: RayTrials | InlineTrials | None = None) -> SearchSummary:
        """Drive the search to `config.trials` finished trials on the current Ray session
        (or on `runner`, e.g. `InlineTrials` for tests). The summary's seconds are the
        progress clock's, started with the search."""
        self.progress.set_workers(workers)
        # in place: a runner made from task_base before run() sees it too
        self.task_base["evaluator"] = with_run_checkpoints(self.task_base["evaluator"],
                                                           self.evaluator, self.store.dir)
        if self._resume_note is not None:
            self.store.trials(repair=True)  # cut a torn final line before appending
            self.store.log(self._resume_note)
        res = self.config.resources
        runner = runner if runner is not None else RayTrials(
            self.task_base, res.num_cpus, res.num_gpus, self.config.max_retries,
            self.config.trial_timeout_s, self.store.log)
        fixed = self.config.ask_ahead
        if fixed == "auto" and not runner.concurrent:  # nothing runs while it asks
            fixed = workers
        self.pacing = AskPacing(workers, None if fixed == "auto" else fixed,
                                self.config.trials)
        # restored trials rerun first, in trial order, within the trial budget (a resume
        # with a lower --trials leaves the rest asked, for a later resume to run)
        self.ready = sorted(self.pending)[:max(0, self.config.trials - self.view.n_finished)]
        try:
            while True:
                raise_if_interrupted()  # a signal whose exception a GC callback swallowed
                self._fill(runner, workers)
                if not len(runner) and not self.ready:
                    break
                finished = runner.wait()
                self._submit_ready(runner, workers)  # freed workers start the prepared trials
                if finished:
                    self._finish(finished, min(len(runner), workers))
        except UserError:  # an undeclared evaluator's first result lacks a metric
            runner.cancel_all()
            raise
        except KeyboardInterrupt:
            runner.cancel_all()
            self.store.log("interrupted; resume with `nas search --resume "
                           f"{self.store.dir}`")
            raise
        finally:
            self._close(failing=sys.exc_info()[1])
        counts = self.view.counts
        return SearchSummary(str(self.store.dir), self.view.n_finished, self.view.n_failed,
                             self.progress.elapsed(), counts["infeasible"], counts["cached"],
                             workers, self.view.pareto(), counts["pruned"])

    def _close(self, failing: BaseException | None) -> None:
        """Snapshot and flush the derived files, unless interrupted mid-update: then the
        view may hold records that never reached the log, and the last snapshot plus the
        log resume exactly. While an error propagates, a second one (the same full disk)
        is logged, not raised over it; after Ctrl-C/SIGTERM any is (the signal can cut the
        first, lazy pandas import in half), so the search still exits 130."""
        if not self._consistent:
            self.store.log("no snapshot: interrupted mid-update; the last snapshot and "
                           "the trial log resume exactly")
            return
        try:
            self._snapshot()
            self.view.flush(self.store, self.config.name)
        except Exception as exc:  # noqa: BLE001 - raised again unless said above
            second = failing is not None and isinstance(exc, (OSError, UserError))
            if not (second or isinstance(failing, KeyboardInterrupt)):
                raise
            self.store.log(f"derived files not written: {type(exc).__name__}: {exc}")

    def _fill(self, runner: RayTrials, workers: int) -> None:
        """Keep `workers + low + batch` trials asked and unfinished (`pacing`): submit the
        prepared ones (beyond the running ones they queue in Ray, where Ray caps the
        concurrency), and once no more than `low` are left queued, ask the rest in one
        batch, within the trial budget. A worker that finishes starts a queued trial at
        once, the strategy thinks while the workers run, and one model fit serves a
        whole batch."""
        self._submit_ready(runner, workers)
        pacing = self.pacing
        if len(runner) + len(self.ready) > workers + pacing.low:
            return
        want = min(workers + pacing.low + pacing.batch - len(runner) - len(self.ready),
                   self.config.trials - self.view.n_finished - len(self.pending))
        if want > 0:
            start = time.monotonic()
            self._ask(want)
            pacing.asked(time.monotonic() - start)
            self._submit_ready(runner, workers)

    def _submit_ready(self, runner: RayTrials, workers: int) -> None:
        pacing = self.pacing
        capacity = runner.capacity(workers, workers + pacing.low + pacing.batch)
        while self.ready and len(runner) < capacity:
            tid = self.ready.pop(0)
            genotype = self.pending[tid]
            cached = self.view.cached(genotype.key)
            if cached is not None:
                flight = Flight(tid, genotype, 0, time.time(), None)
                self._finish([(flight, {**cached, "cached": True, "attempts": 0})],
                             min(len(runner), workers))
            else:
                runner.submit(tid, genotype)

    def _record(self, flight: Flight, result: dict[str, Any]) -> dict[str, Any]:
        metrics = apply_constraints(self.config.constraints,
                                    Metrics.from_dict(result["metrics"]))
        record = {"trial_id": flight.tid, "key": flight.genotype.key,
                  "genotype": flight.genotype.to_dict(),
                  "arch": self.space.format(flight.genotype), **result,
                  "metrics": metrics.to_dict()}
        amounts = violations(self.config.constraints, metrics)
        if self.config.constraints and amounts is not None:
            record["violations"] = {c.name: v for c, v in zip(self.config.constraints, amounts)}
        return record

    def _check_first(self, finished: list[tuple[Flight, dict[str, Any]]]) -> None:
        """Check the first result of an evaluator without `metric_names` (complete, or
        failed by the worker for lacking an objective: "returned" names what it had)."""
        for _, result in finished:
            metrics = Metrics.from_dict(result["metrics"])
            if metrics.ok or "returned" in result:
                check_first_result(self.config, result.get("returned")
                                   or [*metrics.objectives, *metrics.cost])
                self._undeclared = False
                return

    def _finish(self, finished: list[tuple[Flight, dict[str, Any]]], running: int) -> None:
        """Record a batch durably (one fsync), then tell the strategy, in order."""
        if self._undeclared:
            self._check_first(finished)
        with self._updating():
            records = [self._record(flight, result) for flight, result in finished]
            for i, record in enumerate(records):
                record["asks"] = self.unlogged if i == 0 else []
                self.view.add(record)  # sets record["hypervolume"]
            self.store.append_trials(records)  # durable before anything acts on it
            self.unlogged = []
            self._remember(records)
            for (flight, _), record in zip(finished, records):
                self.strategy.tell(flight.genotype, Metrics.from_dict(record["metrics"]))
                del self.pending[flight.tid]
        for _, result in finished:
            if not result.get("cached") and "started" in result and "finished" in result:
                self.pacing.ran(result["finished"] - result["started"])
        for record in records:
            self.progress.trial(**self.view.progress_fields(record, running))
        if time.monotonic() >= self._next_snapshot:
            self._snapshot()
        self.view.maybe_flush(self.store, self.config.name)
