"""The embedded Ray cluster of `nas search` dies with its driver, however the driver ends:
a real search is ended by kill -9, an exception, SIGTERM or SIGINT, and within 10 s no
process of its cluster is left (the PIDs it recorded at start, and anything holding a
file in its session folder). SIGTERM and SIGINT end it with exit 130, one line on stderr,
and a run that resumes."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from nas.cli import main
from nas.run.ray_lifetime import (OWNER_VAR, RECORD_NAME, cluster_processes, kill_cluster,
                                  reap_dead_drivers)
from process_helpers import as_in_a_terminal, kill_session

ROOT = Path(__file__).resolve().parents[2]
RAY_TEMP = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray"
GONE_WITHIN_S = 10
CONFIG = """
name: lifetime
seed: 3
trials: 10000
workers: 2
strategy: random
evaluator: {name: synthetic, options: {sleep_s: 0.3}}
"""
# `nas search` whose driver fails once it has written its first trial (the disk is full)
FAILING_DRIVER = """
import sys
from nas.cli import main
from nas.store.trial_log import RunStore
append = RunStore.append_trials
def append_then_fail(self, records):
    append(self, records)
    raise OSError(28, "No space left on device")
RunStore.append_trials = append_then_fail
sys.exit(main(sys.argv[1:]))
"""


def _start(tmp_path: Path, failing: bool = False,
           resume: bool = False) -> tuple[subprocess.Popen, Path]:
    (tmp_path / "c.yaml").write_text(CONFIG)
    run = tmp_path / "run"
    head = ["-c", FAILING_DRIVER] if failing else ["-m", "nas"]
    what = ["--resume", str(run)] if resume else ["--config", str(tmp_path / "c.yaml"),
                                                  "--out", str(run)]
    proc = subprocess.Popen([sys.executable, *head, "search", *what, "--quiet"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            start_new_session=True, preexec_fn=as_in_a_terminal,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, run


def _finished(run: Path) -> int:
    path = run / "trials.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


def _record(proc: subprocess.Popen, run: Path, trials: int = 1) -> dict:
    """The driver's cluster record, once `trials` trials are recorded."""
    deadline, record = time.monotonic() + 120, None
    while record is None or _finished(run) < trials:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the search made no progress"
        for path in RAY_TEMP.glob(f"session_*/{RECORD_NAME}"):
            try:
                found = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if found["driver_pid"] == proc.pid:
                record = found
        time.sleep(0.1)
    return record


def _left(record: dict) -> list[str]:
    """Processes of the recorded cluster still alive (recorded PIDs, session folder)."""
    left = []
    for pid, info in record["pids"].items():
        try:
            proc = psutil.Process(int(pid))
            if (abs(proc.create_time() - info["started"]) < 0.01
                    and proc.status() != psutil.STATUS_ZOMBIE):
                left.append(f"{pid} {info['name']}")
        except psutil.Error:
            continue
    left += [f"{p.pid} (in the session folder)"
             for p in cluster_processes(record["tag"], record["session_dir"])]
    return left


def _assert_gone(record: dict) -> None:
    deadline = time.monotonic() + GONE_WITHIN_S
    while _left(record):
        assert time.monotonic() < deadline, f"still alive: {_left(record)}"
        time.sleep(0.2)


@pytest.fixture
def cleanup():
    """Kill whatever a test's driver left (session members, its cluster), pass or fail."""
    started: list[tuple[subprocess.Popen, dict | None]] = []
    yield started
    for proc, record in started:
        if proc.poll() is None:
            proc.kill()
        kill_session(proc.pid)
        if record:
            kill_cluster(record["tag"], record["session_dir"], wait_s=2)


def test_kill_9_of_the_driver_leaves_no_process(tmp_path, cleanup):
    proc, run = _start(tmp_path)
    cleanup.append((proc, None))
    record = _record(proc, run)
    cleanup.append((proc, record))
    assert len(record["pids"]) >= 5  # gcs, raylet, agents, workers, ...
    os.kill(proc.pid, signal.SIGKILL)  # what the OOM killer does too
    proc.wait(timeout=30)
    _assert_gone(record)


def test_an_exception_in_the_driver_leaves_no_process(tmp_path, cleanup):
    proc, run = _start(tmp_path, failing=True)
    cleanup.append((proc, None))
    record = _record(proc, run, trials=0)  # it fails after the first
    cleanup.append((proc, record))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "No space left on device" in err
    _assert_gone(record)


@pytest.fixture(scope="module")
def in_process_ray():
    from nas.run.ray_runtime import ray_session

    with ray_session(2):
        yield


@pytest.mark.parametrize("signum", [signal.SIGTERM,
                                    pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_sigterm_and_sigint_exit_130_with_one_line_and_the_run_resumes(
        signum, tmp_path, cleanup, in_process_ray):
    proc, run = _start(tmp_path)
    cleanup.append((proc, None))
    record = _record(proc, run)
    cleanup.append((proc, record))
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["nas search: interrupted"]
    _assert_gone(record)
    done = _finished(run)
    assert main(["search", "--resume", str(run), "--trials", str(done + 2), "--quiet"]) == 0
    assert _finished(run) == done + 2


@pytest.mark.slow
def test_kill_9_five_times_in_a_row_leaves_nothing_and_the_run_goes_on(tmp_path, cleanup):
    for attempt in range(5):
        proc, run = _start(tmp_path, resume=attempt > 0)
        cleanup.append((proc, None))
        record = _record(proc, run, trials=_finished(run) + 1)
        cleanup.append((proc, record))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _assert_gone(record)
    keys = [json.loads(line)["key"] for line in (run / "trials.jsonl").read_text().splitlines()
            if line.endswith("}")]
    assert len(keys) >= 5 and len(set(keys)) == len(keys)  # none lost, none repeated


@pytest.mark.slow  # the next start of a real search: reap_dead_drivers, below
def test_the_next_start_reaps_what_a_dead_drivers_cluster_left(tmp_path, cleanup):
    proc, run = _start(tmp_path)
    cleanup.append((proc, None))
    record = _record(proc, run, trials=1)
    cleanup.append((proc, record))
    os.kill(record["watchdog_pid"], signal.SIGKILL)  # nothing cleans up at the driver's end
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert (Path(record["session_dir"]) / RECORD_NAME).exists()
    reap_dead_drivers(RAY_TEMP)
    assert not _left(record)
    assert not (Path(record["session_dir"]) / RECORD_NAME).exists()


def _tagged_sleeper(tag: str) -> subprocess.Popen:
    return subprocess.Popen(["sleep", "60"], env={**os.environ, OWNER_VAR: tag})


def test_reaping_spares_clusters_of_live_drivers(tmp_path):
    ended = subprocess.Popen(["true"])
    ended.wait()
    sessions = {"live": (os.getpid(), psutil.Process().create_time()),
                "dead": (ended.pid, time.time())}
    sleepers = {}
    try:
        for name, (pid, started) in sessions.items():
            (tmp_path / f"session_{name}").mkdir()
            (tmp_path / f"session_{name}" / RECORD_NAME).write_text(json.dumps(
                {"driver_pid": pid, "driver_started": started, "tag": f"tag-{name}"}))
            sleepers[name] = _tagged_sleeper(f"tag-{name}")
        time.sleep(0.2)  # the sleepers have exec'd: their environment is theirs
        assert reap_dead_drivers(tmp_path) == 1
        sleepers["dead"].wait(timeout=5)  # killed (and reaped by the killer's wait)
        assert sleepers["live"].poll() is None
        assert (tmp_path / "session_live" / RECORD_NAME).exists()
        assert not (tmp_path / "session_dead" / RECORD_NAME).exists()
    finally:
        for sleeper in sleepers.values():
            sleeper.kill()
            sleeper.wait()
