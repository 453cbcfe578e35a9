"""Our default strategy: Bayesian optimisation with a rank-Gaussianised ARD GP on one-hot
genotypes, expected improvement over a local + global candidate pool, never re-asking.

- Surrogate: `gp.GaussianProcess` on `Space.encode`-style one-hot rows; targets are
  normal scores of the ranks (Salinas et al. 2020), robust to broken candidates.
- Acquisition: EI (Jones et al. 1998) times the probability of meeting every hard
  constraint, each modelled by its own GP (Gardner et al. 2014; Gelbart et al. 2014);
  with no feasible trial yet, the probability of feasibility alone.
- Candidates: neighbours and two-step mutations of the best `top` genotypes plus
  `random` uniform ones (BANANAS-style, White et al. 2021), minus every told or
  in-flight genotype, so no genotype is evaluated twice.
- Several objectives: ParEGO (Knowles 2006, IEEE TEVC 10(1)): each ask scalarises the
  rank-normalised objectives with an augmented Chebyshev function of random weights.
- Batches: in-flight genotypes enter the GP with their posterior mean ("kriging
  believer", Ginsbourger et al. 2010), so parallel asks spread out.
Randomness comes from (seed, n_asked) and warm-started hyperparameters are part of the
state, so a restored or replayed strategy asks exactly the same genotypes.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .base import STRATEGIES, Strategy
from .candidates import Encoder, candidate_pool
from .evolution import unseen_sample
from .gp import GaussianProcess, expected_improvement, normal_scores, prob_between
from .history import History, Observation

__all__ = ["BayesOpt"]

_CHEBYSHEV_RHO = 0.05  # ParEGO's augmentation weight (Knowles 2006, Eq. 2)


def _threadpool_limits():
    """One BLAS thread: faster for these sizes on shared cores, and bit-reproducible."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: results stay correct, only speed/reproducibility suffer
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


@STRATEGIES.register("bo")
class BayesOpt(Strategy):
    """GP + EI over neighbours, mutations and random genotypes (see module docstring)."""

    name = "bo"
    defaults = {"n_init": 10, "top": 10, "mutations": 50, "random": 2000, "maxiter": 50,
                "refit_below": 100, "refit_every": 5}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_positive("n_init", "random", "refit_every")
        self.history = History(self)
        self.encoder = Encoder(self.space)
        self.thetas: dict[str, list[float]] = {}

    # ----- ask / tell ---------------------------------------------------------------
    def ask(self) -> Genotype:
        rng = self.rng()
        self.n_asked += 1
        with _threadpool_limits():
            genotype = self._propose(rng)
        return self.history.asked(genotype)

    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        self.history.told(genotype, metrics)

    def cancel(self, genotype: Genotype) -> None:
        self.history.cancelled(genotype)

    def _propose(self, rng: np.random.Generator) -> Genotype:
        history, opts = self.history, self.options
        measured = [history.observations[i] for i in history.measured()]
        started = len(history.observations) + len(history.pending)
        if started < opts["n_init"] or len(measured) < 2:
            return unseen_sample(self, history, rng, 100)
        rows = self.encoder.rows(o.genotype for o in measured)
        X, Xp = self.encoder.onehot(rows), self.encoder.onehot(self.encoder.rows(history.pending))
        target = self._target(measured, rng)
        feasible = np.array([o.violation <= 0 for o in measured])
        top = rows[np.lexsort((-target, ~feasible))[:opts["top"]]]
        exclude = {self.encoder.row(o.genotype) for o in history.observations}
        exclude.update(self.encoder.row(g) for g in history.pending)
        pool = candidate_pool(self.encoder, top, rng, opts["mutations"], opts["random"],
                              exclude)
        if not len(pool):  # everything nearby and every random draw was seen
            return unseen_sample(self, history, rng, 100)
        score = self._acquisition(X, Xp, target, feasible, measured, self.encoder.onehot(pool))
        for i in np.argsort(-score, kind="stable")[:100]:
            try:  # a space may forbid some combinations of choices
                return self.encoder.genotype(pool[i])
            except UserError:
                continue
        return unseen_sample(self, history, rng, 100)

    # ----- model ----------------------------------------------------------------------
    def _target(self, measured: Sequence[Observation], rng: np.random.Generator) -> np.ndarray:
        """Higher-is-better scalar per measured trial: normal scores of the objective, or
        of a random augmented-Chebyshev scalarisation (ParEGO) for several objectives."""
        signs = np.array([1.0 if o.direction == "maximize" else -1.0 for o in self.objectives])
        values = np.array([o.values for o in measured], dtype=float) * signs
        if values.shape[1] == 1:
            return normal_scores(values[:, 0])
        scores = np.column_stack([normal_scores(v) for v in values.T])
        span = np.ptp(scores, axis=0)
        cost = 1.0 - (scores - scores.min(0)) / np.where(span > 0, span, 1.0)
        weights = rng.dirichlet(np.ones(values.shape[1]))
        chebyshev = (weights * cost).max(1) + _CHEBYSHEV_RHO * (weights * cost).sum(1)
        return normal_scores(-chebyshev)

    def _posterior(self, name: str, X: np.ndarray, y: np.ndarray,
                   Xp: np.ndarray) -> GaussianProcess:
        """A GP on (X, y), refitted on schedule, conditioned on pending points at their mean."""
        gp = GaussianProcess(self.thetas.get(name))
        refit = (len(X) < self.options["refit_below"]
                 or self.n_asked % self.options["refit_every"] == 0 or name not in self.thetas)
        gp.fit(X, y, self.options["maxiter"]) if refit else gp.condition(X, y)
        self.thetas[name] = gp.theta.tolist()
        if len(Xp):
            believed, _ = gp.predict(Xp)
            gp.condition(np.vstack([X, Xp]), np.concatenate([y, believed]))
        return gp

    def _acquisition(self, X: np.ndarray, Xp: np.ndarray, target: np.ndarray,
                     feasible: np.ndarray, measured: Sequence[Observation],
                     Xc: np.ndarray) -> np.ndarray:
        """EI x P(feasible) at the candidate rows Xc."""
        mu, sd = self._posterior("objective", X, target, Xp).predict(Xc)
        score = expected_improvement(mu, sd, target[feasible].max()) if feasible.any() \
            else np.ones(len(Xc))
        for j, constraint in enumerate(self.constraints):
            g = np.array([o.violations[j] for o in measured], dtype=float)
            ok = np.isfinite(g)
            if ok.sum() < 2:
                continue
            centre, scale = g[ok].mean(), g[ok].std() or 1.0
            model = self._posterior(f"constraint:{constraint.name}", X[ok],
                                    (g[ok] - centre) / scale, Xp)
            c_mu, c_sd = model.predict(Xc)
            score = score * prob_between(c_mu, c_sd, None, -centre / scale)
        if not np.any(score > 0):  # EI underflowed everywhere: fall back to optimism
            score = mu + sd
        return score

    # ----- state ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "history": self.history.state_dict(),
                "thetas": {k: list(v) for k, v in self.thetas.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.history.load_state_dict(state["history"])
        self.thetas = {k: list(v) for k, v in state["thetas"].items()}
