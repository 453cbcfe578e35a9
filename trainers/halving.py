"""Successive halving over a list of candidates (Jamieson & Talwalkar 2016, AISTATS; one
Hyperband bracket, Li et al. 2018, JMLR), resumable from per-rung checkpoints.

Rung budgets are min_budget * eta^k, capped by max_budget (always the last rung). Every
candidate trains to the first budget; the top floor(n / eta) (at least 1) continue to the
next budget from their own checkpoint instead of restarting. Scores are written to
<checkpoint_dir>/halving.json after every training, so an interrupted run skips what it
finished and the candidate in flight resumes from its last per-rung checkpoint.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from search_spaces.errors import UserError

__all__ = ["successive_halving", "rung_budgets", "HalvingResult", "make_train_fn"]

# train_fn(candidate, budget, checkpoint, resume_from) -> score (higher is better): train
# the candidate to `budget` in total, continuing from `resume_from` when given, and save
# its state to `checkpoint`
TrainFn = Callable[[Any, int, Path, "Path | None"], float]


@dataclass(frozen=True)
class HalvingResult:
    """Per rung: budget, scores by candidate index, and who was promoted."""

    rungs: list[dict[str, Any]]
    best: int
    budget_used: int  # sum over candidates of the largest budget each reached
    full_budget: int  # every candidate trained to max_budget

    @property
    def cost_fraction(self) -> float:
        return self.budget_used / self.full_budget


def rung_budgets(eta: int, min_budget: int, max_budget: int) -> list[int]:
    """min_budget, min_budget*eta, ... below max_budget, then max_budget."""
    if eta < 2 or min_budget < 1 or max_budget < min_budget:
        raise UserError(f"successive halving needs eta >= 2 and 1 <= min_budget <= "
                        f"max_budget, got eta={eta}, {min_budget}..{max_budget}")
    budgets, b = [], min_budget
    while b < max_budget:
        budgets.append(b)
        b *= eta
    return budgets + [max_budget]


def _load_state(path: Path, identity: dict[str, Any]) -> dict[str, dict[str, float]]:
    if not path.exists():
        return {}
    state = json.loads(path.read_text())
    if state.get("identity") != identity:
        raise UserError(f"{path} belongs to a different successive-halving run (other "
                        "candidates or budgets); use another checkpoint_dir")
    return state["scores"]


def _save_state(path: Path, identity: dict[str, Any], scores: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"identity": identity, "scores": scores}))
    os.replace(tmp, path)


def successive_halving(candidates: Sequence[Any], train_fn: TrainFn, eta: int = 3,
                       min_budget: int = 1, max_budget: int = 9,
                       checkpoint_dir: str | Path | None = None) -> HalvingResult:
    """Run successive halving; `candidates` must have stable reprs (genotypes do)."""
    if not candidates:
        raise UserError("successive halving needs at least one candidate")
    budgets = rung_budgets(eta, min_budget, max_budget)
    with tempfile.TemporaryDirectory(prefix="nas-halving-") as tmp:
        folder = Path(checkpoint_dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        identity = {"eta": eta, "budgets": budgets, "candidates": [repr(c) for c in candidates]}
        state_path = folder / "halving.json"
        scores = _load_state(state_path, identity)
        alive, rungs, reached = list(range(len(candidates))), [], {}
        for k, budget in enumerate(budgets):
            done = scores.setdefault(str(budget), {})
            for i in alive:
                if str(i) not in done:
                    previous = folder / f"cand{i}@{budgets[k - 1]}.pt" if k else None
                    done[str(i)] = float(train_fn(candidates[i], budget,
                                                  folder / f"cand{i}@{budget}.pt", previous))
                    _save_state(state_path, identity, scores)
                reached[i] = budget
            ranked = sorted(alive, key=lambda i: (-done[str(i)], i))
            promoted = ranked[:max(1, len(alive) // eta)] if k < len(budgets) - 1 else []
            rungs.append({"budget": budget, "scores": {i: done[str(i)] for i in alive},
                          "promoted": promoted})
            best, alive = ranked[0], promoted
    return HalvingResult(rungs, best, sum(reached.values()), len(candidates) * max_budget)


def make_train_fn(space, data, config, max_budget: int) -> TrainFn:
    """A train_fn for genotypes of `space`: short training (trainers.train) whose cosine
    schedule spans `max_budget` epochs, so continuing equals training straight; score =
    validation accuracy (%)."""
    import dataclasses

    import torch

    from .train import train_and_evaluate

    def train_fn(genotype, budget: int, checkpoint: Path, resume_from: Path | None) -> float:
        torch.manual_seed(config.seed)
        model = space.build(genotype)
        run = dataclasses.replace(config, epochs=budget, steps=0, schedule=max_budget)
        return 100.0 * train_and_evaluate(model, data, run, checkpoint,
                                          resume_from).val_accuracy

    return train_fn
