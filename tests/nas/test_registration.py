"""`nas.register_*` and the config forms `nas.search` takes, without running a search:
registered components are found by name, sent with every task, and a SearchConfig, a
mapping and a YAML file give the same validated config."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

import nas
from nas.run.code_shipping import UserCode, user_code
from nas.run.config import config_from_dict
from nas.run.search import as_config
from nas.run.worker import user_registrations
from nas.strategies import make_strategy
from nas.strategies.random import RandomSearch
from search_spaces import get_space
from search_spaces.errors import UserError
from trainers.evaluators import make_evaluator


def test_a_registered_proxy_scores_a_ladder_rung_and_is_sent_to_workers():
    @nas.register_proxy("test_user_width", data_free=True)
    def width(model, batch, seed=0):
        return float(sum(p.numel() for p in model.parameters()))

    space = get_space("nb201", channels=8, cells=1, input_size=(1, 8, 8))
    ladder = make_evaluator("ladder", {"rungs": [
        {"kind": "proxy", "name": "test_user_width", "keep": 1.0, "batch_size": 2}],
        "reference": 0})
    metrics = ladder(space, space.sample(np.random.default_rng(0)))
    assert metrics.ok and metrics.rungs["1.test_user_width"] == metrics.cost["params"]
    assert user_registrations()["proxy"]["test_user_width"].score is width
    with pytest.raises(UserError, match="'synflow' is built in"):
        nas.register_proxy("synflow")(width)


def test_a_registered_strategy_is_made_by_name():
    @nas.register_strategy("test_user_random")
    class Mine(RandomSearch):
        pass

    space = get_space("nb201")
    strategy = make_strategy("test_user_random", space, as_config({}).objectives, seed=3)
    assert isinstance(strategy, Mine) and strategy.ask().space == "nb201"


def test_a_search_config_a_mapping_and_a_yaml_file_give_the_same_config(tmp_path):
    data = {"name": "same", "trials": 4, "strategy": "random",
            "evaluator": {"name": "my_mod:evaluate", "options": {"lr": 0.1}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    from_file = as_config(tmp_path / "c.yaml", {"trials": 6})
    from_dict = as_config(data, {"trials": 6})
    from_config = as_config(config_from_dict(data), {"trials": 6})
    assert from_dict == from_config and from_dict.trials == 6
    assert from_file.workdir == str(tmp_path) and from_dict.workdir is None
    assert from_file.to_dict() == {**from_dict.to_dict(), "workdir": str(tmp_path)}
    with pytest.raises(UserError, match="a YAML path, a mapping or a SearchConfig"):
        as_config(3)


def test_what_a_cluster_is_sent(tmp_path):
    builtin = {"space": {"name": "nb201"}, "evaluator": {"name": "train"}}
    assert user_code(builtin) is None
    rung = {"evaluator": {"name": "ladder", "options": {"rungs": [
        {"kind": "evaluator", "name": "my_mod:evaluate"}]}}, "workdir": str(tmp_path)}
    code = user_code(rung)
    run_dir = tmp_path / "results" / "run"
    env = code.runtime_env(run_dir)
    assert env["working_dir"] == str(tmp_path) and "/results/run/" in env["excludes"]
    assert {".git/", "results/"} <= set(env["excludes"]) and "py_modules" not in env
    (tmp_path / "my_mod.py").write_text("")
    listed = user_code({**rung, "workdir": None, "code": [str(tmp_path / "my_mod.py")]})
    assert listed == UserCode(None, (str(tmp_path / "my_mod.py"),))
    assert listed.runtime_env() == {"py_modules": [str(tmp_path / "my_mod.py")]}
    assert listed.import_paths() == [str(tmp_path)]
    with pytest.raises(UserError, match="'code' entry .* does not exist"):
        user_code({**rung, "code": [str(tmp_path / "gone.py")]})
