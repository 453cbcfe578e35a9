"""Every registered strategy: exact resume with several trials in flight, replay from
asks/tells alone, outside observations, constraints; de-duplication for ours."""
import numpy as np
import pytest
from strategy_helpers import MULTI, SINGLE, build, drive, json_roundtrip, synthetic

from nas.pareto.constraints import Constraint
from nas.strategies import list_strategies
from search_spaces import get_space, list_spaces
from search_spaces.errors import UserError

# Optuna's GP sampler costs ~1 s per ask here: keep its runs short
STEPS = {"gp": 13}


@pytest.mark.parametrize("name", list_strategies())
def test_resume_with_trials_in_flight_is_exact(name):
    """Snapshot (through JSON) with 3 trials in flight, load it into a fresh strategy:
    the rest of the run asks exactly what an uninterrupted run asks."""
    n = STEPS.get(name, 24)
    constraints = (Constraint("latency_ms", max=1.6),)
    straight = build(name, MULTI, seed=5, constraints=constraints)
    expected, _ = drive(straight, n, batch=3)
    first = build(name, MULTI, seed=5, constraints=constraints)
    head, queue = drive(first, n - 6, batch=3)
    resumed = build(name, MULTI, seed=5, constraints=constraints)
    resumed.load_state_dict(json_roundtrip(first.state_dict()))
    tail, _ = drive(resumed, 6, batch=3, queue=queue)
    assert head + tail == expected


@pytest.mark.parametrize("model, gps", [("shared", {"objectives"}),
                                         ("separate", {"objective:accuracy",
                                                       "objective:params"})])
def test_bo_ehvi_resumes_exactly_with_trials_in_flight(model, gps):
    """EHVI keeps one GP for the objectives, or one per objective (their warm-started
    hyperparameters are state), and puts in-flight genotypes on the front at their
    posterior means."""
    constraints = (Constraint("latency_ms", max=1.6),)
    options = {"mo_acquisition": "ehvi", "ehvi_model": model}
    straight = build("bo", MULTI, seed=5, constraints=constraints, **options)
    expected, _ = drive(straight, 24, batch=3)
    assert gps | {"constraint:latency_ms"} == set(straight.thetas)
    first = build("bo", MULTI, seed=5, constraints=constraints, **options)
    head, queue = drive(first, 18, batch=3)
    resumed = build("bo", MULTI, seed=5, constraints=constraints, **options)
    resumed.load_state_dict(json_roundtrip(first.state_dict()))
    tail, _ = drive(resumed, 6, batch=3, queue=queue)
    assert head + tail == expected


@pytest.mark.parametrize("name", list_strategies())
def test_replaying_asks_and_tells_rebuilds_the_strategy(name):
    """The driver's resume: a fresh strategy fed the same asks and tells asks the same."""
    n = STEPS.get(name, 20)
    original = build(name, SINGLE, seed=2)
    asked, _ = drive(original, n, batch=2)
    replayed = build(name, SINGLE, seed=2)
    again, _ = drive(replayed, n, batch=2)
    assert again == asked
    assert original.ask().key == replayed.ask().key


@pytest.mark.parametrize("name", list_strategies())
def test_tell_of_a_genotype_never_asked(name):
    """Outside observations (a diverged replay, a warm start) are accepted."""
    space, evaluator = synthetic()
    strategy = build(name, SINGLE)
    genotype = space.sample(np.random.default_rng(99))
    strategy.tell(genotype, evaluator(space, genotype))
    asked = strategy.ask()
    strategy.tell(asked, evaluator(space, asked))


@pytest.mark.parametrize("name", ["bo", "rea", "local"])
def test_ours_never_ask_a_genotype_twice(name):
    asked, _ = drive(build(name, SINGLE, seed=1), 60, batch=4)
    assert len(set(asked)) == len(asked)


@pytest.mark.parametrize("name", ["bo", "rea", "local"])
def test_ours_never_ask_the_same_function_twice(name):
    """NB201 genotypes that differ only in dead edges, skip chains or the order of a sum
    compute one function (`Space.function_key`): one of them is trained, not several."""
    space, _ = synthetic()
    asked, _ = drive(build(name, SINGLE, seed=2), 80, batch=4)
    functions = [space.function_key(g) for g in asked]
    assert len(set(functions)) == len(functions)


def test_bo_asks_pruned_genotypes():
    """bo never spends cost on an op that cannot affect the output."""
    space, evaluator = synthetic()
    strategy = build("bo", MULTI, seed=0)
    for _ in range(25):
        genotype = strategy.ask()
        assert space.prune(genotype) == genotype
        strategy.tell(genotype, evaluator(space, genotype))


@pytest.mark.parametrize("acquisition", ["parego", "ehvi"])
def test_bo_multi_objective_finds_a_spread_front(acquisition):
    from nas.pareto.fronts import pareto_mask, to_minimisation

    space, evaluator = synthetic()
    sizes = []
    for seed in range(3):  # one seed can be unlucky; the typical run spreads out
        strategy = build("bo", MULTI, seed=seed, mo_acquisition=acquisition)
        points = []
        for _ in range(30):
            genotype = strategy.ask()
            metrics = evaluator(space, genotype)
            strategy.tell(genotype, metrics)
            points.append([metrics.value("accuracy"), metrics.value("params")])
        sizes.append(pareto_mask(to_minimisation(points, ["maximize", "minimize"])).sum())
    assert np.median(sizes) >= 3, sizes


@pytest.mark.parametrize("name", ["bo", "tpe", "nsga2"])
def test_constraints_steer_the_search_to_feasible_genotypes(name):
    """With `latency_ms <= 1.5` (about a third of random genotypes meet it), a
    constraint-aware strategy asks mostly feasible genotypes once it has learned."""
    space, evaluator = synthetic()
    constraint = Constraint("latency_ms", max=1.5)

    def feasible_share(strategy, n=50, last=20):
        flags = []
        for _ in range(n):
            genotype = strategy.ask()
            metrics = evaluator(space, genotype)
            strategy.tell(genotype, metrics)
            flags.append(constraint.violation(metrics.value("latency_ms")) <= 0)
        return sum(flags[-last:]) / last

    aware = feasible_share(build(name, SINGLE, seed=0, constraints=(constraint,)))
    blind = feasible_share(build("random", SINGLE, seed=0))
    assert aware >= blind + 0.2, (aware, blind)


def test_optuna_strategies_pass_constraints_to_the_sampler():
    space, evaluator = synthetic()
    strategy = build("nsga2", MULTI, constraints=(Constraint("latency_ms", max=1.0),))
    genotype = strategy.ask()
    strategy.tell(genotype, evaluator(space, genotype))
    trial = strategy._study.get_trials(deepcopy=False)[0]
    expected = evaluator(space, genotype).value("latency_ms") - 1.0
    assert trial.constraints == pytest.approx({"latency_ms": expected})


@pytest.mark.parametrize("space_name", list_spaces())
@pytest.mark.parametrize("name", ["bo", "rea", "local"])
def test_ours_work_on_every_space(space_name, name):
    from nas.strategies import make_strategy
    from trainers.evaluators import make_evaluator

    space, evaluator = get_space(space_name), make_evaluator("synthetic", {})
    options = {"bo": {"n_init": 4}, "rea": {"population": 4}, "local": {"n_init": 4}}[name]
    strategy = make_strategy(name, space, SINGLE, 0, options)
    keys = []
    for _ in range(12):
        genotype = space.validate(strategy.ask())
        strategy.tell(genotype, evaluator(space, genotype))
        keys.append(genotype.key)
    assert len(set(keys)) == 12


@pytest.mark.parametrize("name, option", [("bo", "n_init"), ("rea", "population"),
                                          ("rea", "sample"), ("local", "tries")])
def test_bad_strategy_options(name, option):
    with pytest.raises(UserError, match=f"option '{option}' of strategy '{name}' must be at"):
        build(name, SINGLE, **{option: 0})


def test_unknown_bo_acquisition_lists_the_known_ones():
    with pytest.raises(UserError, match="parego.*ehvi|ehvi.*parego"):
        build("bo", MULTI, mo_acquisition="ehvii")


def _still_pending(state):
    """Asks a strategy state still waits for: History pending lists, RUNNING Optuna trials."""
    if isinstance(state, dict):
        found = list(state.get("history", {}).get("pending", [])) \
            if isinstance(state.get("history"), dict) else []
        found += [t for t in state.get("trials", []) if t.get("state") == "RUNNING"]
        return found + _still_pending(state.get("inner"))
    return []


@pytest.mark.parametrize("name", list_strategies())
def test_a_withdrawn_ask_is_no_longer_pending(name):
    """`cancel` (the driver's withdrawal of an ask already in flight) leaves nothing pending
    once the other asks are told, and survives a state_dict round trip."""
    space, evaluator = synthetic()
    strategy = build(name, MULTI, seed=3)
    drive(strategy, 4)
    kept, withdrawn = strategy.ask(), strategy.ask()
    # these keep no per-ask state (spos asks through spos_evolution by default)
    assert _still_pending(strategy.state_dict()) or name in ("random", "dnas", "spos",
                                                              "spos_evolution")
    strategy.cancel(withdrawn)
    strategy.tell(kept, evaluator(space, kept))
    state = json_roundtrip(strategy.state_dict())
    assert _still_pending(state) == []
    resumed = build(name, MULTI, seed=3)
    resumed.load_state_dict(state)
    assert drive(resumed, 3)[0] == drive(strategy, 3)[0]  # and both go on alike
