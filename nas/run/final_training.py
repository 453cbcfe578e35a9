"""`nas train`: final training of a run's trial (or a genotype file) at full budget.

The job (space, options, genotype, data) comes from the run folder: the trial's record and
the run's config.yaml (space options; dataset, split seed and the search's optimiser
settings from the evaluator options), with flags on top. trainers.final_train runs it;
the result lands in `RUN/final/<trial_id>/` (default): checkpoint.pt (resume state, every
epoch), final.pt (deploy weights + rebuild spec, read by `nas export`), result.json.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from nas.export.final_checkpoint import FINAL_NAME, deploy_options, final_dir, write_final
from nas.store.lock import run_lock
from search_spaces import get_space
from search_spaces.errors import UserError
from search_spaces.genotype import Genotype

__all__ = ["FinalJob", "job_from_run", "job_from_genotype", "train_final", "FINAL_DEFAULTS",
           "DATA_KEYS"]

DATA_KEYS = ("dataset", "data_dir", "image_size", "seed", "data")
# training settings taken from the run's evaluator options when the flag is not given
SEARCH_KEYS = ("batch_size", "optimizer", "lr", "momentum", "weight_decay")
FINAL_DEFAULTS = {"epochs": 50, "warmup": 0, "label_smoothing": 0.1, "amp": "auto",
                  "device": "auto"}
DARTS_RECIPE = {"drop_path": 0.2, "aux_weight": 0.4}  # Liu et al. 2019, Sec. A.1.2


@dataclass(frozen=True)
class FinalJob:
    """What to train: a genotype of a space with its options, on a dataset."""

    space: str
    options: dict[str, Any]
    genotype: Genotype
    data: dict[str, Any]  # dataset, data_dir, image_size, seed (the split), data (reader)
    search_settings: dict[str, Any]  # the search's optimiser settings, flags' defaults
    run_dir: Path | None = None
    trial_id: int | None = None
    searched: dict[str, Any] | None = None  # the trial's search metrics

    def fingerprint(self) -> dict[str, Any]:
        """JSON-able identity stored in the checkpoint (a resume must match it)."""
        return json.loads(json.dumps({"space": self.space, "options": self.options,
                                      "genotype": self.genotype.to_dict(),
                                      "data": self.data}, default=list))


def _data_options(evaluator_options: Mapping[str, Any], overrides: Mapping[str, Any]):
    from trainers.evaluators import TRAIN_DEFAULTS

    merged = {k: evaluator_options.get(k, TRAIN_DEFAULTS[k]) for k in DATA_KEYS}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return merged


def job_from_run(run_dir: str | Path, trial: int, options: Mapping[str, Any],
                 data: Mapping[str, Any]) -> FinalJob:
    """The job of trial `trial` of a run folder; `options` / `data` override the run's."""
    from nas.export.source import select_trials
    from nas.run.config import parse_component
    from nas.store.trial_log import RunStore

    info, (record,) = select_trials(run_dir, trial, False)
    evaluator = parse_component("evaluator", RunStore(info.dir).config().get("evaluator",
                                                                           "tabular"))
    ev = evaluator.options
    return FinalJob(info.space, {**info.space_options, **options},
                    Genotype.from_dict(record["genotype"]), _data_options(ev, data),
                    {k: ev[k] for k in SEARCH_KEYS if k in ev}, info.dir, trial,
                    record.get("metrics"))


def job_from_genotype(path: str | Path, space: str, options: Mapping[str, Any],
                      data: Mapping[str, Any]) -> FinalJob:
    """The job of a genotype JSON file (as `nas spaces describe --genotype` reads)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"genotype file {str(path)!r} does not exist")
    return FinalJob(space, dict(options), Genotype.from_json(path.read_text()),
                    _data_options({}, data), {})


def _recipe(space_defaults: Mapping[str, Any], settings: Mapping[str, Any]) -> dict:
    """drop_path / aux_weight: the flag, else DARTS' recipe where the space has it, else 0."""
    supported = {"drop_path": "drop_path_prob" in space_defaults,
                 "aux_weight": "auxiliary" in space_defaults}
    return {k: settings[k] if settings.get(k) is not None else
            (DARTS_RECIPE[k] if supported[k] else 0.0) for k in DARTS_RECIPE}


def _train_config(job: FinalJob, settings: Mapping[str, Any], space_defaults):
    from trainers.evaluators import train_config
    from trainers.final_train import resolve_amp
    from trainers.train import resolve_device

    merged = {**FINAL_DEFAULTS, **job.search_settings, "seed": job.data["seed"],
              **{k: v for k, v in settings.items() if v is not None},
              **_recipe(space_defaults, settings)}
    device = resolve_device(merged["device"])
    if merged["amp"] not in ("auto", "off", "bf16", "fp16"):
        raise UserError(f"--amp must be auto, off, bf16 or fp16, got {merged['amp']!r}")
    return train_config(merged, amp=resolve_amp(merged["amp"], device), device=device.type)


def _out_dir(job: FinalJob, out: str | Path | None) -> Path:
    if out is not None:
        return Path(out)
    if job.run_dir is not None:
        return final_dir(job.run_dir, job.trial_id)
    return Path("results") / "final" / f"{job.space}-{job.genotype.key[:12]}"


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def train_final(job: FinalJob, settings: Mapping[str, Any], out: str | Path | None = None,
                on_step: Callable[[int, int, float], None] | None = None,
                on_epoch: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Train `job` with `settings` (TrainConfig fields; None = default), resuming from the
    output folder's checkpoint; writes final.pt and result.json, returns the result."""
    import torch

    from trainers.evaluators import check_data_fits
    from trainers.final_train import check_support, deploy_state_dict, final_train

    defaults = get_space(job.space, **job.options).default_options()
    config = _train_config(job, settings, defaults)
    options = dict(job.options)
    if config.aux_weight and "auxiliary" in defaults:
        options["auxiliary"] = True  # the head exists only in training (dropped on export)
    space = get_space(job.space, **options)
    genotype = space.validate(job.genotype)
    data = check_data_fits(space, job.data)
    torch.manual_seed(config.seed)
    model = space.build(genotype)
    check_support(model, config, job.space)
    folder = _out_dir(job, out)
    # one writer: the run folder (a search or another `nas train` on it is refused at once),
    # or the output folder when the genotype came from a file
    locked = job.run_dir if job.run_dir is not None else folder
    Path(locked).mkdir(parents=True, exist_ok=True)
    with run_lock(locked, "train"):
        result = final_train(model, data, config, folder, job.fingerprint(), on_step,
                             on_epoch)
    metrics = {"val_accuracy": 100.0 * result.val_accuracy,
               "test_accuracy": 100.0 * result.test_accuracy}
    searched = ((job.searched or {}).get("objectives") or {}).get("accuracy")
    summary = {"run": str(job.run_dir) if job.run_dir else None, "trial_id": job.trial_id,
               "space": job.space, "arch": space.format(genotype), "dir": str(folder),
               "checkpoint": str(folder / FINAL_NAME), "searched_accuracy": searched,
               **metrics, "epochs": result.epochs, "steps": result.steps,
               "resumed_from_epoch": result.resumed_from_epoch,
               "seconds": round(result.seconds, 3), "data": job.data,
               "training": asdict(config), "history": result.history}
    write_final(folder / FINAL_NAME, {
        "state_dict": deploy_state_dict(model), "space": job.space,
        "options": deploy_options(space.options), "genotype": genotype.to_dict(),
        "key": genotype.key, "arch": summary["arch"], "trial_id": job.trial_id,
        "run": summary["run"], "metrics": {"objectives": {"accuracy": metrics["val_accuracy"]},
                                          **metrics}, "training": asdict(config)})
    _write_json(folder / "result.json", summary)
    return summary
