"""The run folder: the source of truth and every view derived from it.

`trial_log.py` owns `trials.jsonl` (append-only, fsync'd), `state.json`, `config.yaml` and
`events.log`; `results.py` is the in-memory view the driver keeps (counts, Pareto front,
flushing `trials.parquet`); `optuna_mirror.py` writes `study.db` for optuna-dashboard;
`runinfo.py` reads a run folder for export and the dashboard without importing torch.
"""
