"""bo's pool acquisition: lazy constraint models and branch and bound pick exactly what
scoring every pool row would, and the lazy posterior equals the full one."""
import numpy as np
import pytest

import nas.strategies.acquisition

from nas.strategies.acquisition import PoolAcquisition
from nas.strategies.gp import GaussianProcess, PoolPosterior, expected_improvement, prob_between
from nas.strategies.lazy_posterior import LazyPoolPosterior


def _onehot(rng, n, blocks=6, size=4):
    X = np.zeros((n, blocks * size))
    X[np.arange(n)[:, None], np.arange(blocks) * size + rng.integers(0, size, (n, blocks))] = 1
    return X


def _gp(rng, X, min_noise=0.02):
    y = X @ rng.normal(size=X.shape[1]) + 0.1 * rng.normal(size=len(X))
    y = (y - y.mean()) / y.std()
    return GaussianProcess(min_noise=min_noise).fit(X, y, maxiter=15), y


def test_a_lazy_posterior_equals_the_full_one_after_picks():
    rng = np.random.default_rng(0)
    X, Xc = _onehot(rng, 40), _onehot(rng, 700)
    gp, _ = _gp(rng, X)
    full, lazy = PoolPosterior(gp, Xc), LazyPoolPosterior(gp, Xc)
    lazy.at(np.arange(5))  # some rows known before the picks, the rest after
    for i in (3, 400, 9):
        full.add(i)
        lazy.add(i)
    mu, sd = lazy.at(np.arange(len(Xc)))
    np.testing.assert_allclose(mu, full.mu, atol=1e-4)  # float32 columns, rows in other
    np.testing.assert_allclose(sd, full.sd, atol=1e-4)  # blocks of the same GEMM


@pytest.mark.parametrize("min_noise", [0.02, 1e-4])
def test_pool_posteriors_in_float32_match_the_float64_prediction(min_noise):
    """Candidate posteriors are computed in float32 (twice as fast); against the float64
    `predict`, the error is far below the spread that ranks candidates, also for an
    ill-conditioned fit (near noise-free targets, the noise at its 1e-4 floor)."""
    rng = np.random.default_rng(0)
    X, Xc = _onehot(rng, 40), _onehot(rng, 700)
    gp, _ = _gp(rng, X, min_noise)
    mu, sd = gp.predict(Xc)
    pool = PoolPosterior(gp, Xc)
    assert pool.mu.dtype == pool.sd.dtype == np.float64
    tol = 1e-4 if min_noise == 0.02 else 1e-3  # here sf ~ 13: var = sf - |v|^2 cancels
    assert np.abs(pool.mu - mu).max() < tol * np.ptp(mu)
    assert np.abs(pool.sd / sd - 1).max() < 10 * tol


@pytest.mark.parametrize("bounds, opposed", [((0.0, 0.5), False), ((3.0, 3.0), False),
                                             ((-0.5,), True)])
def test_branch_and_bound_picks_what_scoring_every_row_picks(monkeypatch, bounds, opposed):
    """Loose bounds (the first chunk decides) and a constraint opposed to the objective
    (the rows of high EI are the least feasible: several chunks visited), over a batch of
    picks with the models updated after each. Chunks of 8 rows, so several are visited."""
    monkeypatch.setattr(nas.strategies.acquisition, "_CHUNK", 8)
    rng = np.random.default_rng(1)
    X, Xc = _onehot(rng, 50), _onehot(rng, 1200)
    (objective, y), constraint_gps = _gp(rng, X), [_gp(rng, X)[0] for _ in bounds]
    if opposed:  # the constraint's value is the objective's: high accuracy is infeasible
        constraint_gps = [objective]
    targets = y[:, None]
    feasible = np.ones(len(X), dtype=bool)
    full_objective = PoolPosterior(objective, Xc)
    full_constraints = [PoolPosterior(gp, Xc) for gp in constraint_gps]
    acquisition = PoolAcquisition(
        [PoolPosterior(objective, Xc)],
        [(LazyPoolPosterior(gp, Xc), b) for gp, b in zip(constraint_gps, bounds)],
        targets, feasible, np.zeros((0, 1)))
    taken, visited = np.zeros(len(Xc), dtype=bool), []
    for _ in range(6):
        score = expected_improvement(full_objective.mu, full_objective.sd, targets.max())
        for posterior, bound in zip(full_constraints, bounds):
            score = score * prob_between(posterior.mu, posterior.sd, None, bound)
        assert score.max() > 0  # not the optimistic fallback
        expected = int(np.argmax(np.where(taken, -np.inf, score)))
        assert acquisition.best(taken) == expected
        visited.append(acquisition.visited)
        taken[expected] = True
        acquisition.add(expected)
        for posterior in [full_objective, *full_constraints]:
            posterior.add(expected)
    assert acquisition.best(np.ones(len(Xc), dtype=bool)) is None
    assert max(visited) < len(Xc)  # pruned: not every row's constraints computed
    if opposed:  # ... yet more than the first chunk
        assert max(visited) > 8
