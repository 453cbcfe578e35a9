"""One hypervolume per run: `nas status`, pareto.json, the dashboard and
`nas export --pareto` report the same value against the same stored reference."""
import json

import pytest

from nas.cli import main
from nas.run.config import config_from_dict
from nas.dashboard import create_app
from nas.export import export_run
from nas.pareto.reference import REFERENCE_AFTER, REFERENCE_FILE

from inline_helpers import run_inline

MIN = "minimize"


def _search(run_dir, objectives, constraints=None, trials=3 * REFERENCE_AFTER):
    data = {"name": "hv", "seed": 3, "trials": trials, "strategy": "random",
            "space": {"name": "nb201", "options": {"channels": 4, "cells": 1,
                                                   "input_size": [1, 8, 8]}},
            "evaluator": {"name": "synthetic", "options": {"seed": 2}},
            "objectives": objectives}
    if constraints:
        data["constraints"] = constraints
    run_inline(config_from_dict(data), run_dir)
    return run_dir


def _four(run, capsys, export=True):
    assert main(["status", str(run), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    pareto = json.loads((run / "pareto.json").read_text())
    dashboard = create_app(run).test_client().get("/api/history").get_json()
    values = {"status": status["hypervolume"], "pareto.json": pareto["hypervolume"],
              "dashboard": dashboard["hv"]}
    references = [status["reference"], pareto["reference"], dashboard["reference"]]
    if export:
        exported = export_run(run, "json", pareto=True, out=run.parent / "exports")
        index = json.loads(open(exported["index"]).read())
        values["export --pareto"] = index["hypervolume"]
        references.append(index["reference"])
    return values, references


@pytest.mark.parametrize("objectives, constraints", [
    (["accuracy", {"name": "params", "direction": MIN}], {"latency_ms": {"max": 2.0}}),
    (["accuracy", {"name": "params", "direction": MIN},
      {"name": "latency_ms", "direction": MIN}], None),
])
def test_status_pareto_dashboard_and_export_agree(tmp_path, capsys, objectives, constraints):
    run = _search(tmp_path / "run", objectives, constraints)
    stored = json.loads((run / REFERENCE_FILE).read_text())
    assert stored["source"] == f"derived from the first {REFERENCE_AFTER} feasible trials"
    values, references = _four(run, capsys)
    assert values["status"] > 0
    assert all(v == pytest.approx(values["status"], rel=1e-12) for v in values.values()), values
    assert all(r == pytest.approx(stored["reference"], rel=1e-12) for r in references)
    (run / REFERENCE_FILE).unlink()  # a run folder from before the reference was stored
    old, old_refs = _four(run, capsys, export=False)
    assert old == pytest.approx({k: values[k] for k in old}, rel=1e-12)
    assert all(r == pytest.approx(stored["reference"], rel=1e-12) for r in old_refs)
