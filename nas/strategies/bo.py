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
  random weights; or "ehvi": exact expected hypervolume improvement (Emmerich et al.
  2006; Yang et al. 2019) in the normal-score space (`mobo`), the pool grown from every
  member of the feasible front, with one GP for all objectives (`ehvi_model` "shared":
  one set of hyperparameters, one posterior) or one per objective ("separate": twice the
  ask time). NB201 CIFAR-10 (accuracy, cost) hypervolume ratio, seeds 0-19, @100/@300:
  parego 0.971 / 0.995, ehvi shared 0.974 / 0.993, ehvi separate on one-hot inputs
  0.974 / 0.995, so parego stays the default. EHVI in raw objective units (a warped GP)
  scored 0.89: with a reference point taken from the data it chases the cheap,
  inaccurate end of the front.
  The other variants tried are in benchmarks/nb201_mo_results.md.
- Batches: in-flight genotypes enter the GP with their posterior mean ("kriging
  believer", Ginsbourger et al. 2010), so parallel asks spread out; `ask_batch(k)` picks
  k from one model, each pick believed before the next (`acquisition`), so the driver's
  ask-ahead batches cost about one ask.
- Scale (`surrogate` "subset", the default): past `max_points` (256) measured trials the
  GPs are conditioned on the best half of `max_points` plus a uniform draw from the rest,
  redrawn every ask, and hyperparameters are refitted (warm-started) once `refit_every`
  models (one per `ask_batch`) and `refit_growth` (2%) of the history in asks have
  passed: a driver that asks in batches of 8 refits per batch no more often than a
  sequential one per ask. Why this and not a sparse GP:
  EI only needs the model to rank candidates near the incumbents, which the best half
  keeps dense, while the random half keeps the global trend; the cost is then flat in the
  history size (the exact GP's O(n^3) refits made an ask take 1.3 s at 1,000 trials),
  with no inducing-point optimisation to tune, and below `max_points` it is the exact GP
  unchanged (NB201 figures identical at 100 queries). Told trials are kept as growing
  arrays (`told_arrays`), so no per-ask Python loop over the history remains.
  `surrogate="exact"` restores the exact GP on every observation and the old refit
  schedule (every ask below `refit_below`, then every `refit_every`-th); it asks exactly
  what `bo` asked before. Ask times: benchmarks/bench_ask_time.py.
- Inputs and noise (`features` "counts", `min_noise` "auto"): the GP sees the one-hot
  rows plus the share of each choice among decisions with the same choices
  (`Encoder.features`: op counts of a cell), and its noise variance (normal-score units)
  is kept >= 0.02 for EI and ParEGO (>= 1e-4 for EHVI, whose GP also models noise-free
  costs). With a 1e-4 floor the fit drove the noise to the bound and interpolated the
  table's seed noise with short lengthscales, ranking the unseen global best below
  average after 80 queries. NB201 ImageNet16-120 regret@100, seeds 0-59: 0.233 -> 0.082
  (benchmarks/scale_results.md). Tried and not kept: counts alone, floors 0.01 and 0.05,
  EI with an offset xi +-0.1, a pool of every NB201 function, n_init 20, top 5,
  random 500 / 20,000; for EHVI, the 0.02 floor (ratio @300 0.992 shared, 0.987
  separate).
- Precision: the GPs are fitted and conditioned in float64; candidate pools are scored
  in float32 (`gp.POOL_DTYPE`), twice as fast, relative errors ~1e-6 on bo's fits.
Randomness comes from (seed, n_asked) and warm-started hyperparameters (and the ask of
their last fit) are part of the state, so a restored or replayed strategy asks exactly
the same genotypes.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from nas.pareto.fronts import non_dominated_sort
from search_spaces.errors import UserError, unknown_choice
from search_spaces.genotype import Genotype

from .acquisition import PoolAcquisition
from .base import STRATEGIES
from .candidates import Encoder, candidate_pool
from .evolution import unseen_sample
from .gp import POOL_DTYPE, GaussianProcess, PoolPosterior, normal_scores
from .lazy_posterior import LazyPoolPosterior
from .observations import HistoryStrategy
from .told_arrays import ToldArrays

__all__ = ["BayesOpt"]

_CHEBYSHEV_RHO = 0.05  # ParEGO's augmentation weight (Knowles 2006, Eq. 2)
MO_ACQUISITIONS = ("parego", "ehvi")
EHVI_MODELS = ("separate", "shared")
SURROGATES = ("subset", "exact")
FEATURES = ("onehot", "counts")


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
                "surrogate": "subset", "max_points": 256, "refit_growth": 0.02,
                "features": "counts", "min_noise": "auto", "ls_prior": 0.1,
                "ehvi_model": "shared"}
    option_kinds = {"min_noise": (str, float)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_positive("n_init", "random", "refit_every", "max_points")
        if self.options["surrogate"] not in SURROGATES:
            raise unknown_choice("bo option 'surrogate'", self.options["surrogate"], SURROGATES)
        if self.options["mo_acquisition"] not in MO_ACQUISITIONS:
            raise unknown_choice("bo option 'mo_acquisition'", self.options["mo_acquisition"],
                                 MO_ACQUISITIONS)
        if self.options["ehvi_model"] not in EHVI_MODELS:
            raise unknown_choice("bo option 'ehvi_model'", self.options["ehvi_model"],
                                 EHVI_MODELS)
        if self.options["features"] not in FEATURES:
            raise unknown_choice("bo option 'features'", self.options["features"], FEATURES)
        self.min_noise = self._noise_floor()
        self.encoder = Encoder(self.space)
        self.thetas: dict[str, list[float]] = {}
        self.fitted_at: dict[str, int] = {}  # n_asked at each GP's last hyperparameter fit
        self.n_models = 0  # models built (one per _propose: an ask or a whole batch)
        self.fitted_model: dict[str, int] = {}  # n_models at each GP's last fit
        self.told = ToldArrays(self.encoder, len(self.objectives), len(self.constraints))

    # ----- ask / tell ---------------------------------------------------------------
    def ask(self) -> Genotype:
        return self.ask_batch(1)[0]

    def ask_batch(self, k: int) -> list[Genotype]:
        """k genotypes from one model: the picks after the first are chosen with the
        earlier ones pending at their posterior mean (`acquisition`), so a batch costs
        about one ask. `ask_batch(1)` is `ask`."""
        out: list[Genotype] = []
        with _threadpool_limits():
            while len(out) < k:
                rng = self.rng()
                if self._initialising():
                    self.n_asked += 1
                    out.append(self.history.asked(unseen_sample(self, self.history, rng, 100)))
                else:
                    self.n_asked += k - len(out)
                    self.n_models += 1
                    out.extend(self._propose(rng, k - len(out)))
        return out

    def _initialising(self) -> bool:
        history = self.history
        started = len(history.observations) + len(history.pending)
        return started < self.options["n_init"] or len(history.observations) - int(
            self.told.update(history.observations).failed.sum()) < 2

    def _propose(self, rng: np.random.Generator, k: int) -> list[Genotype]:
        """k picks (recorded as asked) from one model of the measured observations."""
        history, opts = self.history, self.options
        told = self.told.update(history.observations)
        measured = np.flatnonzero(~told.failed)
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
            return [history.asked(unseen_sample(self, history, rng, 100)) for _ in range(k)]
        fit = self._fit_subset(ranking)
        features = functools.partial(self.encoder.features, kind=opts["features"])
        model = _ModelData(features(rows[fit]), targets[fit], feasible[fit],
                           told.violations[measured][fit], len(measured), features(pending))
        acquisition = self._acquisition(model, targets, feasible,
                                        features(pool, dtype=POOL_DTYPE))
        taken = np.zeros(len(pool), dtype=bool)
        return [history.asked(self._pick(acquisition, pool, taken, rng)) for _ in range(k)]

    def _pick(self, acquisition: PoolAcquisition, pool: np.ndarray, taken: np.ndarray,
              rng: np.random.Generator) -> Genotype:
        """The best-scoring pool row not yet taken that the space allows (a space may
        forbid some combinations of choices); it joins the model as believed."""
        for _ in range(100):
            i = acquisition.best(taken)
            if i is None:
                break
            taken[i] = True
            try:
                genotype = self.encoder.genotype(pool[i])
            except UserError:
                continue
            acquisition.add(i)
            return genotype
        return unseen_sample(self, self.history, rng, 100)

    # ----- model ----------------------------------------------------------------------
    def _noise_floor(self) -> float:
        """The GPs' noise-variance floor: option `min_noise`, where "auto" is 0.02 for EI
        and ParEGO (one noisy target) and 1e-4 for EHVI (its GPs also model noise-free
        costs such as params, which a floor would blur)."""
        value = self.options["min_noise"]
        if value == "auto":
            ehvi = len(self.objectives) > 1 and self.options["mo_acquisition"] == "ehvi"
            return 1e-4 if ehvi else 0.02
        if isinstance(value, str) or value <= 0:
            raise UserError(f"bo option 'min_noise' must be 'auto' or a number > 0, "
                            f"got {value!r}")
        return float(value)

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
        "subset" once `refit_every` models and asks of a `refit_growth` share of n have
        passed."""
        opts = self.options
        if n < opts["refit_below"] or name not in self.thetas:
            return True
        if opts["surrogate"] == "exact":
            return self.n_asked % opts["refit_every"] == 0
        asks = self.n_asked - self.fitted_at.get(name, 0)
        models = self.n_models - self.fitted_model.get(name, 0)
        return models >= opts["refit_every"] and asks >= opts["refit_growth"] * n

    def _posterior(self, name: str, X: np.ndarray, y: np.ndarray, model: "_ModelData"
                   ) -> GaussianProcess:
        """A GP on (X, y), refitted on schedule, conditioned on pending points at their mean."""
        gp = GaussianProcess(self.thetas.get(name), float(self.options["ls_prior"]),
                             self.min_noise)
        if self._refit_due(name, model.n):
            gp.fit(X, y, self.options["maxiter"])
            self.fitted_at[name], self.fitted_model[name] = self.n_asked, self.n_models
        else:
            gp.condition(X, y)
        self.thetas[name] = gp.theta.tolist()
        if len(model.Xp):
            believed, _ = gp.predict(model.Xp)
            gp.condition(np.vstack([X, model.Xp]), np.concatenate([y, believed]))
        return gp

    def _acquisition(self, model: "_ModelData", targets: np.ndarray, feasible: np.ndarray,
                     Xc: np.ndarray) -> PoolAcquisition:
        """EI (one target column) or EHVI (one per objective) x P(feasible) at rows Xc;
        `targets` and `feasible` cover every measured observation (the incumbent, the
        front). Pending genotypes join each GP, and the EHVI front, at their means."""
        t = targets.shape[1]
        if t == 1:
            groups = [("objective", [0])]
        elif self.options["ehvi_model"] == "shared":
            groups = [("objectives", list(range(t)))]
        else:
            groups = [(f"objective:{o.name}", [j]) for j, o in enumerate(self.objectives)]
        objectives, believed = [], []
        for name, columns in groups:
            y = model.y[:, columns] if len(columns) > 1 else model.y[:, columns[0]]
            gp = self._posterior(name, model.X, y, model)
            objectives.append(PoolPosterior(gp, Xc))
            if len(model.Xp) and t > 1:
                believed.append(gp.predict(model.Xp)[0].reshape(len(model.Xp), -1))
        constraints = []
        for j, constraint in enumerate(self.constraints):
            g = model.violations[:, j]
            ok = np.isfinite(g)
            if ok.sum() < 2:
                continue
            centre, scale = g[ok].mean(), g[ok].std() or 1.0
            gp = self._posterior(f"constraint:{constraint.name}", model.X[ok],
                                 (g[ok] - centre) / scale, model)
            constraints.append((LazyPoolPosterior(gp, Xc), -centre / scale))
        believed = np.hstack(believed) if believed else np.zeros((0, t))
        return PoolAcquisition(objectives, constraints, targets, feasible, believed)

    # ----- state ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "thetas": {k: list(v) for k, v in self.thetas.items()},
                "fitted_at": dict(self.fitted_at), "n_models": self.n_models,
                "fitted_model": dict(self.fitted_model)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.thetas = {k: list(v) for k, v in state["thetas"].items()}
        self.fitted_at = {k: int(v) for k, v in state.get("fitted_at", {}).items()}
        self.n_models = int(state.get("n_models", 0))
        self.fitted_model = {k: int(v) for k, v in state.get("fitted_model", {}).items()}


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
