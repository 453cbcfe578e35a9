"""`ray job submit` and Ray Client (`--address ray://`) against a real head on this machine.

Both need Ray's optional extras (`pip install "ray[default]"`: the dashboard's job server
and the client server), which are not project dependencies: skipped without them. The
head is a `ray start --block` process in a session of its own, stopped as in
test_cluster.py (never `ray stop`, which would stop other people's Rays too).
"""
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_helpers import free_port
from test_cluster import CONFIG, RAY, ROOT, _stop

pytestmark = pytest.mark.slow


def _head(env, gcs: int, dashboard: int, client: int) -> subprocess.Popen:
    return subprocess.Popen([*RAY, "start", "--head", "--port", str(gcs), "--num-cpus", "2",
                             "--include-dashboard=true", "--dashboard-port", str(dashboard),
                             "--ray-client-server-port", str(client),
                             "--dashboard-agent-listen-port", str(free_port()),
                             "--disable-usage-stats", "--block"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_for_jobs_api(url: str, head: subprocess.Popen) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/version", timeout=2)
            return
        except urllib.error.HTTPError:  # it answers (token auth may refuse the anonymous call)
            return
        except Exception:
            assert time.monotonic() < deadline and head.poll() is None, "head never came up"
            time.sleep(1)


def _trials(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "trials.jsonl").read_text().splitlines()]


def test_job_submit_and_ray_client_run_a_search(tmp_path):
    pytest.importorskip("aiohttp", reason='ray job submit needs pip install "ray[default]"')
    pytest.importorskip("grpc", reason='Ray Client needs pip install "ray[client]"')
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
           "PYTHONPATH": str(ROOT)}
    gcs, dashboard, client = free_port(), free_port(), free_port()
    (tmp_path / "c.yaml").write_text(CONFIG)
    head = _head(env, gcs, dashboard, client)
    try:
        _wait_for_jobs_api(f"http://127.0.0.1:{dashboard}", head)
        job = subprocess.run(
            [*RAY, "job", "submit", "--address", f"http://127.0.0.1:{dashboard}", "--",
             sys.executable, "-m", "nas.cli", "search", "--config", str(tmp_path / "c.yaml"),
             "--address", "auto", "--out", str(tmp_path / "job-run"), "--quiet"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert job.returncode == 0, job.stdout[-2000:] + job.stderr[-2000:]
        via_client = subprocess.run(
            [sys.executable, "-m", "nas.cli", "search", "--config", str(tmp_path / "c.yaml"),
             "--address", f"ray://127.0.0.1:{client}", "--out", str(tmp_path / "client-run"),
             "--quiet", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=300)
        assert via_client.returncode == 0, via_client.stderr[-2000:]
        assert json.loads(via_client.stdout)["trials"] == 6
        for run in ("job-run", "client-run"):
            records = _trials(tmp_path / run)
            assert len(records) == 6
            assert all(r["metrics"]["status"] == "complete" for r in records)
    finally:
        _stop(head)
