"""A real two-node Ray cluster on this machine (token auth on), searched with --address;
without the token, --address fails within seconds naming the variables to set.

The nodes are `ray start --block` processes in sessions of their own: teardown stops
exactly them (SIGTERM makes `ray start --block` stop its node's processes, then anything
left in those sessions is killed). `ray stop --force` is not used: it kills every Ray
process of the user on the machine, including other people's searches.
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_helpers import free_port, kill_session

from nas.cli import main

ROOT = Path(__file__).resolve().parents[2]
RAY = [sys.executable, "-m", "ray.scripts.scripts"]

CONFIG = """
name: cluster
trials: 6
workers: 2
strategy: random
evaluator: {name: synthetic, options: {sleep_s: 1.0}}
"""

WAIT_FOR_NODES = """
import sys, time, ray
ray.init(address=sys.argv[1], logging_level="ERROR")
deadline = time.time() + 120
while sum(n["Alive"] for n in ray.nodes()) < 2:
    assert time.time() < deadline, "the second node never joined"
    time.sleep(0.5)
"""


def _node(env, *args):
    return subprocess.Popen([*RAY, "start", *args, "--num-cpus", "1", "--disable-usage-stats",
                             "--dashboard-agent-listen-port", str(free_port()), "--block"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    kill_session(proc.pid)


def token_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a token-authenticated cluster's nodes and clients."""
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
            "PYTHONPATH": str(ROOT)}


def start_head(env: dict[str, str]) -> tuple[str, subprocess.Popen]:
    """A head node, 1 CPU, once it answers; returns (address, node): stop it with
    `_stop`, even when this raises."""
    from nas.run.ray_runtime import _check_reachable

    port = free_port()
    address = f"127.0.0.1:{port}"
    head = _node(env, "--head", "--port", str(port), "--include-dashboard=false")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _check_reachable(address, timeout=2)
                return address, head
            except Exception:
                assert time.monotonic() < deadline and head.poll() is None
                time.sleep(1)
    except BaseException:
        _stop(head)
        raise


def start_two_nodes(env: dict[str, str]) -> tuple[str, list[subprocess.Popen]]:
    """A head and a second node (resource "node2"), 1 CPU each; returns (address, nodes):
    stop the nodes with `_stop`, the last first, even when this raises."""
    address, head = start_head(env)
    nodes = [head]
    try:
        nodes.append(_node(env, "--address", address, "--resources", '{"node2": 1}'))
        subprocess.run([sys.executable, "-c", WAIT_FOR_NODES, address], env=env, check=True,
                       timeout=180)
    except BaseException:
        for proc in reversed(nodes):
            _stop(proc)
        raise
    return address, nodes


def test_a_token_cluster_without_its_token_fails_fast_naming_the_variables(
        tmp_path, capfd, monkeypatch):
    (tmp_path / "c.yaml").write_text(CONFIG)
    env = token_env(tmp_path)
    address, head = start_head(env)
    try:
        for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
            monkeypatch.delenv(name, raising=False)
        capfd.readouterr()
        start = time.monotonic()
        assert main(["search", "--config", str(tmp_path / "c.yaml"), "--address", address,
                     "--out", str(tmp_path / "run")]) == 2
        assert time.monotonic() - start < 5
        err = capfd.readouterr().err
        assert err.count("\n") == 1 and "InvalidAuthToken" not in err  # one line
        assert all(v in err for v in ("RAY_AUTH_MODE=token", "RAY_AUTH_TOKEN",
                                      "RAY_AUTH_TOKEN_PATH")), err
        wrong = {**env, "RAY_AUTH_TOKEN": "0" * 64}  # the token of another cluster
        wrong.pop("RAY_AUTH_TOKEN_PATH")
        done = subprocess.run([sys.executable, "-m", "nas", "search", "--config",
                               str(tmp_path / "c.yaml"), "--address", address, "--out",
                               str(tmp_path / "run")], cwd=ROOT, env=wrong,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "refused this token" in done.stderr, done.stderr
        assert not (tmp_path / "run").exists()
    finally:
        _stop(head)


@pytest.mark.slow
def test_search_runs_trials_on_both_nodes(tmp_path):
    env = token_env(tmp_path)
    address, nodes = start_two_nodes(env)
    try:
        (tmp_path / "c.yaml").write_text(CONFIG)
        done = subprocess.run([sys.executable, "-m", "nas.cli", "search", "--config",
                               str(tmp_path / "c.yaml"), "--address", address, "--out",
                               str(tmp_path / "run"), "--quiet", "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["trials"] == 6
        records = [json.loads(line) for line in (tmp_path / "run" / "trials.jsonl")
                   .read_text().splitlines()]
        assert len({r["worker"]["node"] for r in records}) == 2
        assert all(r["metrics"]["status"] == "complete" for r in records)
    finally:
        for proc in reversed(nodes):
            _stop(proc)
