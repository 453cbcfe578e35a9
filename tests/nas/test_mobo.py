"""Exact EHVI over a box decomposition (nas.strategies.mobo), checked against the exact
hypervolume and against Monte Carlo."""
import numpy as np
import pytest

from nas.pareto.fronts import hypervolume
from nas.strategies import mobo
from nas.strategies.gp import expected_improvement
from nas.strategies.mobo import box_decomposition, expected_hvi, model_reference


def _improvement(points, reference, ys):
    base = hypervolume(points, reference)
    return np.array([hypervolume(np.vstack([points, y[None]]), reference) - base for y in ys])


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_boxes_give_the_exact_hypervolume_improvement(m):
    """With (almost) no uncertainty EHVI is the improvement itself: boxes are disjoint and
    cover exactly the non-dominated part of the reference box."""
    rng = np.random.default_rng(m)
    reference = np.full(m, 1.5)
    for n in (0, 1, 12):
        points = rng.normal(size=(n, m))
        lower, upper = box_decomposition(points, reference)
        assert np.all(lower <= upper)
        ys = np.vstack([rng.normal(size=(40, m)), points[:3]])  # and some on the front
        got = expected_hvi(ys, np.full_like(ys, 1e-12), lower, upper)
        assert got == pytest.approx(_improvement(points, reference, ys), abs=1e-9)
        if n == 0:  # nothing dominated: one box, everything below the reference
            assert lower.tolist() == [[-np.inf] * m] and upper.tolist() == [reference.tolist()]


def test_two_objectives_have_one_strip_per_front_point_and_one_more():
    points = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [2.5, 2.5]])  # last dominated
    lower, upper = box_decomposition(points, np.array([4.0, 4.0]))
    assert len(lower) == 4
    assert upper[:, 1].tolist() == [4.0, 3.0, 2.0, 1.0]


@pytest.mark.parametrize("m", [2, 3])
def test_ehvi_matches_monte_carlo(m):
    rng = np.random.default_rng(10 + m)
    points, reference = rng.normal(size=(8, m)), np.full(m, 2.0)
    lower, upper = box_decomposition(points, reference)
    mu, sd = rng.normal(size=(4, m)), rng.uniform(0.2, 1.0, size=(4, m))
    draws = mu[:, None] + sd[:, None] * rng.normal(size=(4, 100_000, m))
    exact = expected_hvi(mu, sd, lower, upper)
    for k in range(4):
        sampled = expected_hvi(draws[k], np.full_like(draws[k], 1e-12), lower, upper)
        assert exact[k] == pytest.approx(sampled.mean(), rel=0.03, abs=1e-3)


def test_one_objective_ehvi_is_expected_improvement():
    lower, upper = box_decomposition(np.array([[0.5], [1.0]]), np.array([3.0]))
    mu, sd = np.array([[0.0], [1.0], [2.0]]), np.full((3, 1), 0.7)
    # minimising y = -f: improvement over the best 0.5 is EI of maximising -y over -0.5
    assert expected_hvi(mu, sd, lower, upper) == pytest.approx(
        expected_improvement(-mu[:, 0], sd[:, 0], -0.5))


def test_many_objectives_thin_the_front_under_the_box_budget(monkeypatch):
    monkeypatch.setattr(mobo, "MAX_BOXES", 200)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(60, 4))
    points /= np.linalg.norm(points, axis=1, keepdims=True)  # mostly non-dominated
    lower, _ = box_decomposition(-np.abs(points), np.zeros(4) + 0.1)
    assert 0 < len(lower) <= 200


def test_reference_is_the_front_nadir_pushed_out():
    front = np.array([[0.0, 2.0], [1.0, 1.0]])
    observed = np.array([[0.0, 2.0], [1.0, 1.0], [4.0, 5.0]])
    assert model_reference(front, observed).tolist() == pytest.approx([1.1, 2.1])
    # a single front point has no extent: the observed one sets the margin
    assert model_reference(front[:1], observed).tolist() == pytest.approx([0.4, 2.4])
