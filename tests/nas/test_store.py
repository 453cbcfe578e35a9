import pytest

from nas.store.trial_log import RunStore
from search_spaces.errors import UserError


def _record(i):
    return {"trial_id": i, "metrics": {"status": "complete"}}


def test_append_and_read(tmp_path):
    store = RunStore.create(tmp_path / "run", {"name": "x"})
    for i in range(3):
        store.append_trial(_record(i))
    assert [r["trial_id"] for r in RunStore.open(tmp_path / "run").trials()] == [0, 1, 2]
    with pytest.raises(UserError, match="--resume"):
        RunStore.create(tmp_path / "run", {"name": "x"})


def test_torn_last_line_is_dropped_and_repaired(tmp_path):
    store = RunStore.create(tmp_path / "run", {"name": "x"})
    store.append_trial(_record(0))
    with open(tmp_path / "run" / "trials.jsonl", "a") as f:
        f.write('{"trial_id": 1, "metr')
    assert len(store.trials()) == 1
    store.trials(repair=True)
    store.append_trial(_record(2))
    assert [r["trial_id"] for r in store.trials()] == [0, 2]


def test_corruption_in_the_middle_is_refused(tmp_path):
    store = RunStore.create(tmp_path / "run", {"name": "x"})
    store.append_trial(_record(0))
    path = tmp_path / "run" / "trials.jsonl"
    path.write_text("garbage\n" + path.read_text())
    before = path.read_bytes()
    with pytest.raises(UserError, match="corrupted at line 1"):
        store.trials(repair=True)
    assert path.read_bytes() == before


def test_missing_run_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        RunStore.open(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a run folder"):
        RunStore.open(tmp_path / "empty")


def test_corrupted_state(tmp_path):
    store = RunStore.create(tmp_path / "run", {"name": "x"})
    (tmp_path / "run" / "state.json").write_text("{")
    with pytest.raises(UserError, match="corrupted"):
        store.load_state()
