"""Every space option is range-checked by one mechanism (`Space.option_ranges`), so bad
values are a one-line UserError (exit 2), for every registered space."""
import re

import pytest
import yaml

from nas.cli import main
from search_spaces import get_space, list_spaces
from search_spaces.errors import UserError
from search_spaces.space import SPACES


def _int_options(name):
    defaults = SPACES.get(name).default_options()
    return [k for k, v in defaults.items() if isinstance(v, int) and not isinstance(v, bool)]


@pytest.mark.parametrize("name", list_spaces())
@pytest.mark.parametrize("value", [0, -3])
def test_every_count_option_must_be_at_least_1(name, value):
    counts = [k for k in _int_options(name) if k not in SPACES.get(name).option_ranges()]
    assert counts, name
    for key in counts:
        with pytest.raises(UserError, match=f"space {name!r} option {key!r} must be >= 1, "
                                            f"got {value}"):
            get_space(name, **{key: value})


@pytest.mark.parametrize("name", list_spaces())
def test_declared_ranges_and_types(name):
    space = SPACES.get(name)
    for key, allowed in space.option_ranges().items():
        with pytest.raises(UserError, match=re.escape(f"option {key!r} must be "
                                                      f"{allowed.describe()}")):
            get_space(name, **{key: allowed.high if allowed.high_open else allowed.low - 1})
    with pytest.raises(UserError, match="option 'input_size' must be three positive ints"):
        get_space(name, input_size=[3, 0, 32])
    with pytest.raises(UserError, match="option 'num_classes' must be int, got True"):
        get_space(name, num_classes=True)


@pytest.mark.parametrize("option", ["channels=-3", "cells=0", "num_classes=0"])
def test_cli_option_exits_2(capsys, option):
    assert main(["spaces", "describe", "nb201", "--option", option]) == 2
    err = capsys.readouterr().err
    key, value = option.split("=")
    assert f"option {key!r} must be >= 1, got {value}" in err and len(err.splitlines()) == 1


def test_config_option_exits_2_before_a_run_folder(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({
        "name": "bad", "trials": 2, "strategy": "random", "evaluator": "synthetic",
        "space": {"name": "nb201", "options": {"channels": -3}}, "out": str(tmp_path / "r")}))
    assert main(["search", "--config", str(path), "--quiet"]) == 2
    assert "option 'channels' must be >= 1, got -3" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
