"""Tests for nas.pareto.fronts: ranks, fronts and hypervolume against brute force and Optuna."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from optuna._hypervolume import compute_hypervolume as optuna_hypervolume

import nas.pareto.dominance as dominance
from nas.pareto.fronts import (
    front_summary,
    hypervolume,
    hypervolume_history,
    non_dominated_sort,
    pareto_mask,
    to_minimisation,
)
from search_spaces.errors import UserError


def brute_ranks(points: np.ndarray) -> np.ndarray:
    """O(n^2) reference: full domination matrix, then peel fronts one at a time."""
    p = np.asarray(points, dtype=float)
    le = np.all(p[:, None, :] <= p[None, :, :], axis=2)
    lt = np.any(p[:, None, :] < p[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    ranks = np.full(len(p), -1)
    rank = 0
    while (ranks < 0).any():
        left = ranks < 0
        front = left & ~dom[left].any(axis=0)
        ranks[front] = rank
        rank += 1
    return ranks


def grid_hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact reference: sum the cells of the coordinate grid whose lower corner is dominated."""
    p = np.asarray(points, dtype=float).reshape(-1, len(ref))
    axes = [np.unique(np.append(p[:, k][p[:, k] < ref[k]], ref[k])) for k in range(len(ref))]
    lows = np.stack(np.meshgrid(*[a[:-1] for a in axes], indexing="ij"), -1).reshape(-1, len(ref))
    sizes = np.stack(np.meshgrid(*[np.diff(a) for a in axes], indexing="ij"), -1)
    sizes = sizes.reshape(-1, len(ref)).prod(axis=1)
    if len(p) == 0 or len(lows) == 0:
        return 0.0
    covered = np.all(p[None, :, :] <= lows[:, None, :], axis=2).any(axis=1)
    return float(sizes[covered].sum())


def random_points(rng: np.random.Generator, n: int, m: int, kind: str) -> np.ndarray:
    """Continuous points, or small integers (many ties), or integers with duplicated rows."""
    if kind == "float":
        return rng.random((n, m))
    pts = rng.integers(0, 5, size=(n, m)).astype(float)
    if kind == "dup":
        pts = np.concatenate([pts, pts[rng.integers(0, n, size=n // 2)]])
        pts = pts[rng.permutation(len(pts))]
    return pts


@pytest.fixture(params=["default", "tiny_chunks"])
def chunking(request, monkeypatch):
    """Also run with tiny blocks/chunks so every chunked and switching path is exercised."""
    if request.param == "tiny_chunks":
        monkeypatch.setattr(dominance, "_BLOCK", 4)
        monkeypatch.setattr(dominance, "_CHUNK", 16)
    return request.param


@pytest.mark.parametrize("m", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["float", "int", "dup"])
def test_ranks_and_mask_match_brute_force(m, kind, chunking):
    rng = np.random.default_rng(100 * m + len(kind))
    for n in (1, 2, 7, 90):
        pts = random_points(rng, n, m, kind)
        expected = brute_ranks(pts)
        np.testing.assert_array_equal(non_dominated_sort(pts), expected)
        np.testing.assert_array_equal(pareto_mask(pts), expected == 0)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_ranks_with_many_thin_fronts(m, chunking):
    # A chain with small antichains: many fronts, so the thin-front rank pass takes over.
    rng = np.random.default_rng(m)
    base = np.repeat(np.arange(120.0), 3)[:, None] + rng.integers(0, 2, size=(360, m))
    pts = base[rng.permutation(len(base))]
    expected = brute_ranks(pts)
    assert expected.max() > 100
    np.testing.assert_array_equal(non_dominated_sort(pts), expected)


def test_duplicates_of_front_points_are_rank_zero():
    pts = np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 1.0]])
    np.testing.assert_array_equal(non_dominated_sort(pts), [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(pareto_mask(pts), [True, True, True, False, True])
    assert non_dominated_sort(np.empty((0, 3))).shape == (0,)
    assert pareto_mask(np.empty((0, 2))).shape == (0,)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_hypervolume_matches_grid(m):
    rng = np.random.default_rng(7 + m)
    ref = np.full(m, 4.0)
    for n in (1, 3, 6, 12):
        pts = rng.integers(0, 6, size=(n, m)).astype(float)  # some on or beyond the reference
        assert hypervolume(pts, ref) == pytest.approx(grid_hypervolume(pts, ref), rel=1e-12)
        fl = rng.random((n, m)) * 1.2
        assert hypervolume(fl, np.ones(m)) == pytest.approx(
            grid_hypervolume(fl, np.ones(m)), rel=1e-12
        )


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("kind", ["float", "int", "dup", "front"])
def test_hypervolume_matches_optuna(m, kind):
    rng = np.random.default_rng(m)
    for n in (1, 50, 400):
        if kind == "front":  # every point non-dominated: the sweep does all the work
            pts = rng.random((n, m))
            pts /= np.linalg.norm(pts, axis=1, keepdims=True)
        else:
            pts = random_points(rng, n, m, kind)
        ref = pts.max(axis=0) + 0.5
        ours = hypervolume(pts, ref)
        assert ours == pytest.approx(optuna_hypervolume(pts, ref), rel=1e-9, abs=0)


def test_hypervolume_edge_cases():
    assert hypervolume(np.empty((0, 3)), [1.0, 1.0, 1.0]) == 0.0
    assert hypervolume([[1.0, 0.0], [0.5, 2.0]], [1.0, 1.0]) == 0.0  # none strictly inside
    assert hypervolume([[0.0, 0.0], [np.nan, 0.0]], [1.0, 2.0]) == 2.0
    with pytest.raises(UserError, match="expected 2"):
        hypervolume(np.zeros((3, 3)), [1.0, 1.0])


def test_to_minimisation_and_bad_directions():
    vals = np.array([[1.0, 2.0], [3.0, -4.0]])
    out = to_minimisation(vals, ["minimize", "maximize"])
    np.testing.assert_array_equal(out, [[1.0, -2.0], [3.0, 4.0]])
    with pytest.raises(UserError, match="maximize, minimize") as err:
        to_minimisation(vals, ["minimize", "maximise"])
    assert "'maximise'" in str(err.value) and "Did you mean 'maximize'" in str(err.value)
    with pytest.raises(UserError, match="2 objectives"):
        to_minimisation(vals, ["minimize"])
    with pytest.raises(UserError, match="must be a list"):
        to_minimisation(vals, "minimize")
    with pytest.raises(UserError, match="2-D"):
        to_minimisation(np.zeros(3), ["minimize"])


def test_front_summary_in_user_directions():
    # accuracy (maximise) vs latency (minimise); row 3 failed, row 2 is dominated by row 0.
    vals = np.array([[0.9, 10.0], [0.8, 5.0], [0.85, 12.0], [np.nan, 1.0], [0.7, 4.0]])
    out = front_summary(vals, ["maximize", "minimize"], reference=[0.5, 20.0])
    assert out["front_indices"] == [0, 1, 4]
    expected = grid_hypervolume(np.array([[-0.9, 10], [-0.8, 5], [-0.7, 4]]), np.array([-0.5, 20]))
    assert out["hypervolume"] == pytest.approx(expected, rel=1e-12)
    assert out["reference"] == [0.5, 20.0]
    json.dumps(out)  # what the store writes as pareto.json


def test_front_summary_default_reference():
    vals = np.array([[0.9, 10.0], [0.7, 4.0], [0.7, 4.0]])
    out = front_summary(vals, ["maximize", "minimize"])
    # worst accuracy 0.7 - 10% of 0.2; worst latency 10 + 10% of 6
    assert out["reference"] == pytest.approx([0.68, 10.6])
    assert out["front_indices"] == [0, 1, 2]
    assert out["hypervolume"] == pytest.approx(0.2 * 0.6 + 0.02 * 6.6)
    flat = front_summary(np.array([[2.0, 0.0]]), ["minimize", "maximize"])
    assert flat["reference"] == pytest.approx([2.2, -0.1])
    assert flat["hypervolume"] == pytest.approx(0.2 * 0.1)
    empty = front_summary(np.full((2, 2), np.nan), ["minimize", "minimize"])
    assert empty == {"front_indices": [], "hypervolume": 0.0, "reference": None}
    with pytest.raises(UserError, match="reference has 1"):
        front_summary(vals, ["maximize", "minimize"], reference=[1.0])
    with pytest.raises(UserError, match="must be finite"):
        hypervolume_history(vals, ["maximize", "minimize"], [0.0, np.inf])


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_hypervolume_history_equals_prefix_recomputation(m):
    rng = np.random.default_rng(30 + m)
    directions = list(itertools.islice(itertools.cycle(["minimize", "maximize"]), m))
    vals = rng.integers(0, 6, size=(80, m)).astype(float) + rng.random((80, m)) * (m < 4)
    vals[rng.integers(0, 80, size=5), 0] = np.nan  # failed trials
    ref = np.where(np.array(directions) == "minimize", 5.0, 0.5)
    hist = hypervolume_history(vals, directions, ref)
    pts, ref_min = to_minimisation(vals, directions), to_minimisation(ref[None], directions)[0]
    expected = [hypervolume(pts[: i + 1], ref_min) for i in range(len(vals))]
    np.testing.assert_allclose(hist, expected, rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(hist) >= 0)


@pytest.mark.slow
def test_large_inputs_against_optuna():
    rng = np.random.default_rng(0)
    for m in (2, 3):
        pts = rng.random((10_000, m))
        ref = np.full(m, 1.1)
        assert hypervolume(pts, ref) == pytest.approx(optuna_hypervolume(pts, ref), rel=1e-9)
        hist = hypervolume_history(pts, ["minimize"] * m, ref)
        assert hist[-1] == pytest.approx(hypervolume(pts, ref), rel=1e-9)
    pts = rng.random((3_000, 3))
    np.testing.assert_array_equal(non_dominated_sort(pts), brute_ranks(pts))
