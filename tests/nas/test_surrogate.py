"""The GP, its helpers and the candidate pool that our default strategy ('bo') uses."""
import numpy as np
import pytest
from scipy.optimize import check_grad

from nas.strategies.candidates import Encoder, candidate_pool, mutate_rows, neighbour_rows
from nas.strategies.gp import (GaussianProcess, expected_improvement, normal_scores,
                               prob_between)


@pytest.mark.parametrize("outputs", [None, 2])
def test_marginal_likelihood_gradient_matches_finite_differences(outputs):
    rng = np.random.default_rng(0)
    X = (rng.random((40, 12)) < 0.3).astype(float)
    y = rng.standard_normal(40 if outputs is None else (40, outputs))
    gp = GaussianProcess()
    theta = rng.normal(0, 0.3, 14)
    f = lambda t: gp._nll(t, X, y)[0]  # noqa: E731
    g = lambda t: gp._nll(t, X, y)[1]  # noqa: E731
    assert check_grad(f, g, theta) / np.linalg.norm(g(theta)) < 1e-4


def test_outputs_sharing_a_gp_are_independent_columns_of_one_fit():
    """Targets (n, t) share the hyperparameters: the likelihood is the sum over columns,
    each column's mean is its own GP's, and there is one sd."""
    rng = np.random.default_rng(2)
    X = (rng.random((30, 8)) < 0.4).astype(float)
    y = rng.standard_normal((30, 2))
    theta = rng.normal(0, 0.3, 10)
    gp = GaussianProcess()
    both = gp._nll(theta, X, y)[0]
    singles = [gp._nll(theta, X, y[:, j])[0] for j in range(2)]
    assert both == pytest.approx(sum(singles) - 0.5 * 0.1 * theta[:8] @ theta[:8])
    shared = GaussianProcess(theta.tolist()).condition(X, y)
    mu, sd = shared.predict(X[:5])
    assert mu.shape == (5, 2) and sd.shape == (5,)
    for j in range(2):
        alone = GaussianProcess(theta.tolist()).condition(X, y[:, j]).predict(X[:5])
        np.testing.assert_allclose(mu[:, j], alone[0])
        np.testing.assert_allclose(sd, alone[1])


def test_gp_interpolates_and_is_uncertain_far_away():
    rng = np.random.default_rng(1)
    X = np.eye(6)[rng.integers(0, 6, 30)]
    y = X @ np.arange(6.0)
    gp = GaussianProcess().fit(X, (y - y.mean()) / y.std())
    mu, sd = gp.predict(np.eye(6))
    assert np.corrcoef(mu, np.arange(6.0))[0, 1] > 0.99
    _, far = gp.predict(np.zeros((1, 6)) + 5.0)
    assert far[0] > sd.max()


def test_normal_scores_ties_and_order():
    z = normal_scores([3.0, 1.0, 2.0, 2.0, 10.0])
    assert z[1] < z[2] == z[3] < z[0] < z[4]
    assert z.std() == pytest.approx(1.0)
    assert np.all(normal_scores([5.0, 5.0, 5.0]) == 0)


def test_acquisition_helpers():
    ei = expected_improvement(np.array([0.0, 1.0, 2.0]), np.ones(3), best=1.0)
    assert np.all(np.diff(ei) > 0) and ei[1] == pytest.approx(1 / np.sqrt(2 * np.pi))
    p = prob_between(np.array([0.0]), np.array([1.0]), None, 0.0)
    assert p[0] == pytest.approx(0.5)


def test_encoder_matches_the_space_api(nb201):
    enc = Encoder(nb201)
    rng = np.random.default_rng(0)
    genotypes = [nb201.sample(rng) for _ in range(20)]
    rows = enc.rows(genotypes)
    assert np.array_equal(enc.onehot(rows), np.stack([nb201.encode(g) for g in genotypes]))
    assert [enc.genotype(r) for r in rows] == genotypes
    g = genotypes[0]
    mine = {tuple(r) for r in neighbour_rows(enc, enc.row(g)).tolist()}
    assert mine == {enc.row(n) for n in nb201.neighbours(g)}
    mutated = mutate_rows(enc, np.repeat(rows[:1], 200, axis=0), rng)
    assert np.all((mutated != rows[:1]).sum(1) == 1)


def test_candidate_pool_excludes_seen_and_is_unique(nb201):
    enc = Encoder(nb201)
    rng = np.random.default_rng(0)
    top = enc.rows([nb201.sample(rng) for _ in range(3)])
    excluded = neighbour_rows(enc, top[0])
    exclude = {tuple(r) for r in excluded.tolist()}
    pool = candidate_pool(enc, top, rng, mutations=20, n_random=300, exclude=excluded)
    as_set = {tuple(r) for r in pool.tolist()}
    assert len(as_set) == len(pool) and not as_set & exclude and len(pool) > 300
