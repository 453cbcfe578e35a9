"""Faults of the run folder: a full disk (a small tmpfs where it can be mounted, and a
simulated ENOSPC in the write path) stops the search with one line and loses nothing; a
read-only folder is refused by writers and read by readers; corrupted derived files are
rebuilt from trials.jsonl, a corrupted state.json is refused naming it."""
import contextlib
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import nas.store.trial_log as trial_log
from nas.cli import main
from run_folder_helpers import (assert_derived_files_agree, inline_config, inline_search,
                                log_records)
from search_spaces.errors import UserError


@contextlib.contextmanager
def _tmpfs(where: Path, size: str):
    """A small tmpfs at `where` (root only; skipped where mounting is not allowed)."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _fill(disk: Path) -> Path:
    """Fill the file system to the last byte."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 16, 1 << 10, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"x" * chunk)
    return filler


def _refused_once(run, trials, match):
    with pytest.raises(UserError) as caught:
        inline_search(run, inline_config(trials=trials), resume=True)
    message = str(caught.value)
    assert "\n" not in message and match in message and "--resume" in message, message
    return message


def test_a_full_disk_stops_with_one_line_and_resumes_when_there_is_room(tmp_path):
    with _tmpfs(tmp_path / "disk", "2m") as disk:
        run = inline_search(disk / "run")
        durable = (run / "trials.jsonl").read_bytes()
        filler = _fill(disk)
        _refused_once(run, 40, "No space left on device")
        after = (run / "trials.jsonl").read_bytes()
        assert after.startswith(durable) and after.endswith(b"\n")  # no torn line
        filler.unlink()
        inline_search(run, inline_config(trials=40), resume=True)
        assert [r["trial_id"] for r in log_records(run)] == list(range(40))
        assert (run / "trials.jsonl").read_bytes().startswith(after)
        assert_derived_files_agree(run)


def test_enospc_mid_append_cuts_the_partial_line(tmp_path, monkeypatch):
    run = inline_search(tmp_path / "run")
    durable = (run / "trials.jsonl").read_bytes()

    def half_then_full(fd, data):
        os.write(fd, data[:len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(trial_log, "_write_all", half_then_full)
    _refused_once(run, 20, "No space left on device")
    assert (run / "trials.jsonl").read_bytes() == durable  # cut back, nothing torn, nothing lost
    monkeypatch.undo()
    inline_search(run, inline_config(trials=20), resume=True)
    assert [r["trial_id"] for r in log_records(run)] == list(range(20))
    assert_derived_files_agree(run)


def test_a_read_only_run_folder_is_refused_by_writers_and_read_by_readers(finished, tmp_path,
                                                                         capsys):
    run = tmp_path / "run"
    run.mkdir()
    bound = subprocess.run(["mount", "--bind", "-o", "ro", str(finished), str(run)],
                           capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {bound.stderr.decode().strip()}")
    try:
        for argv in (["search", "--resume", str(run)], ["repair", str(run)]):
            assert main(argv) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and "Read-only file system" in err, err
        assert main(["status", str(run), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["done"] == 12
    finally:
        subprocess.run(["umount", "-l", str(run)], check=True)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return inline_search(tmp_path_factory.mktemp("finished") / "run")


@pytest.mark.parametrize("name, content", [
    ("study.db", b"SQLite format 3\x00 but cut short"),
    ("study.db", None),  # a study.db of another run (more trials than this log)
    ("trials.parquet", b"PAR1 garbage"),
    ("pareto.json", b'{"front_trial_ids": [999], "hyperv'),
])
def test_a_corrupted_derived_file_is_rebuilt_from_the_log(finished, tmp_path, name, content):
    run = Path(shutil.copytree(finished, tmp_path / "run"))
    if content is None:  # the mirror of a longer run: not a prefix of this log
        other = inline_search(tmp_path / "other", inline_config(seed=9, trials=14))
        shutil.copy(other / "study.db", run / name)
    else:
        (run / name).write_bytes(content)
    inline_search(run, inline_config(trials=14), resume=True)
    assert_derived_files_agree(run)
    if name == "study.db":
        assert (run / "study.db.bad").is_file()  # set aside, not deleted


def test_a_corrupted_state_json_is_refused_naming_it(finished, tmp_path, capsys):
    run = Path(shutil.copytree(finished, tmp_path / "run"))
    (run / "state.json").write_text('{"version": 2, "strat')
    with pytest.raises(UserError, match=r"state.json is corrupted.*nas repair"):
        inline_search(run, inline_config(trials=14), resume=True)
    assert main(["repair", str(run)]) == 0
    inline_search(run, inline_config(trials=14), resume=True)
    assert [r["trial_id"] for r in log_records(run)] == list(range(14))
    assert_derived_files_agree(run)
