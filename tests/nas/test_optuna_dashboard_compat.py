"""The run folder's study.db opens in optuna-dashboard (served in a subprocess).

Slow (starts a server): run with `pytest -m slow tests/nas`. Skipped when
optuna-dashboard is not installed (`pip install optuna-dashboard`).
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from nas.dashboard.synthetic import make_synthetic_run
from nas.store.optuna_mirror import mirror_to_optuna
from nas.store.trial_log import RunStore
from nas.strategies.base import Objective
from search_spaces import get_space

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_study_db_opens_in_optuna_dashboard(tmp_path):
    exe = shutil.which("optuna-dashboard")
    if exe is None:
        pytest.skip("optuna-dashboard is not installed")
    run = make_synthetic_run(tmp_path / "run", n=40, seed=4)
    records = RunStore(run).trials()
    objectives = [Objective("accuracy", "maximize"), Objective("params", "minimize")]
    space = get_space("nb201", channels=16, cells=1, input_size=(1, 8, 8))
    assert mirror_to_optuna(run, "run", records, objectives, space) == 40
    port = _port()
    proc = subprocess.Popen([exe, f"sqlite:///{run / 'study.db'}", "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                status, page = _get(base + "/")  # redirects to /dashboard
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200 and b"<html" in page.lower()
        studies = json.loads(_get(base + "/api/studies")[1])["study_summaries"]
        assert [(s["study_name"], s["directions"]) for s in studies] == [
            ("run", ["maximize", "minimize"])]
        study = json.loads(_get(f"{base}/api/studies/{studies[0]['study_id']}?after=0")[1])
        assert len(study["trials"]) == 40
        assert study["objective_names"] == ["accuracy", "params"]
        assert len(study["best_trials"]) >= 2  # the Pareto front
    finally:
        proc.terminate()
        proc.wait(timeout=30)
