"""Server-side analysis for the dashboard: fronts, hypervolume and best over time, rank
correlation of fidelity rungs. Everything works on the `TrialTable` columns with numpy.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from nas.pareto.constraints import Constraint
from nas.pareto.fronts import hypervolume_history, pareto_mask, to_minimisation
from nas.pareto.reference import derive_reference

from .data import RUNG_PREFIX, TrialTable, compact

__all__ = ["front_rows", "history", "rung_correlations", "spearman", "default_direction",
           "feasible_mask"]

MAX_HISTORY_POINTS = 2000


def default_direction(table: TrialTable, name: str, configured: dict[str, str]) -> str:
    """Configured direction; else cost metrics are minimised and the rest maximised."""
    if name in configured:
        return configured[name]
    return "minimize" if table.kinds.get(name) == "cost" else "maximize"


def feasible_mask(table: TrialTable, constraints: Sequence[Constraint] = ()) -> np.ndarray:
    """Complete rows that meet every constraint (NaN meets none), as `runinfo` filters."""
    ok = table.complete_mask()
    for c in constraints:
        ok &= c.ok(table.column(c.name))
    return ok


def _matrix(table: TrialTable, names: Sequence[str],
            constraints: Sequence[Constraint]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, values): feasible rows whose values for `names` are all finite."""
    values = np.column_stack([table.column(n) for n in names]) if names else np.zeros((0, 0))
    ok = feasible_mask(table, constraints) & np.all(np.isfinite(values), axis=1)
    rows = np.flatnonzero(ok)
    return rows, values[rows]


def front_rows(table: TrialTable, names: Sequence[str], directions: Sequence[str],
               constraints: Sequence[Constraint] = ()) -> dict:
    """Row indices on the feasible Pareto front of `names` (Deb et al. 2002 rank 0), and
    the count of candidate rows (complete, feasible, finite)."""
    rows, values = _matrix(table, names, constraints)
    if not len(rows):
        return {"rows": [], "candidates": 0}
    mask = pareto_mask(to_minimisation(values, directions))
    return {"rows": rows[mask].tolist(), "candidates": int(len(rows))}


def _change_points(values: np.ndarray) -> np.ndarray:
    """Indices where a step series changes (plus the last), capped for the payload."""
    if not len(values):
        return np.zeros(0, dtype=int)
    keep = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    keep = np.union1d(keep, [len(values) - 1])
    if len(keep) > MAX_HISTORY_POINTS:  # thin evenly, keep the endpoints
        keep = keep[np.linspace(0, len(keep) - 1, MAX_HISTORY_POINTS).astype(int)]
    return keep


def _series(t: np.ndarray, v: np.ndarray) -> dict[str, list]:
    keep = _change_points(v)
    return {"t": [compact(round(x, 2)) for x in t[keep]], "v": [compact(x) for x in v[keep]]}


def history(table: TrialTable, names: Sequence[str], directions: Sequence[str],
            constraints: Sequence[Constraint] = (),
            reference: Sequence[float] | None = None) -> dict:
    """Hypervolume and best value per objective after each finished trial, in finish order.

    Failed or infeasible trials and non-finite values leave the curves flat. `reference`
    is the run's (`nas.pareto.reference`); None derives it by the same rule from the rows in log
    order, so the hypervolume is the one `nas status` and pareto.json report ("hv").
    """
    values = np.column_stack([table.column(n) for n in names])
    values[~feasible_mask(table, constraints)] = np.nan
    if reference is None:
        reference = derive_reference(values[np.all(np.isfinite(values), axis=1)], directions)
    t = np.asarray(table.finished, dtype=float)
    order = np.argsort(t, kind="stable")
    values, t = values[order], t[order]
    finite = np.all(np.isfinite(values), axis=1)
    result: dict[str, Any] = {"objectives": list(names), "directions": list(directions),
                              "best": {}, "hypervolume": None, "reference": None, "hv": None}
    for j, (name, direction) in enumerate(zip(names, directions)):
        col = np.where(np.isfinite(values[:, j]), values[:, j],
                       -np.inf if direction == "maximize" else np.inf)
        best = (np.maximum if direction == "maximize" else np.minimum).accumulate(col)
        best = np.where(np.isfinite(best), best, np.nan)
        result["best"][name] = _series(t, best)
    if finite.any():
        hv = hypervolume_history(values, directions, reference)
        result["reference"], result["hv"] = list(reference), float(hv[-1])
        result["hypervolume"] = _series(t, hv)
    return result


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (as scipy.stats.rankdata 'average')."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=float)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman rank correlation of finite pairs (Spearman 1904); None below 3 pairs."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return None
    rx, ry = _ranks(x[ok]), _ranks(y[ok])
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def rung_correlations(table: TrialTable, target: str | None) -> list[dict[str, Any]]:
    """Spearman correlation of each fidelity rung's score with the final `target` score."""
    if target is None:
        return []
    truth = np.where(table.complete_mask(), table.column(target), np.nan)
    result = []
    for name in sorted(k for k in table.metrics if k.startswith(RUNG_PREFIX)):
        rung = table.column(name)
        rho = spearman(rung, truth)
        result.append({"rung": name[len(RUNG_PREFIX):], "metric": name, "target": target,
                       "spearman": None if rho is None else round(rho, 4),
                       "n": int((np.isfinite(rung) & np.isfinite(truth)).sum())})
    return result
