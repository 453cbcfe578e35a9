"""bo at scale: the capped GP subset, batch asks, and exact resume of both."""
import numpy as np
import pytest

from nas.pareto.constraints import Constraint
from nas.strategies.gp import GaussianProcess, PoolPosterior

from strategy_helpers import MULTI, build, drive, json_roundtrip, synthetic

SMALL = {"n_init": 4, "max_points": 12, "random": 200, "mutations": 10, "maxiter": 10,
         "refit_below": 8}


def test_pool_posterior_add_equals_conditioning_on_the_believed_mean():
    rng = np.random.default_rng(0)
    X, Xc = rng.integers(0, 2, (15, 6)).astype(float), rng.integers(0, 2, (40, 6)).astype(float)
    gp = GaussianProcess().fit(X, rng.normal(size=15), maxiter=5)
    pool = PoolPosterior(gp, Xc)
    pool.add(3)
    pool.add(17)
    believed = gp.predict(Xc[[3, 17]])[0]
    exact = GaussianProcess(gp.theta.tolist()).condition(
        np.vstack([X, Xc[[3, 17]]]), np.concatenate([_targets(gp), believed]))
    mu, sd = exact.predict(Xc)
    np.testing.assert_allclose(pool.mu, mu, atol=1e-5)  # pools are float32 (gp.POOL_DTYPE)
    np.testing.assert_allclose(pool.sd, sd, atol=1e-5)


def _targets(gp):
    """The training targets behind gp.alpha: y = (K + noise I) alpha."""
    return gp.L @ (gp.L.T @ gp.alpha)


@pytest.mark.parametrize("objectives, options, constraints", [
    (None, {}, ()), (MULTI, {"mo_acquisition": "parego"}, ()),
    (MULTI, {"mo_acquisition": "ehvi"}, ()),
    (MULTI, {"mo_acquisition": "ehvi", "ehvi_model": "shared"}, ()),
    (None, {}, (Constraint("params", max=1.2e6),))])
def test_subset_and_batches_resume_exactly(objectives, options, constraints):
    """Past max_points the GPs use a refreshed subset; batch asks and a state_dict round
    trip continue exactly as an uninterrupted strategy (single, ParEGO, EHVI, constrained)."""
    kwargs = {"objectives": objectives} if objectives else {}
    opts = {**SMALL, **options}
    a = build("bo", constraints=constraints, **kwargs, **opts)
    drive(a, 20, batch=2)
    b = build("bo", constraints=constraints, **kwargs, **opts)
    b.load_state_dict(json_roundtrip(a.state_dict()))
    space, evaluator = synthetic()
    for strategy in (a, b):
        strategy.picked = strategy.ask_batch(3)
        for g in strategy.picked:
            strategy.tell(g, evaluator(space, g))
    assert [g.key for g in a.picked] == [g.key for g in b.picked]
    assert len({g.key for g in a.picked}) == 3
    assert a.ask().key == b.ask().key
    assert a.state_dict() == b.state_dict()


def test_fit_subset_keeps_the_best_half_and_max_points():
    strategy = build("bo", **SMALL)
    drive(strategy, 30)
    order = np.arange(29, -1, -1)  # pretend the last observation is the best
    chosen = strategy._fit_subset((order, 0))
    assert len(chosen) == SMALL["max_points"] and len(set(chosen.tolist())) == len(chosen)
    assert set(order[:SMALL["max_points"] // 2]) <= set(chosen.tolist())
    exact = build("bo", surrogate="exact", **SMALL)
    assert len(exact._fit_subset((order, 0))) == 30


def test_refits_thin_out_as_the_history_grows():
    strategy = build("bo", **{**SMALL, "refit_every": 2, "refit_growth": 0.5})
    drive(strategy, 30)
    strategy.fitted_at["objective"] = strategy.n_asked
    strategy.fitted_model["objective"] = strategy.n_models
    strategy.n_asked += 14  # 14 asks passed, but not half of the 30 observations
    strategy.n_models += 14
    assert not strategy._refit_due("objective", 30)
    strategy.n_asked += 1
    strategy.n_models += 1
    assert strategy._refit_due("objective", 30)
    assert strategy._refit_due("objective", 7)  # below refit_below: every ask


def test_a_batch_counts_as_one_model_towards_the_next_refit():
    """Asked in batches of 8, 16 asks are 2 models: not yet `refit_every` (3) of them."""
    strategy = build("bo", **{**SMALL, "refit_every": 3, "refit_growth": 0.1})
    drive(strategy, 30)
    strategy.fitted_at["objective"] = strategy.n_asked
    strategy.fitted_model["objective"] = strategy.n_models
    strategy.n_asked += 16
    strategy.n_models += 2
    assert not strategy._refit_due("objective", 30)
    strategy.n_asked += 8
    strategy.n_models += 1
    assert strategy._refit_due("objective", 30)


def test_ask_batch_counts_one_model_per_batch():
    strategy = build("bo", **SMALL)
    drive(strategy, 20)
    before = strategy.n_models
    strategy.ask_batch(4)
    assert strategy.n_models == before + 1
    restored = build("bo", **SMALL)
    restored.load_state_dict(strategy.state_dict())
    assert (restored.n_models, restored.fitted_model) == (strategy.n_models,
                                                          strategy.fitted_model)


def test_ask_batch_of_one_is_ask():
    a, b = build("bo", **SMALL), build("bo", **SMALL)
    drive(a, 16)
    drive(b, 16)
    assert [a.ask().key for _ in range(3)] == [b.ask_batch(1)[0].key for _ in range(3)]


def test_benchmark_strategy_specs_carry_options():
    from nas.benchmarks.nb201 import parse_strategy_spec
    from search_spaces.errors import UserError

    assert parse_strategy_spec("bo:surrogate=exact:max_points=128") == (
        "bo", {"surrogate": "exact", "max_points": 128})
    assert parse_strategy_spec("tpe") == ("tpe", {})
    with pytest.raises(UserError, match="key=value"):
        parse_strategy_spec("bo:exact")


def test_count_features_are_choice_shares_over_decisions_with_the_same_choices():
    """NB201: 6 edges with the same 5 ops; the extra columns are each op's share."""
    from nas.strategies.candidates import Encoder
    from search_spaces import get_space

    encoder = Encoder(get_space("nb201"))
    rows = np.array([[0, 0, 1, 1, 1, 4], [2, 2, 2, 2, 2, 2]])
    onehot = encoder.features(rows)
    counts = encoder.features(rows, kind="counts")
    np.testing.assert_array_equal(counts[:, :onehot.shape[1]], onehot)
    shares = counts[:, onehot.shape[1]:]
    np.testing.assert_allclose(shares[0], [2 / 6, 3 / 6, 0, 0, 1 / 6])
    np.testing.assert_allclose(shares[1], [0, 0, 1, 0, 0])


def test_the_noise_floor_bounds_the_fitted_noise():
    rng = np.random.default_rng(0)
    X = (rng.random((40, 8)) < 0.5).astype(float)
    y = X @ rng.normal(size=8)  # noiseless: the fit drives the noise to its floor
    for floor in (1e-4, 0.02):
        gp = GaussianProcess(min_noise=floor).fit(X, (y - y.mean()) / y.std(), maxiter=30)
        assert np.exp(gp.theta[-1]) >= floor * (1 - 1e-9)
    assert np.exp(gp.theta[-1]) < 0.05  # ... and it is the floor that binds, not a prior


@pytest.mark.parametrize("option, value", [("features", "paths"), ("ehvi_model", "joint")])
def test_bo_refuses_an_unknown_option_value(option, value):
    from search_spaces.errors import UserError
    with pytest.raises(UserError, match=option):
        build("bo", **{option: value})


def test_the_auto_noise_floor_follows_the_acquisition():
    from search_spaces.errors import UserError
    assert build("bo").min_noise == 0.02
    assert build("bo", objectives=MULTI).min_noise == 0.02  # parego
    assert build("bo", objectives=MULTI, mo_acquisition="ehvi").min_noise == 1e-4
    assert build("bo", min_noise=0.005).min_noise == 0.005
    for bad in ("fast", -1.0):
        with pytest.raises(UserError, match="min_noise"):
            build("bo", min_noise=bad)
