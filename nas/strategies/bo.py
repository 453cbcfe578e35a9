"""Our default strategy: Bayesian optimisation with a rank-Gaussianised ARD GP on one-hot
genotypes, expected improvement over a local + global candidate pool, never re-asking.

- Surrogate: `gp.GaussianProcess` on `Space.encode`-style one-hot rows; targets are
  normal scores of the ranks (Salinas et al. 2020), robust to broken candidates.
- Acquisition: EI (Jones et al. 1998) times the probability of meeting every hard
  constraint, each modelled by its own GP (Gardner et al. 2014; Gelbart et al. 2014);
  with no feasible trial yet, the probability of feasibility alone.
- Candidates: neighbours and two-step mutations of the best `top` genotypes plus
  `random` uniform ones (BANANAS-style, White et al. 2021), pruned of dead ops
  (`Space.prune`) and kept one per function (`Space.function_key`), minus every function
  told or in flight, so no network is trained twice. On NB201 (15,625 cells, 4,930
  functions) this alone lifts the multi-objective ratio below from 0.963 to 0.971: the
  unpruned search re-trained an already-seen function in 7-35 of its 100 queries.
- Several objectives (`mo_acquisition`): "parego" (Knowles 2006, IEEE TEVC 10(1)): each
  ask scalarises the rank-normalised objectives with an augmented Chebyshev function of
  random weights; or "ehvi": one GP per objective and exact expected hypervolume
  improvement (Emmerich et al. 2006; Yang et al. 2019) in the normal-score space
  (`mobo`), the pool grown from every member of the feasible front. NB201 CIFAR-10
  (accuracy, cost) hypervolume ratio at 100 queries, seeds 0-19 / 20-39: parego 0.971 /
  0.978, ehvi 0.974 / 0.976 (std 0.018 per run; ehvi costs ~1.3x the time per ask), so
  parego stays the default. EHVI in raw objective units (a warped GP) scored 0.89: with a
  reference point taken from the data it chases the cheap, inaccurate end of the front.
  The other variants tried are in benchmarks/nb201_mo_results.md.
- Batches: in-flight genotypes enter the GP with their posterior mean ("kriging
  believer", Ginsbourger et al. 2010), so parallel asks spread out.
Randomness comes from (seed, n_asked) and warm-started hyperparameters are part of the
state, so a restored or replayed strategy asks exactly the same genotypes.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from nas.pareto.fronts import non_dominated_sort, pareto_mask
from search_spaces.errors import UserError, unknown_choice
from search_spaces.genotype import Genotype

from .base import STRATEGIES
from .candidates import Encoder, candidate_pool
from .evolution import unseen_sample
from .gp import GaussianProcess, expected_improvement, normal_scores, prob_between
from .mobo import box_decomposition, expected_hvi, model_reference
from .observations import HistoryStrategy
from .told_arrays import ToldArrays

__all__ = ["BayesOpt"]

_CHEBYSHEV_RHO = 0.05  # ParEGO's augmentation weight (Knowles 2006, Eq. 2)
MO_ACQUISITIONS = ("parego", "ehvi")
SURROGATES = ("subset", "exact")


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, found once (a few ms per lookup)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: results stay correct, only speed/reproducibility suffer
        return None
    return ThreadpoolController()


def _threadpool_limits():
    """One BLAS thread: faster for these sizes on shared cores, and bit-reproducible."""
    controller = _blas_controller()
    return controller.limit(limits=1) if controller is not None else contextlib.nullcontext()


@STRATEGIES.register("bo")
class BayesOpt(HistoryStrategy):
    """GP + EI over neighbours, mutations and random genotypes (see module docstring)."""

    name = "bo"
    defaults = {"n_init": 10, "top": 10, "mutations": 50, "random": 2000, "maxiter": 50,
                "refit_below": 100, "refit_every": 5, "mo_acquisition": "parego",
                "surrogate": "subset", "max_points": 256, "refit_growth": 0.02}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_positive("n_init", "random", "refit_every", "max_points")
        if self.options["surrogate"] not in SURROGATES:
            raise unknown_choice("bo option 'surrogate'", self.options["surrogate"], SURROGATES)
        if self.options["mo_acquisition"] not in MO_ACQUISITIONS:
            raise unknown_choice("bo option 'mo_acquisition'", self.options["mo_acquisition"],
                                 MO_ACQUISITIONS)
        self.encoder = Encoder(self.space)
        self.thetas: dict[str, list[float]] = {}
        self.fitted_at: dict[str, int] = {}  # n_asked at each GP's last hyperparameter fit
        self.told = ToldArrays(self.encoder, len(self.objectives), len(self.constraints))

    # ----- ask / tell ---------------------------------------------------------------
    def ask(self) -> Genotype:
        rng = self.rng()
        self.n_asked += 1
        with _threadpool_limits():
            genotype = self._propose(rng)
        return self.history.asked(genotype)

    def _propose(self, rng: np.random.Generator) -> Genotype:
        history, opts = self.history, self.options
        told = self.told.update(history.observations)
        measured = np.flatnonzero(~told.failed)
        started = len(history.observations) + len(history.pending)
        if started < opts["n_init"] or len(measured) < 2:
            return unseen_sample(self, history, rng, 100)
        rows = told.rows[measured]
        targets = self._targets(told.values[measured], rng)
        violation = told.total_violation[measured]
        feasible = violation <= 0
        ranking = self._ranking(targets, feasible, violation)
        top = rows[self._parents(ranking)]
        pending = self.encoder.rows(history.pending)
        exclude = np.concatenate([told.keys, self.encoder.keys(pending)])
        pool = candidate_pool(self.encoder, top, rng, opts["mutations"], opts["random"],
                              exclude)
        pool = self.encoder.distinct_functions(pool, history.seen)
        if not len(pool):  # everything nearby and every random draw was seen
            return unseen_sample(self, history, rng, 100)
        fit = self._fit_subset(ranking)
        model = _ModelData(self.encoder.onehot(rows[fit]), targets[fit], feasible[fit],
                           told.violations[measured][fit], len(measured),
                           self.encoder.onehot(pending))
        score = self._acquisition(model, targets, feasible, self.encoder.onehot(pool))
        for i in np.argsort(-score, kind="stable")[:100]:
            try:  # a space may forbid some combinations of choices
                return self.encoder.genotype(pool[i])
            except UserError:
                continue
        return unseen_sample(self, history, rng, 100)

    # ----- model ----------------------------------------------------------------------
    def _targets(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Higher-is-better normal scores (n, 1) of the objective values (n, m) or of a
        random augmented-Chebyshev scalarisation (ParEGO); for EHVI, (n, m)."""
        signs = np.array([1.0 if o.direction == "maximize" else -1.0 for o in self.objectives])
        values = values * signs
        scores = np.column_stack([normal_scores(v) for v in values.T])
        if values.shape[1] == 1 or self.options["mo_acquisition"] == "ehvi":
            return scores
        span = np.ptp(scores, axis=0)
        cost = 1.0 - (scores - scores.min(0)) / np.where(span > 0, span, 1.0)
        weights = rng.dirichlet(np.ones(values.shape[1]))
        chebyshev = (weights * cost).max(1) + _CHEBYSHEV_RHO * (weights * cost).sum(1)
        return normal_scores(-chebyshev)[:, None]

    @staticmethod
    def _ranking(targets: np.ndarray, feasible: np.ndarray, violation: np.ndarray
                 ) -> tuple[np.ndarray, int]:
        """Positions best first (feasible first; by target, or for several target columns
        by non-dominated rank then violation) and the size of the feasible front."""
        if targets.shape[1] == 1:
            return np.lexsort((-targets[:, 0], ~feasible)), 0
        rank = np.full(len(targets), np.inf)
        if feasible.any():
            rank[feasible] = non_dominated_sort(-targets[feasible])
        return np.lexsort((np.arange(len(rank)), violation, rank)), int((rank == 0).sum())

    def _parents(self, ranking: tuple[np.ndarray, int]) -> np.ndarray:
        """Positions of the genotypes whose neighbourhoods enter the pool: the `top` best
        (feasible first), and for EHVI at least the whole feasible front."""
        order, front = ranking
        return order[:max(self.options["top"], front)]

    def _fit_subset(self, ranking: tuple[np.ndarray, int]) -> np.ndarray:
        """Positions the GPs are conditioned on: all of them (`surrogate` "exact", or at
        most `max_points` observations), else the best half of `max_points` and a uniform
        draw from the rest (drawn afresh each ask)."""
        order, cap = ranking[0], self.options["max_points"]
        if self.options["surrogate"] == "exact" or len(order) <= cap:
            return np.arange(len(order))
        rng = np.random.default_rng([self.seed, self.n_asked, 1])  # leaves the pool's draws
        rest = rng.choice(order[cap // 2:], cap - cap // 2, replace=False)
        return np.sort(np.concatenate([order[:cap // 2], rest]))

    def _refit_due(self, name: str, n: int) -> bool:
        """Whether the hyperparameters of GP `name` are re-optimised at this ask, told `n`
        observations: always below `refit_below`; then "exact" every `refit_every` asks,
        "subset" once `refit_every` asks and a `refit_growth` share of n have passed."""
        opts = self.options
        if n < opts["refit_below"] or name not in self.thetas:
            return True
        if opts["surrogate"] == "exact":
            return self.n_asked % opts["refit_every"] == 0
        since = self.n_asked - self.fitted_at.get(name, 0)
        return since >= max(opts["refit_every"], opts["refit_growth"] * n)

    def _posterior(self, name: str, X: np.ndarray, y: np.ndarray, model: "_ModelData"
                   ) -> GaussianProcess:
        """A GP on (X, y), refitted on schedule, conditioned on pending points at their mean."""
        gp = GaussianProcess(self.thetas.get(name))
        if self._refit_due(name, model.n):
            gp.fit(X, y, self.options["maxiter"])
            self.fitted_at[name] = self.n_asked
        else:
            gp.condition(X, y)
        self.thetas[name] = gp.theta.tolist()
        if len(model.Xp):
            believed, _ = gp.predict(model.Xp)
            gp.condition(np.vstack([X, model.Xp]), np.concatenate([y, believed]))
        return gp

    def _acquisition(self, model: "_ModelData", targets: np.ndarray, feasible: np.ndarray,
                     Xc: np.ndarray) -> np.ndarray:
        """EI (one target column) or EHVI (one per objective) x P(feasible) at rows Xc;
        `targets` and `feasible` cover every measured observation (the incumbent, the front)."""
        if targets.shape[1] == 1:
            mu, sd = self._posterior("objective", model.X, model.y[:, 0], model).predict(Xc)
            score = expected_improvement(mu, sd, targets[feasible, 0].max()) \
                if feasible.any() else np.ones(len(Xc))
        else:
            score, mu, sd = self._ehvi(model, targets, feasible, Xc)
        for j, constraint in enumerate(self.constraints):
            g = model.violations[:, j]
            ok = np.isfinite(g)
            if ok.sum() < 2:
                continue
            centre, scale = g[ok].mean(), g[ok].std() or 1.0
            c_model = self._posterior(f"constraint:{constraint.name}", model.X[ok],
                                      (g[ok] - centre) / scale, model)
            c_mu, c_sd = c_model.predict(Xc)
            score = score * prob_between(c_mu, c_sd, None, -centre / scale)
        if not np.any(score > 0):  # the acquisition underflowed everywhere: be optimistic
            score = mu + sd
        return score

    def _ehvi(self, model: "_ModelData", targets: np.ndarray, feasible: np.ndarray,
              Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """EHVI of the candidates in the normal-score space, one GP per objective; pending
        genotypes join the front at their posterior means (kriging believer). Also returns
        the summed posterior means and sds (the optimistic fallback)."""
        mu, sd, believed = [], [], []
        for j, objective in enumerate(self.objectives):
            gp = self._posterior(f"objective:{objective.name}", model.X, model.y[:, j], model)
            for out, value in zip((mu, sd), gp.predict(Xc)):
                out.append(value)
            believed.append(gp.predict(model.Xp)[0] if len(model.Xp) else np.zeros(0))
        mu, sd = np.column_stack(mu), np.column_stack(sd)
        if not feasible.any():
            return np.ones(len(Xc)), mu.sum(1), sd.sum(1)
        points = -np.vstack([targets[feasible], np.column_stack(believed)])  # minimised
        front = points[pareto_mask(points)]
        lower, upper = box_decomposition(front, model_reference(front, -targets))
        return expected_hvi(-mu, sd, lower, upper), mu.sum(1), sd.sum(1)

    # ----- state ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "thetas": {k: list(v) for k, v in self.thetas.items()},
                "fitted_at": dict(self.fitted_at)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.thetas = {k: list(v) for k, v in state["thetas"].items()}
        self.fitted_at = {k: int(v) for k, v in state.get("fitted_at", {}).items()}


@dataclass(frozen=True)
class _ModelData:
    """What the GPs of one ask are conditioned on: one-hot rows X (k, d), targets y (k, t),
    feasibility and per-constraint violations of those rows, the number n of measured
    observations they were chosen from, and the pending genotypes' rows Xp."""

    X: np.ndarray
    y: np.ndarray
    feasible: np.ndarray
    violations: np.ndarray
    n: int
    Xp: np.ndarray
