"""Small real run folders made in-process (no Ray) and checks that its files agree."""
from __future__ import annotations

import json
import math
from pathlib import Path

from nas.run.config import config_from_dict
from nas.run.driver import Driver
from nas.run.progress import Progress
from nas.run.runner import InlineTrials
from nas.store.results import ResultsView
from nas.store.trial_log import RunStore


def inline_config(seed: int = 3, trials: int = 12, strategy: str = "bo", **extra):
    return config_from_dict({
        "name": "safety", "seed": seed, "trials": trials, "workers": 2,
        "strategy": {"name": strategy, "options": {"n_init": 4} if strategy == "bo" else {}},
        "evaluator": {"name": "synthetic", "options": {"seed": 1}},
        "objectives": ["accuracy", {"name": "params", "direction": "minimize"}], **extra})


def inline_search(run_dir: Path, config=None, resume: bool = False) -> Path:
    """Run (or resume) a search in this process with `InlineTrials`."""
    config = config or inline_config()
    store = RunStore.open(run_dir) if resume else RunStore.create(run_dir, config.to_dict())
    driver = Driver(config, store, Progress(config.trials, quiet=True), resume=resume)
    try:
        driver.run(2, InlineTrials(driver.task_base))
    finally:
        store.close()
    return Path(run_dir)


def log_records(run_dir: Path) -> list[dict]:
    """Complete lines of trials.jsonl (a torn last line is not a record)."""
    text = (Path(run_dir) / "trials.jsonl").read_text()
    return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]


def assert_derived_files_agree(run_dir: Path) -> None:
    """trials.parquet, study.db (read through Optuna) and pareto.json say what the log
    says: the same trials in the same order, the same values, the same front."""
    import optuna
    import pandas as pd

    run_dir = Path(run_dir)
    records = log_records(run_dir)
    ids = [r["trial_id"] for r in records]
    frame = pd.read_parquet(run_dir / "trials.parquet")
    assert frame["trial_id"].tolist() == ids and frame["key"].tolist() == [r["key"] for r in
                                                                           records]
    store = RunStore.open(run_dir)
    config = config_from_dict(store.config())
    study = optuna.load_study(study_name=config.name, storage=f"sqlite:///{run_dir / 'study.db'}")
    trials = study.get_trials(deepcopy=False)
    assert [t.user_attrs["trial_id"] for t in trials] == ids
    view = ResultsView(config.objectives, None, config.reference)
    for record in records:
        view.add(dict(record))
    for trial, record in zip(trials, records):
        if trial.values is not None:
            merged = {**record["metrics"]["cost"], **record["metrics"]["objectives"]}
            assert trial.values == [merged[o.name] for o in config.objectives]
    pareto = json.loads((run_dir / "pareto.json").read_text())
    expected = view.pareto()
    assert pareto["front_trial_ids"] == expected["front_trial_ids"]
    assert math.isclose(pareto["hypervolume"], expected["hypervolume"], rel_tol=1e-12)
