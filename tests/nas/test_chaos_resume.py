"""Chaos test of resume through the real CLI on Ray with 2 workers: the driver is killed
(-9, and once Ctrl-C) at seeded random moments and resumed each time, and one Ray worker
is killed mid-trial. Nothing durable changes, no trial id or genotype appears twice, the
target is reached, and the derived files agree with the log at the end."""
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from process_helpers import kill_session
from run_folder_helpers import assert_derived_files_agree, log_records

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
name: chaos
seed: 5
trials: {trials}
workers: 2
strategy: {{name: bo, options: {{n_init: 4}}}}
evaluator: {{name: synthetic, options: {{sleep_s: 0.15, crash: once, marker: {marker}}}}}
objectives: [accuracy, {{name: params, direction: minimize}}]
"""


@pytest.fixture(scope="module")
def cluster():
    """One embedded Ray the driver subprocesses join, so a killed driver loses only
    itself (and starting one costs seconds, not a Ray start)."""
    import ray

    from nas.run.ray_runtime import ray_session

    with ray_session(2):
        yield ray.get_runtime_context().gcs_address


def _durable(run_dir: Path) -> bytes:
    """The log up to its last complete line: what any later writer must keep as it is."""
    path = run_dir / "trials.jsonl"
    data = path.read_bytes() if path.exists() else b""
    return data[:data.rfind(b"\n") + 1]


def _start(args, address):
    return subprocess.Popen([sys.executable, "-m", "nas", "search", *args, "--quiet",
                             "--address", address], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _interrupt_once(proc, run_dir, rng, sig, timeout=120):
    """Let the driver record at least one more trial, wait a random moment, send `sig`."""
    deadline, start = time.monotonic() + timeout, len(_durable(run_dir))
    try:
        while len(_durable(run_dir)) <= start:
            if proc.poll() is not None:  # finished before the signal: nothing to kill
                return False
            assert time.monotonic() < deadline, "the search made no progress"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is not None:
            return False
        proc.send_signal(sig)
        proc.communicate(timeout=60)
        return True
    finally:
        kill_session(proc.pid)


def _chaos(cluster, tmp_path, kills, trials, seed):
    rng = random.Random(seed)
    run_dir = tmp_path / "run"
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(trials=trials, marker=tmp_path / "worker-killed"))
    args, survived, durable = ["--config", str(config), "--out", str(run_dir)], 0, b""
    while survived < kills:
        sig = signal.SIGINT if survived == 1 else signal.SIGKILL  # one Ctrl-C among them
        if not _interrupt_once(_start(args, cluster), run_dir, rng, sig):
            break
        survived += 1
        now = _durable(run_dir)
        assert now.startswith(durable), "a durable record changed"
        durable, args = now, ["--resume", str(run_dir)]
    proc = _start(args, cluster)
    _, err = proc.communicate(timeout=600)
    kill_session(proc.pid)
    assert proc.returncode == 0, err
    assert _durable(run_dir).startswith(durable)
    records = log_records(run_dir)
    ids = [r["trial_id"] for r in records]
    assert sorted(ids) == list(range(trials))  # the target, no id twice
    measured = [r["key"] for r in records if not r.get("cached")]
    assert len(set(measured)) == len(measured)  # bo never measures a genotype twice
    lost = [line for line in (run_dir / "events.log").read_text().splitlines()
            if "worker lost" in line]
    assert (tmp_path / "worker-killed").exists() and len(lost) == 1  # killed, then retried
    assert_derived_files_agree(run_dir)
    return survived


def test_three_interruptions_and_a_lost_worker_resume_exactly(cluster, tmp_path):
    assert _chaos(cluster, tmp_path, kills=3, trials=12, seed=0) == 3


@pytest.mark.slow
def test_twenty_kills_resume_exactly(cluster, tmp_path):
    assert _chaos(cluster, tmp_path, kills=20, trials=60, seed=1) == 20
