"""What the user reads about a trial is true: failure reasons whole and without colour
codes, with the evaluator's own exception; progress lines cut at a word; an ETA from a
running mean; one clock for progress lines and the summary."""
import io
import json
import math
import time

import pytest

from nas.run.config import config_from_dict
from nas.run.failures import exception_failure, task_error_failure
from nas.run.progress import Eta, Progress, shorten
from nas.store.trial_log import RunStore
from trainers.evaluators import Evaluator

from inline_helpers import registered_evaluator, run_inline

LONG = ("the calibration sample of the keep threshold could not be drawn because every "
        "candidate architecture in this space produced a non-finite proxy score; widen the "
        "space or lower the proxy batch size, then resume the run with nas search --resume")


def _raise(message):
    raise ValueError(message)


def test_exception_failure_names_type_message_and_place():
    with pytest.raises(ValueError) as info:
        _raise(LONG)
    failure = exception_failure(info.value)
    assert failure["reason"].startswith(f"ValueError: {LONG} (at ")
    assert failure["reason"].endswith("test_failures.py:%d in _raise)"
                                      % (_raise.__code__.co_firstlineno + 1))
    assert "Traceback (most recent call last)" in failure["traceback"]


def test_ray_task_error_is_unwrapped_to_the_cause_without_ansi():
    from ray.exceptions import RayTaskError

    trace = ("\x1b[36mray::evaluate_trial()\x1b[39m (pid=12, ip=10.0.0.1)\n"
             "Traceback (most recent call last):\n"
             '  File "/work/user_eval.py", line 7, in __call__\n    raise KeyError("x")\n'
             "KeyError: 'x'")
    error = RayTaskError("evaluate_trial", trace, KeyError("x"), pid=12, ip="10.0.0.1")
    failure = task_error_failure(error)
    assert failure["reason"] == "KeyError: 'x' (at /work/user_eval.py:7 in __call__)"
    assert "\x1b" not in failure["traceback"] and "ray::evaluate_trial()" in failure["traceback"]


class Failing(Evaluator):
    metric_names = ("accuracy",)

    def __call__(self, space, genotype):
        _raise(LONG)


@pytest.fixture
def failing():
    with registered_evaluator("test_failing", Failing) as name:
        yield name


def test_reason_kept_whole_in_the_store_and_cut_at_a_word_on_screen(tmp_path, failing):
    config = config_from_dict({"name": "f", "trials": 2, "strategy": "random",
                               "evaluator": failing, "objectives": ["accuracy"]})
    stream = io.StringIO()
    run_inline(config, tmp_path / "run", Progress(2, stream=stream))
    records = RunStore(tmp_path / "run").trials()
    assert all(r["metrics"]["reason"].startswith(f"ValueError: {LONG} (at ") for r in records)
    assert all("in _raise" in r["traceback"] for r in records)
    line = stream.getvalue().splitlines()[0]
    shown = line.split("] ", 1)[1].split(" | ")[0]
    assert shown.endswith("\u2026") and len(shown) <= 100
    assert LONG.startswith(shown[len("trial 0 failed: ValueError: "):-1])  # whole words
    assert shown[-2] != " " and LONG[len(shown) - len("trial 0 failed: ValueError: ") - 1] == " "


def test_shorten():
    assert shorten("short  text\nhere", 40) == "short text here"
    assert shorten("pruned at rung 1.synflow: 3.2 < 4.1, the keep threshold", 30) == \
        "pruned at rung 1.synflow: 3.2\u2026"
    assert shorten("x" * 50, 10) == "x" * 9 + "\u2026"


def test_eta_is_honest_from_the_first_trials():
    """40 trials of 2.0-2.9 s on 2 workers (about 49 s) after 5 s of start-up: no guess
    from a single trial, then every ETA within 20% (or 3 s) of the time really left;
    the old rate from the clock said 39 x (5 s + first trial) first."""
    durations = [2.0 + 0.9 * ((7 * i) % 11) / 10 for i in range(40)]
    free, done_at = [5.0, 5.0], []
    for d in durations:  # each worker takes the next trial as soon as it is free
        w = free.index(min(free))
        free[w] += d
        done_at.append((free[w], d))
    done_at.sort()
    eta = Eta(40, workers=2)
    estimates = [eta.update(n, d) for n, (_, d) in enumerate(done_at, start=1)]
    truth = [done_at[-1][0] - t for t, _ in done_at]
    assert math.isnan(estimates[0])
    for got, left in zip(estimates[1:], truth[1:]):
        assert abs(got - left) <= max(0.2 * left, 3.0), (got, left)
    assert estimates[-1] == 0


def test_summary_and_progress_lines_share_one_clock(tmp_path):
    config = config_from_dict({"name": "c", "trials": 3, "strategy": "random",
                               "evaluator": "synthetic", "objectives": ["accuracy"]})
    stream = io.StringIO()
    progress = Progress(3, stream=stream, fmt="json")
    time.sleep(0.3)  # start-up before the driver runs (Ray, checks) counts
    summary = run_inline(config, tmp_path / "run", progress)
    after = progress.elapsed()
    last = json.loads(stream.getvalue().splitlines()[-1])
    assert last["elapsed_s"] >= 0.3  # the sleep before the driver is on the clock
    assert last["elapsed_s"] <= summary.seconds <= after  # then writing the files


def test_trial_seconds_leave_out_a_workers_one_time_set_up():
    from nas.store.results import ResultsView
    from nas.strategies.base import Objective

    view = ResultsView([Objective("accuracy", "maximize")], None)
    record = {"trial_id": 0, "key": "k", "arch": "a", "worker": {}, "started": 100.0,
              "finished": 109.0, "genotype": {"space": "nb201", "decisions": {}},
              "metrics": {"status": "pruned", "reason": "pruned", "objectives": {},
                          "cost": {}, "rungs": {}, "fidelity": None,
                          "timings": {"calibrate_s": 8.6, "proxy_s": 0.4}}}
    view.add(record)
    assert view.progress_fields(record, 1)["seconds"] == pytest.approx(0.4)
    assert view.progress_fields({**record, "cached": True}, 1)["seconds"] == 0.0
