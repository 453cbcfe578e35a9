"""Crash safety through the real CLI: Ctrl-C, kill -9 and resume give exactly the trials
of an uninterrupted run; bad resumes and unreachable clusters fail fast, touching nothing."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_helpers import as_in_a_terminal, free_port, kill_session

from nas.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
name: crash
seed: 7
trials: 14
workers: 1
strategy: {name: bo, options: {n_init: 4}}
evaluator: {name: synthetic, options: {sleep_s: 0.3}}
objectives: [accuracy, {name: params, direction: minimize}]
constraints: {latency_ms: {max: 1.8}}
"""


def _trials(run_dir):
    path = Path(run_dir) / "trials.jsonl"
    if not path.exists():
        return []
    lines = [line for line in path.read_text().split("\n") if line.endswith("}")]
    return [(r["trial_id"], r["key"]) for r in map(json.loads, lines)]


def _start(*args):
    """`nas search ...` in its own session, so everything it starts can be cleaned up."""
    return subprocess.Popen([sys.executable, "-m", "nas.cli", "search", *args, "--quiet"],
                            cwd=ROOT, start_new_session=True, preexec_fn=as_in_a_terminal,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(run_dir, n, proc, timeout=240):
    deadline = time.monotonic() + timeout
    while len(_trials(run_dir)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the search made no progress"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def in_process_ray():
    """One embedded Ray for the in-process searches of this module; its GCS address lets
    the driver subprocesses join it instead of starting a Ray each (seconds each)."""
    import ray

    from nas.run.ray_runtime import ray_session

    with ray_session(2):
        yield ray.get_runtime_context().gcs_address


@pytest.fixture(scope="module")
def reference(in_process_ray, tmp_path_factory):
    """The uninterrupted run (in-process)."""
    root = tmp_path_factory.mktemp("reference")
    (root / "c.yaml").write_text(CONFIG)
    assert main(["search", "--config", str(root / "c.yaml"), "--out", str(root / "run"),
                 "--quiet"]) == 0
    return root, _trials(root / "run")


# Was intermittent: a Ctrl-C landing just after a record was written (while the driver
# told the strategy or asked the next trial) snapshotted a half-updated strategy.
# test_driver_inline.py::test_ctrl_c_in_the_middle_of_an_update_resumes_exactly pins it.
def test_ctrl_c_then_kill_9_then_resume_equals_an_uninterrupted_run(in_process_ray, reference,
                                                                    tmp_path):
    root, expected = reference
    run_dir = tmp_path / "run"
    cluster = ("--address", in_process_ray)  # kill -9 ends the driver; the cluster stays
    proc = _start("--config", str(root / "c.yaml"), "--out", str(run_dir), *cluster)
    try:
        _wait_for(run_dir, 3, proc)
        proc.send_signal(signal.SIGINT)  # Ctrl-C: finish writing, exit 130, resumable
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        events = (run_dir / "events.log").read_text()
        assert "interrupted" in events
        # a snapshot, unless the signal came mid-update (then the log alone replays)
        assert (run_dir / "state.json").is_file() or "interrupted mid-update" in events
    finally:
        kill_session(proc.pid)
    proc = _start("--resume", str(run_dir), *cluster)
    try:
        _wait_for(run_dir, len(_trials(run_dir)) + 3, proc)
        os.kill(proc.pid, signal.SIGKILL)  # no chance to write anything more
        proc.wait(timeout=30)
    finally:
        kill_session(proc.pid)
    assert 3 < len(_trials(run_dir)) < len(expected)
    assert main(["search", "--resume", str(run_dir), "--quiet"]) == 0
    got = _trials(run_dir)
    assert got == expected  # same trial ids, same genotypes, same order
    assert len({key for _, key in got}) == len(got)  # none evaluated twice


def _corrupt_and_check(capsys, run_dir, name, text, message):
    target = run_dir / name
    target.write_text(text)
    before = _files(run_dir)
    assert main(["search", "--resume", str(run_dir)]) == 2
    assert message in capsys.readouterr().err
    assert _files(run_dir) == before  # nothing overwritten, nothing added


def _files(run_dir):
    """The run folder's files, but the writer lock (it names its latest holder)."""
    return {p.name: p.read_bytes() for p in run_dir.iterdir()
            if p.is_file() and p.name != "writer.lock"}


def test_corrupted_store_files_are_refused_untouched(reference, tmp_path, capsys):
    root, _ = reference
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(root / "run", run_dir)
    good = (run_dir / "trials.jsonl").read_text()
    lines = good.splitlines(keepends=True)
    _corrupt_and_check(capsys, run_dir, "trials.jsonl",
                       lines[0] + "{not json\n" + "".join(lines[1:]), "corrupted at line 2")
    (run_dir / "trials.jsonl").write_text(good)
    _corrupt_and_check(capsys, run_dir, "state.json", '{"version": 2, "stra', "corrupted")
    (run_dir / "state.json").unlink()
    _corrupt_and_check(capsys, run_dir, "config.yaml", "name: [unclosed\n", "corrupted")


def test_resume_with_another_space_or_config_prints_the_difference(reference, tmp_path,
                                                                   capsys):
    root, _ = reference
    other = tmp_path / "other.yaml"
    other.write_text(CONFIG.replace("strategy: {name: bo, options: {n_init: 4}}",
                                    "space: {name: nb201, options: {channels: 8}}\n"
                                    "strategy: {name: bo, options: {n_init: 4}}"))
    assert main(["search", "--config", str(other), "--resume", str(root / "run")]) == 2
    err = capsys.readouterr().err
    assert "refusing to resume" in err and "'channels': 8" in err
    assert main(["search", "--resume", str(root / "run"), "--strategy", "tpe"]) == 2
    assert "cannot change ['strategy']" in capsys.readouterr().err


def test_unreachable_address_fails_fast(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(CONFIG)
    port = free_port()  # nothing listens on it
    start = time.monotonic()
    assert main(["search", "--config", str(tmp_path / "c.yaml"), "--out",
                 str(tmp_path / "run"), "--address", f"127.0.0.1:{port}"]) == 2
    assert "cannot reach Ray cluster" in capsys.readouterr().err
    with socket.socket() as silent:  # listens, but is not a Ray head: no gRPC answer
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        assert main(["search", "--config", str(tmp_path / "c.yaml"), "--out",
                     str(tmp_path / "run"), "--address", address]) == 2
    assert "is not a Ray head" in capsys.readouterr().err
    assert main(["search", "--config", str(tmp_path / "c.yaml"), "--address", "nohost"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
    assert time.monotonic() - start < 30 and not (tmp_path / "run").exists()
