"""The run-folder reader used by export and the dashboard agrees with `nas search`."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nas.pareto.constraints import Constraint
from nas.run.config import config_from_dict
from nas.store.runinfo import read_run_info
from nas.store.trial_log import RunStore
from search_spaces.errors import UserError

SEARCH_CONFIG = {
    "name": "mo", "space": {"name": "nb201", "options": {"channels": 8}},
    "objectives": [{"name": "accuracy"}, {"name": "params", "direction": "minimize"}],
    "constraints": {"params": {"max": "2.0e6"}, "latency_ms": {"min": 0.5, "max": 5}},
}


def _run(tmp_path, config):
    return RunStore.create(tmp_path / "run", config).dir


def test_a_stored_search_config_reads_back_the_same(tmp_path):
    search = config_from_dict(SEARCH_CONFIG)
    info = read_run_info(_run(tmp_path, search.to_dict()))
    assert info.name == "mo"
    assert (info.space, info.space_options) == ("nb201", {"channels": 8})
    assert info.objectives == (("accuracy", "maximize"), ("params", "minimize"))
    assert info.constraints == search.constraints
    assert info.constraints[0] == Constraint("params", None, 2.0e6)  # YAML 1.1 "2.0e6"


def test_the_same_parsers_take_the_hand_written_form(tmp_path):
    info = read_run_info(_run(tmp_path, {**SEARCH_CONFIG, "a_key_from_a_newer_version": 1}))
    assert info.constraints == config_from_dict(SEARCH_CONFIG).constraints


def test_defaults_match_the_search_defaults(tmp_path):
    info = read_run_info(_run(tmp_path, {}))
    defaults = config_from_dict({})
    assert info.space == defaults.space.name
    assert info.objectives == tuple((o.name, o.direction) for o in defaults.objectives)
    assert info.constraints == ()


@pytest.mark.parametrize("bad, message", [
    ({"constraints": [{"name": "params", "max": 5}]}, "must map metric names"),
    ({"constraints": {"params": {"max": "lots"}}}, "must be a finite number"),
    ({"objectives": [{"name": "acc", "direction": "up"}]}, "direction"),
    ({"space": {"options": {}}}, "'space' must be a name"),
])
def test_a_bad_field_names_the_file_and_the_problem(tmp_path, bad, message):
    run = _run(tmp_path, bad)
    with pytest.raises(UserError, match=message) as err:
        read_run_info(run)
    assert str(run / "config.yaml") in str(err.value)


def test_violation_and_ok_work_on_numbers_and_arrays_alike():
    c = Constraint("latency_ms", 0.5, 5.0)
    values = np.array([np.nan, 0.4, 0.5, 3.0, 5.0, 5.1, np.inf])
    expected = [np.inf, 0.1, 0.0, -2.0, 0.0, 0.1, np.inf]
    np.testing.assert_allclose(c.violation(values), expected)
    assert [c.violation(float(v)) for v in values] == pytest.approx(expected)
    assert c.ok(values).tolist() == [False, False, True, True, True, False, False]
    assert c.ok(3.0) is True and isinstance(c.violation(3.0), float)


def test_reading_a_run_does_not_import_torch():
    code = "import sys, nas.store.runinfo, nas.run.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
