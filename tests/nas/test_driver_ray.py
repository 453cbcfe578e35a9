"""The Ray driver on one shared embedded Ray: worker loss, timeouts, resources, constraints,
hypervolume history. Each search runs in-process through the CLI."""
import json
import time

import pytest

from nas.cli import main
from nas.run.ray_runtime import ray_session


@pytest.fixture(scope="module")
def ray_cpus():
    with ray_session(2):
        yield 2


def _search(tmp_path, capsys, config: str, *flags):
    path = tmp_path / "c.yaml"
    path.write_text(config)
    capsys.readouterr()
    code = main(["search", "--config", str(path), "--out", str(tmp_path / "run"), "--json",
                 "--quiet", *flags])
    out, err = capsys.readouterr()
    # the CLI keeps Ray's notices off stdout while it runs; this module's shared Ray may
    # print one late, after the summary, so read the summary line itself
    summary = [line for line in out.splitlines() if line.startswith("{")]
    return code, (json.loads(summary[-1]) if code == 0 else None), err


def _records(tmp_path):
    return [json.loads(line) for line in (tmp_path / "run" / "trials.jsonl").read_text()
            .splitlines()]


SYNTHETIC = """
name: ray
trials: {trials}
workers: {workers}
max_retries: {retries}
strategy: random
evaluator: {{name: synthetic, options: {options}}}
"""


def test_lost_worker_is_retried(ray_cpus, tmp_path, capsys):
    options = {"crash": "once", "marker": str(tmp_path / "marker")}
    code, summary, err = _search(tmp_path, capsys, SYNTHETIC.format(
        trials=3, workers=1, retries=2, options=json.dumps(options)))
    assert code == 0, err
    records = _records(tmp_path)
    assert summary["failed"] == 0 and [r["attempts"] for r in records] == [2, 1, 1]
    assert "worker lost" in (tmp_path / "run" / "events.log").read_text()


def test_worker_lost_on_every_attempt_fails_with_the_reason(ray_cpus, tmp_path, capsys):
    code, summary, err = _search(tmp_path, capsys, SYNTHETIC.format(
        trials=1, workers=1, retries=1, options='{crash: always}'))
    assert code == 0, err
    (record,) = _records(tmp_path)
    assert record["metrics"]["status"] == "failed" and record["attempts"] == 2
    assert "worker lost on all 2 attempt(s)" in record["metrics"]["reason"]


def test_trial_timeout_kills_the_trial(ray_cpus, tmp_path, capsys):
    config = SYNTHETIC.format(trials=2, workers=2, retries=2, options="{sleep_s: 120.0}")
    start = time.monotonic()
    code, summary, err = _search(tmp_path, capsys, config + "trial_timeout_s: 1\n")
    assert code == 0, err
    assert time.monotonic() - start < 60 and summary["failed"] == 2
    assert all("timed out after 1s" in r["metrics"]["reason"] for r in _records(tmp_path))


def test_workers_auto_with_fractional_cpus(ray_cpus, tmp_path, capsys):
    config = SYNTHETIC.format(trials=6, workers="auto", retries=0, options="{sleep_s: 0.2}")
    code, summary, err = _search(tmp_path, capsys, config + "resources: {num_cpus: 0.5}\n")
    assert code == 0, err
    assert summary["workers"] == 4 and summary["trials"] == 6


def test_a_trial_no_node_can_hold_is_refused(ray_cpus, tmp_path, capsys):
    config = SYNTHETIC.format(trials=2, workers=1, retries=0, options="{}")
    code, _, err = _search(tmp_path, capsys, config + "resources: {num_gpus: 1}\n")
    assert code == 2 and "needs 1 CPU and 1 GPU but no Ray node has that" in err
    assert not (tmp_path / "run").exists()  # a search that cannot start leaves nothing


CONSTRAINED = """
name: mo
seed: 3
trials: 16
workers: 2
strategy: {name: bo, options: {n_init: 6}}
evaluator: synthetic
objectives: [accuracy, {name: params, direction: minimize}]
constraints: {latency_ms: {max: 1.7}}
"""


def test_constraints_front_and_hypervolume_history(ray_cpus, tmp_path, capsys):
    code, summary, err = _search(tmp_path, capsys, CONSTRAINED, "--progress", "json")
    assert code == 0, err
    records = {r["trial_id"]: r for r in _records(tmp_path)}
    infeasible = [t for t, r in records.items() if r["metrics"]["status"] == "infeasible"]
    assert infeasible and summary["infeasible"] == len(infeasible)
    assert all(records[t]["violations"]["latency_ms"] > 0 for t in infeasible)
    pareto = json.loads((tmp_path / "run" / "pareto.json").read_text())
    assert pareto["front_trial_ids"] and not set(pareto["front_trial_ids"]) & set(infeasible)
    assert pareto["reference_fixed"]
    history = [h for _, h in pareto["hypervolume_history"]]
    assert len(history) == 16 and history == sorted(history) and history[-1] > 0
    assert [records[t]["hypervolume"] for t, _ in pareto["hypervolume_history"][-3:]] == \
        history[-3:]
    capsys.readouterr()
    assert main(["status", str(tmp_path / "run"), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["infeasible"] == len(infeasible) and status["running"] == 0
