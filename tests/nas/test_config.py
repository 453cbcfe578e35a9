import pytest

from nas.run.config import config_from_dict, load_config
from search_spaces.errors import UserError


def test_quickstart_config_loads():
    config = load_config("configs/quickstart.yaml")
    assert config.space.name == "nb201" and config.trials >= 10
    assert [o.direction for o in config.objectives] == ["maximize", "minimize"]


def test_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ntrials: 3\n")
    config = load_config(path, trials=7, strategy="tpe", workers=None)
    assert config.trials == 7 and config.strategy.name == "tpe" and config.workers == 1


@pytest.mark.parametrize("data, message", [
    ({"trails": 3}, "trials"),
    ({"trials": "3"}, "must be int"),
    ({"trials": True}, "must be int"),
    ({"trials": 0}, "at least 1"),
    ({"space": {"name": "nb201", "option": {}}}, "options"),
    ({"objectives": []}, "non-empty"),
    ({"objectives": [{"name": "accuracy", "direction": "up"}]}, "maximize"),
    ({"objectives": ["accuracy", "accuracy"]}, "repeats"),
    (["not", "a", "mapping"], "mapping"),
])
def test_bad_configs(data, message):
    with pytest.raises(UserError, match=message):
        config_from_dict(data)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(bad)
