"""The user's own space and evaluator, living only in a temporary folder (not on the
nodes' PYTHONPATH), searched on a real two-node `ray start` cluster: `--address` ships the
config file's folder to every worker as Ray's working_dir, without its results/ folder."""
import json
import subprocess
import sys
from collections import Counter

import pytest
import yaml
from test_cluster import ROOT, _stop, start_two_nodes, token_env

from tests.user_code_helpers import write_user_module

CONFIG = {"name": "own_cluster", "trials": 6, "workers": 2, "strategy": "random",
          "space": {"name": "my_problem:TinyConvNet"},
          "evaluator": {"name": "my_problem:cluster_evaluate", "options": {"sleep_s": 1.0}},
          "objectives": [{"name": "accuracy", "direction": "maximize"}]}


@pytest.mark.slow
def test_user_code_reaches_both_nodes_of_a_cluster(tmp_path):
    project = tmp_path / "project"
    write_user_module(project)
    (project / "search.yaml").write_text(yaml.safe_dump(CONFIG))
    (project / "results" / "old_run").mkdir(parents=True)
    (project / "results" / "old_run" / "big.bin").write_bytes(b"\0" * 1_000_000)
    env = token_env(tmp_path)
    address, nodes = start_two_nodes(env)
    try:
        done = subprocess.run([sys.executable, "-m", "nas", "search", "--config",
                               str(project / "search.yaml"), "--address", address, "--out",
                               str(project / "results" / "run"), "--quiet", "--json"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        records = [json.loads(line) for line in
                   (project / "results" / "run" / "trials.jsonl").read_text().splitlines()]
        per_node = Counter(r["worker"]["node"][:8] for r in records)
        print(f"trials per node: {dict(per_node)}")
        assert json.loads(done.stdout)["trials"] == 6 and len(per_node) == 2
        assert all(r["metrics"]["status"] == "complete" for r in records), records
        assert {r["metrics"]["objectives"]["results_shipped"] for r in records} == {0.0}
    finally:
        for proc in reversed(nodes):
            _stop(proc)
