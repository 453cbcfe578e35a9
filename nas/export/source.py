"""Pick the trials to export from a run folder and rebuild their modules with weights.

Weights come from the final training of the trial (`RUN/final/<trial_id>/final.pt`, by
`nas train`; the network is rebuilt with that file's space options), else from `RUN/checkpoints/<trial_id>.pt` when the search saved one (a bare
state_dict, or a dict holding one under 'state_dict' / 'model_state_dict' / 'model'), else
from the fidelity ladder's budget checkpoint of the trial's genotype in a subfolder of
`RUN/checkpoints/` (`ladder/<key>@<E>ep.pt`: the trial's own fidelity E if kept, else its
largest budget); otherwise the module keeps its seeded random initialisation and the
export says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from nas.store.runinfo import (
    RunInfo,
    complete_records,
    describe_ids,
    front_trial_ids,
    read_run_info,
)
from nas.store.trial_log import RunStore
from search_spaces import build, get_space
from search_spaces.errors import UserError
from search_spaces.genotype import Genotype

from .final_checkpoint import final_path, read_final

__all__ = ["ExportSource", "load_source", "load_final_source", "select_trials",
           "checkpoint_path", "INIT_SEED"]

INIT_SEED = 0  # seed of the random initialisation of untrained exports
_STATE_KEYS = ("state_dict", "model_state_dict", "model")


@dataclass
class ExportSource:
    """One trial rebuilt: its record, space options and the eval-mode source module."""

    info: RunInfo
    record: dict[str, Any]
    options: dict[str, Any]  # resolved space options, JSON-able
    input_size: tuple[int, ...]
    include_bias: bool
    module: nn.Module
    weights: dict[str, Any]

    @property
    def trial_id(self) -> int | None:
        """The run's trial id; None for a final checkpoint trained from a genotype file."""
        value = self.record.get("trial_id")
        return None if value is None else int(value)


def select_trials(run_dir: str | Path, trial: int | None, pareto: bool
                  ) -> tuple[RunInfo, list[dict[str, Any]]]:
    """The run's info and the records to export: one trial, or the Pareto front."""
    info = read_run_info(run_dir)
    records = RunStore(info.dir).trials()
    done = complete_records(records)
    if not records:
        raise UserError(f"run {str(info.dir)!r} has no finished trials yet; nothing to export "
                        "(check progress with `nas status RUN`)")
    if not done:
        raise UserError(f"run {str(info.dir)!r} has {len(records)} finished trials but none "
                        "completed (all failed); nothing to export")
    by_id = {int(r["trial_id"]): r for r in records}
    if pareto:
        return info, [by_id[i] for i in front_trial_ids(records, info)]
    if trial not in by_id:
        raise UserError(f"trial {trial} is not in run {str(info.dir)!r}; finished trial ids: "
                        f"{describe_ids(by_id)}")
    record = by_id[trial]
    status = record["metrics"].get("status")
    if status != "complete":
        raise UserError(f"trial {trial} did not complete ({status}: "
                        f"{record['metrics'].get('reason', '')[:80]}); pick a complete trial")
    return info, [record]


def checkpoint_path(run_dir: Path, trial_id: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"{trial_id}.pt"


def _state_dict(raw: Any, path: Path) -> Mapping[str, torch.Tensor]:
    if isinstance(raw, Mapping):
        for key in _STATE_KEYS:
            if isinstance(raw.get(key), Mapping):
                return raw[key]
        if raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
            return raw
    raise UserError(f"checkpoint {str(path)!r} holds no state_dict (expected tensors, or a "
                    f"dict with one of {list(_STATE_KEYS)})")


def _ladder_checkpoint(run_dir: Path, record: Mapping[str, Any]) -> Path | None:
    """The ladder's checkpoint of this trial's genotype at its fidelity (epochs), else at
    the largest budget it reached; None when there is none."""
    from trainers.fidelity import budget_checkpoints

    if not record.get("key"):
        return None
    found = [c for folder in sorted((Path(run_dir) / "checkpoints").glob("*/"))
             for c in budget_checkpoints(folder, record["key"])]
    if not found:
        return None
    fidelity = record.get("metrics", {}).get("fidelity")
    exact = [p for e, p in found if e == fidelity]
    return exact[0] if exact else max(found, key=lambda c: c[0])[1]


def _load_weights(module: nn.Module, info: RunInfo, record: Mapping[str, Any]
                  ) -> dict[str, Any]:
    trial_id = int(record["trial_id"])
    path = checkpoint_path(info.dir, trial_id)
    if not path.is_file():
        path = _ladder_checkpoint(info.dir, record)
    if path is None:
        return {"status": "untrained", "checkpoint": None,
                "note": f"no checkpoint at {checkpoint_path(info.dir, trial_id)} or from the "
                        f"fidelity ladder; random initialisation "
                        f"(torch.manual_seed({INIT_SEED}))"}
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable or unsafe pickle: a bad input file
        raise UserError(f"checkpoint {str(path)!r} cannot be read: {exc}") from None
    result = module.load_state_dict(_state_dict(raw, path), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise UserError(f"checkpoint {str(path)!r} does not match trial {trial_id}'s "
                        f"architecture (missing {result.missing_keys[:3]}, unexpected "
                        f"{result.unexpected_keys[:3]})")
    return {"status": "trained", "checkpoint": str(path), "note": "weights from checkpoint"}


def _final_weights(module: nn.Module, final: Mapping[str, Any], path: Path
                   ) -> dict[str, Any]:
    result = module.load_state_dict(final["state_dict"], strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise UserError(f"final checkpoint {str(path)!r} does not match its architecture "
                        f"(missing {result.missing_keys[:3]}, unexpected "
                        f"{result.unexpected_keys[:3]})")
    return {"status": "final-trained", "checkpoint": str(path),
            "note": "weights from nas train", "final_metrics": final.get("metrics", {})}


def _source(info: RunInfo, record: dict[str, Any], space_options: Mapping[str, Any],
            final: tuple[Path, Mapping[str, Any]] | None) -> ExportSource:
    space = get_space(info.space, **space_options)
    genotype = space.validate(Genotype.from_dict(record["genotype"]))
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in space.options.items()}
    torch.manual_seed(INIT_SEED)
    module = build(info.space, genotype, **space_options)
    weights = (_final_weights(module, final[1], final[0]) if final is not None
               else _load_weights(module, info, record))
    return ExportSource(info, dict(record), options, tuple(space.input_size()),
                        space.macs_include_bias, module.eval(), weights)


def load_source(info: RunInfo, record: dict[str, Any]) -> ExportSource:
    """Rebuild a trial's module exactly as the search did (or as `nas train` trained it,
    when RUN/final/<trial_id>/final.pt exists), with its weights if saved."""
    path = final_path(info.dir, int(record["trial_id"]))
    if path.is_file():
        final = read_final(path)
        return _source(info, record, final["options"], (path, final))
    return _source(info, record, info.space_options, None)


def load_final_source(path: str | Path) -> ExportSource:
    """Rebuild the network of a final checkpoint file alone (`nas export --checkpoint`)."""
    path = Path(path)
    final = read_final(path)
    run_dir = Path(final["run"]) if final.get("run") else path.parent
    info = RunInfo(run_dir, str(final.get("name", run_dir.name)), final["space"],
                   dict(final["options"]), ())
    record = {"trial_id": final.get("trial_id"), "genotype": final["genotype"],
              "key": final.get("key"), "arch": final.get("arch"),
              "metrics": final.get("metrics", {})}
    return _source(info, record, final["options"], (path, final))
