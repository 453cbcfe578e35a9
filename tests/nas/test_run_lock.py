"""One writer per run folder: a second writer exits 2 at once naming the holder, kill -9
leaves no stale lock, and a log with duplicated trial ids is refused until `nas repair`."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nas.cli import main
from nas.store.lock import run_lock
from run_folder_helpers import (assert_derived_files_agree, inline_config, inline_search,
                                log_records)
from search_spaces.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
HOLD = ("import sys, time\nfrom nas.store.lock import run_lock\n"
        "with run_lock(sys.argv[1], 'search'):\n    print('held', flush=True)\n"
        "    time.sleep(120)\n")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Two independent runs (made once), copied by each test."""
    root = tmp_path_factory.mktemp("made")
    return (inline_search(root / "first"),
            inline_search(root / "second", inline_config(seed=11)))


@pytest.fixture
def run(made, tmp_path):
    return Path(shutil.copytree(made[0], tmp_path / "run"))


@pytest.fixture
def holder(run):
    """Another process holding the run's writer lock."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def _one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_second_writer_exits_2_at_once_naming_the_holder(run, holder, capsys):
    before = (run / "trials.jsonl").read_bytes()
    for argv in (["search", "--resume", str(run)], ["repair", str(run)]):
        start = time.monotonic()
        assert main(argv) == 2
        line = _one_line(capsys.readouterr().err)
        assert f"pid {holder.pid} on host {socket.gethostname()}" in line, line
        assert "`nas search`" in line and time.monotonic() - start < 10
    assert (run / "trials.jsonl").read_bytes() == before


def test_kill_9_leaves_no_stale_lock(run, holder):
    with pytest.raises(UserError, match=f"pid {holder.pid}"):
        with run_lock(run, "train"):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with run_lock(run, "train"):  # the kernel released it with the process
        info = json.loads((run / "writer.lock").read_text())
        assert info["pid"] == os.getpid() and info["command"] == "train"


def test_readers_need_no_lock(run, holder, capsys):
    assert main(["status", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["done"] == 12


def _two_writers(made, tmp_path):
    """A run whose log holds every trial id twice with different genotypes, as two
    searches writing one folder at once left it (before the lock)."""
    first = Path(shutil.copytree(made[0], tmp_path / "run"))
    alone = (first / "trials.jsonl").read_bytes()
    with open(first / "trials.jsonl", "ab") as f:
        f.write((made[1] / "trials.jsonl").read_bytes())
    return first, alone


def test_duplicated_ids_are_refused_with_the_repair_command(made, tmp_path, capsys):
    run, _ = _two_writers(made, tmp_path)
    for argv in (["search", "--resume", str(run)], ["status", str(run)]):
        assert main(argv) == 2
        line = _one_line(capsys.readouterr().err)
        assert "12 trial id(s) more than once" in line and f"nas repair {run}" in line


def test_repair_keeps_the_first_record_of_each_id_and_rebuilds(made, tmp_path, capsys):
    run, first = _two_writers(made, tmp_path)
    original = (run / "trials.jsonl").read_bytes()
    with open(run / "trials.jsonl", "ab") as f:
        f.write(b'{"trial_id": 3, "ke')  # and a torn last line
    (run / "study.db").write_bytes(b"not a database")
    assert main(["repair", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["records"], result["kept"], len(result["duplicated_ids"])) == (24, 12, 12)
    assert (run / "trials.jsonl").read_bytes() == first  # byte for byte the first writer's
    backup = Path(result["originals"])
    assert (backup / "trials.jsonl").read_bytes().startswith(original)
    assert (backup / "study.db").read_bytes() == b"not a database"
    assert not (run / "state.json").exists() and (backup / "state.json").exists()
    assert_derived_files_agree(run)
    assert main(["status", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["done"] == 12
    inline_search(run, inline_config(trials=14), resume=True)  # the log replays
    assert [r["trial_id"] for r in log_records(run)] == list(range(14))
    assert_derived_files_agree(run)
