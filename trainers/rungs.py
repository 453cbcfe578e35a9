"""Rungs of a fidelity ladder, parsed from config, and rank agreement between rungs.

A ladder is a list of rung mappings, validated once (boundaries validate):
  {kind: cost, max_params: 1e6, max_macs: 2e8, max_latency_ms: 5}
  {kind: proxy, name: synflow, keep: 0.5}
  {kind: train, epochs: 1, keep: 1.0}
  {kind: halving, eta: 3, max_epochs: 9}
  {kind: evaluator, name: tabular, options: {dataset: cifar10}}
  {kind: evaluator, name: "my_module:evaluate", budget: 9, eta: 3}   (your own function)
Each score a rung records goes in `Metrics.rungs` under a label "<rung number>.<what>",
with "@<epochs>ep" for training budgets, e.g. "2.synflow", "3.train@1ep", "4.halving@9ep".
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Mapping

from search_spaces.errors import UserError, unknown_choice

__all__ = ["CostRung", "ProxyRung", "TrainRung", "HalvingRung", "EvaluatorRung", "parse_ladder",
           "label_order", "rank_agreement", "RUNG_KINDS"]

INF = math.inf


@dataclass(frozen=True)
class CostRung:
    """Constraints on the built network; a violation makes the trial infeasible."""

    max_params: float = INF
    max_macs: float = INF
    max_latency_ms: float = INF
    latency_batch: int = 1


@dataclass(frozen=True)
class ProxyRung:
    """A zero-cost proxy; keeps a candidate whose score is at least the (1 - keep)
    quantile of the calibration scores (see trainers.fidelity)."""

    name: str = ""
    keep: float = 0.5
    batch_size: int = 64


@dataclass(frozen=True)
class TrainRung:
    """Short training to `epochs` (continuing earlier rungs); keep < 1 prunes by rank."""

    epochs: int = 1
    keep: float = 1.0


@dataclass(frozen=True)
class HalvingRung:
    """Asynchronous successive halving (Li et al. 2020, ASHA) for one candidate: budgets
    min_epochs * eta^k up to max_epochs; continue while in the top 1/eta of that budget."""

    eta: int = 3
    max_epochs: int = 9
    min_epochs: int = 0  # 0: the previous train rung's epochs, or 1

    def budgets(self, previous: int) -> list[int]:
        """Training budgets (epochs) above `previous`, the budget earlier rungs reached."""
        budget, out = self.min_epochs or max(1, previous), []
        while budget < self.max_epochs:
            if budget > previous:
                out.append(budget)
            budget *= self.eta
        return out + [self.max_epochs]


@dataclass(frozen=True)
class EvaluatorRung:
    """A registered evaluator as the last rung (e.g. `tabular` on NB201), or the user's
    own function, which is asked for `budget` (0: none) and, with eta >= 2, stopped by
    successive halving (ASHA, Li et al. 2020) on the values it reports at the budgets
    min_budget * eta^k below `budget`: it continues while in the top 1/eta there."""

    name: str = ""
    options: dict = field(default_factory=dict)
    budget: int = 0
    eta: int = 0
    min_budget: int = 1

    def halving_steps(self) -> list[int]:
        """The reported steps where successive halving decides (none without eta)."""
        if not self.eta:
            return []
        steps, step = [], self.min_budget
        while step < self.budget:
            steps.append(step)
            step *= self.eta
        return steps


RUNG_KINDS = {"cost": CostRung, "proxy": ProxyRung, "train": TrainRung,
              "halving": HalvingRung, "evaluator": EvaluatorRung}


def _typed(where: str, cls: type, spec: Mapping[str, Any]):
    defaults = {f.name: f.default for f in fields(cls)}
    values = {}
    for key, value in spec.items():
        if key not in defaults:
            raise unknown_choice(f"key of {where}", key, ["kind", *defaults])
        kind = dict if key == "options" else type(defaults[key])
        if kind is float and not isinstance(value, bool):
            try:  # YAML reads 1e6 as a string
                value = float(value) if isinstance(value, (int, str)) else value
            except ValueError:
                pass
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserError(f"{where}: {key!r} must be {kind.__name__}, got {value!r}")
        values[key] = value
    return cls(**values)


def _check(where: str, rung: Any, budget: int) -> int:
    """Per-kind value checks; returns the training budget reached after this rung."""
    if isinstance(rung, ProxyRung):
        from .proxies import get_proxy

        get_proxy(rung.name)  # unknown names list close ones
        if not 0 < rung.keep <= 1 or rung.batch_size < 1:
            raise UserError(f"{where}: keep must be in (0, 1] and batch_size >= 1")
    elif isinstance(rung, TrainRung):
        if rung.epochs <= budget or not 0 < rung.keep <= 1:
            raise UserError(f"{where}: epochs must exceed the previous training budget "
                            f"({budget}) and keep must be in (0, 1]")
        return rung.epochs
    elif isinstance(rung, HalvingRung):
        if rung.eta < 2 or rung.max_epochs <= max(budget, rung.min_epochs):
            raise UserError(f"{where}: needs eta >= 2 and max_epochs above min_epochs and "
                            f"the previous training budget ({budget})")
        return rung.max_epochs
    elif isinstance(rung, EvaluatorRung):
        if rung.name in ("", "ladder"):
            raise UserError(f"{where}: name a registered evaluator other than 'ladder'")
        if rung.budget < 0 or (rung.eta and (rung.eta < 2 or rung.budget <= rung.min_budget
                                             or rung.min_budget < 1)):
            raise UserError(f"{where}: budget must be >= 0; halving needs eta >= 2 and "
                            f"budget above min_budget >= 1 (got budget {rung.budget}, eta "
                            f"{rung.eta}, min_budget {rung.min_budget})")
    return budget


def parse_ladder(specs: Any) -> list:
    """Validate a list of rung mappings into rung dataclasses (UserError names the rung)."""
    if not isinstance(specs, list) or not specs:
        raise UserError("ladder 'rungs' must be a non-empty list of {kind: ..., ...} "
                        f"mappings, kinds: {', '.join(RUNG_KINDS)}")
    rungs, budget = [], 0
    for number, spec in enumerate(specs, start=1):
        where = f"ladder rung {number}"
        if not isinstance(spec, Mapping) or "kind" not in spec:
            raise UserError(f"{where} must be a mapping with a 'kind' ({', '.join(RUNG_KINDS)})")
        if spec["kind"] not in RUNG_KINDS:
            raise unknown_choice(f"kind of {where}", spec["kind"], RUNG_KINDS)
        rung = _typed(where, RUNG_KINDS[spec["kind"]], {k: v for k, v in spec.items()
                                                        if k != "kind"})
        if isinstance(rung, EvaluatorRung) and number != len(specs):
            raise UserError(f"{where}: an evaluator rung must be the last rung")
        budget = _check(where, rung, budget)
        rungs.append(rung)
    return rungs


_LABEL = re.compile(r"^(\d+)\.([^@]*)(?:@(\d+)ep)?$")


def label_order(label: str) -> tuple[int, int, str]:
    """Sort key of a rung label: (rung number, budget, name)."""
    match = _LABEL.match(label)
    if not match:
        return (10**9, 0, label)
    return (int(match[1]), int(match[3] or 0), match[2])


def _rungs_of(record: Any) -> Mapping[str, float]:
    """Rung scores of a Metrics, a Metrics dict, or a run's trial record."""
    if hasattr(record, "rungs"):
        return record.rungs
    if "metrics" in record:
        record = record["metrics"]
    return record.get("rungs") or {}


def rank_agreement(records: Iterable[Any]) -> dict[str, Any]:
    """Spearman rho and Kendall tau between consecutive rungs, over the candidates that
    reached both (so later pairs see a pruned, narrower population).

    `records`: Metrics objects, their dicts, or the trial records of a run
    (`RunStore(run_dir).trials()`, which keep Metrics.rungs).
    """
    from scipy.stats import kendalltau, spearmanr

    rows = [_rungs_of(r) for r in records]
    labels = sorted({label for row in rows for label in row}, key=label_order)
    pairs = []
    for a, b in zip(labels, labels[1:]):
        both = [(row[a], row[b]) for row in rows if a in row and b in row
                and math.isfinite(row[a]) and math.isfinite(row[b])]
        rho = tau = None
        if len(both) >= 3 and len({p[0] for p in both}) > 1 and len({p[1] for p in both}) > 1:
            xs, ys = zip(*both)
            rho, tau = float(spearmanr(xs, ys).statistic), float(kendalltau(xs, ys).statistic)
        pairs.append({"from": a, "to": b, "n": len(both), "spearman": rho, "kendall": tau})
    return {"rungs": labels, "pairs": pairs}
