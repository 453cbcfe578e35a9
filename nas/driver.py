"""The search driver: ask -> run trials as Ray tasks -> durably record -> tell.

Every finished trial is appended (fsync'd) to the store before the strategy is told and
before the next ask; strategy state and pending trials are saved after every step, so a
killed search resumes without losing or repeating finished trials.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .config import SearchConfig
from .progress import Progress
from .results import ResultsView
from .store import RunStore
from .strategies import make_strategy
from .worker import build_components, evaluate_trial

__all__ = ["Driver", "SearchSummary"]


@dataclass
class SearchSummary:
    run_dir: str
    trials: int
    failed: int
    seconds: float
    pareto: dict[str, Any] = field(default_factory=dict)


class Driver:
    """Runs one search (fresh or resumed) against one run folder."""

    def __init__(self, config: SearchConfig, store: RunStore, progress: Progress) -> None:
        self.config, self.store, self.progress = config, store, progress
        spec = config.to_dict()
        self.task_base = {"space": spec["space"], "evaluator": spec["evaluator"], "threads": 1}
        self.space, evaluator = build_components(spec["space"], spec["evaluator"])
        evaluator.check(self.space)
        self.strategy = make_strategy(config.strategy.name, self.space, config.objectives,
                                      config.seed, config.strategy.options)
        self.view = ResultsView(config.objectives, self.space)
        self.pending: dict[int, Genotype] = {}
        self.next_id = 0

    # ----- state ----------------------------------------------------------------------
    def _save_state(self) -> None:
        self.store.save_state({
            "strategy": self.strategy.state_dict(), "next_id": self.next_id,
            "pending": {str(i): g.to_dict() for i, g in self.pending.items()}})

    def _restore(self) -> list[tuple[int, Genotype]]:
        """Load state and the log; tell unacked finished trials; return trials to rerun."""
        records = self.store.trials(repair=True)
        for record in records:
            self.view.add(record)
        state = self.store.load_state()
        if state is None:
            return []
        self.strategy.load_state_dict(state["strategy"])
        self.next_id = int(state["next_id"])
        finished = {r["trial_id"]: r for r in records}
        rerun = []
        for tid, geno in sorted(state["pending"].items(), key=lambda kv: int(kv[0])):
            genotype = self.space.validate(Genotype.from_dict(geno))
            if int(tid) in finished:  # recorded, but the crash came before the tell
                self.strategy.tell(genotype, Metrics.from_dict(finished[int(tid)]["metrics"]))
            else:
                self.pending[int(tid)] = genotype
                rerun.append((int(tid), genotype))
        self.store.log(f"resumed: {len(records)} finished, {len(rerun)} to rerun")
        return rerun

    # ----- asking -------------------------------------------------------------------------
    def _ask(self) -> tuple[int, Genotype, dict | None]:
        """Next trial; a genotype already finished is answered from the store, one
        in flight is asked again (up to 20 times) rather than evaluated twice."""
        in_flight = {g.key for g in self.pending.values()}
        for _ in range(20):
            genotype = self.strategy.ask()
            if genotype.key not in in_flight:
                break
        tid, self.next_id = self.next_id, self.next_id + 1
        self.pending[tid] = genotype
        return tid, genotype, self.view.cached(genotype.key)

    # ----- the loop -----------------------------------------------------------------------
    def run(self, resume: bool = False) -> SearchSummary:
        import ray

        start = time.monotonic()
        remote = ray.remote(evaluate_trial).options(num_cpus=1,
                                                    max_retries=self.config.max_retries)
        rerun = self._restore() if resume else []
        in_flight: dict[Any, tuple[int, Genotype, float]] = {}

        def submit(tid: int, genotype: Genotype) -> None:
            task = {**self.task_base, "genotype": genotype.to_dict(), "trial_id": tid}
            in_flight[remote.remote(task)] = (tid, genotype, time.time())

        for tid, genotype in rerun:
            submit(tid, genotype)
        try:
            while True:
                self._fill(submit, in_flight)
                if not in_flight:
                    break
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    tid, genotype, started = in_flight.pop(ref)
                    self._finish(tid, genotype, self._result(ref, started), len(in_flight))
        except KeyboardInterrupt:
            self._save_state()
            self.store.log("interrupted; resume with `nas search --resume`")
            raise
        finally:
            self.view.flush(self.store, self.config.name)
        return SearchSummary(str(self.store.dir), self.view.n_finished, self.view.n_failed,
                             time.monotonic() - start, self.view.pareto())

    def _fill(self, submit, in_flight: dict) -> None:
        """Ask and submit until `workers` trials run or the trial budget is spent."""
        while (len(in_flight) < self.config.workers
               and self.view.n_finished + len(self.pending) < self.config.trials):
            tid, genotype, cached = self._ask()
            if cached is not None:
                self._save_state()
                self._finish(tid, genotype, {**cached, "cached": True}, len(in_flight))
                continue
            self._save_state()
            submit(tid, genotype)

    def _result(self, ref, started: float) -> dict[str, Any]:
        import ray

        try:
            return ray.get(ref)
        except ray.exceptions.RayError as exc:  # worker lost after all retries
            reason = f"worker failed after {self.config.max_retries} retries: " \
                     f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            return {"metrics": Metrics.failed(reason).to_dict(), "worker": {},
                    "started": started, "finished": time.time()}

    def _finish(self, tid: int, genotype: Genotype, result: dict, running: int) -> None:
        record = {"trial_id": tid, "key": genotype.key, "genotype": genotype.to_dict(),
                  "arch": self.space.format(genotype), **result}
        self.store.append_trial(record)  # durable before anything acts on it
        self.strategy.tell(genotype, Metrics.from_dict(record["metrics"]))
        del self.pending[tid]
        self._save_state()
        self.view.add(record)
        self.view.maybe_flush(self.store, self.config.name)
        self.progress.trial(*self.view.progress_fields(record, running))
