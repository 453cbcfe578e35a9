"""Running a search: config -> strategy asks -> trials on Ray -> durable record -> tell.

`config.py` validates the YAML into a frozen `SearchConfig`; `search.py` resolves the run
folder (new or resumed) and starts or joins Ray (`ray_runtime.py`); `driver.py` is the
ask/run/record/tell loop; `runner.py` keeps trials in flight as Ray tasks (retries,
timeouts) and `worker.py` is what runs inside a worker; `task_inputs.py` and
`rung_scores.py` are what every task gets beyond the config; `resume.py` rebuilds a killed
search exactly from its log; `progress.py` prints one line per finished trial.
`final_training.py` is `nas train`: a chosen trial trained at full budget into
`RUN/final/<trial_id>/`.
"""
