"""The final checkpoint `nas train` writes and `nas export` reads: a self-describing file.

`final.pt` (torch.save, loadable with weights_only=True) holds the deploy weights (no
auxiliary head) and everything needed to rebuild them: space name, deploy space options,
genotype, plus where it came from (run, trial) and what it scored. It lives in
`RUN/final/<trial_id>/` for a run's trial, or in the `--out` folder of `nas train`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from search_spaces.errors import UserError

__all__ = ["FINAL_NAME", "FINAL_FORMAT", "final_dir", "final_path", "write_final",
           "read_final", "deploy_options"]

FINAL_NAME = "final.pt"
FINAL_FORMAT = "frontier-nas/final-training/1"
_FIELDS = ("state_dict", "space", "options", "genotype")
# training-only space options and their deploy values (DARTS networks)
_TRAIN_ONLY = (("auxiliary", False), ("drop_path_prob", 0.0))


def final_dir(run_dir: str | Path, trial_id: int) -> Path:
    return Path(run_dir) / "final" / str(trial_id)


def final_path(run_dir: str | Path, trial_id: int) -> Path:
    return final_dir(run_dir, trial_id) / FINAL_NAME


def deploy_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Space options of the deployed network: training-only parts (auxiliary head,
    drop-path) off; tuples as lists so the options are JSON-able."""
    out = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    out.update({k: v for k, v in _TRAIN_ONLY if k in out})
    return out


def write_final(path: Path, payload: Mapping[str, Any]) -> None:
    """Write `payload` (state_dict, space, options, genotype, ...) atomically."""
    import os

    import torch

    missing = [k for k in _FIELDS if k not in payload]
    if missing:
        raise ValueError(f"final checkpoint payload lacks {missing}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FINAL_FORMAT, **payload}, tmp)
    os.replace(tmp, path)


def read_final(path: str | Path) -> dict[str, Any]:
    """The contents of a final checkpoint; UserError for a missing or foreign file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {str(path)!r} does not exist (nas train writes "
                        f"RUN/final/<trial>/{FINAL_NAME})")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unreadable or unsafe pickle: a bad input file
        raise UserError(f"checkpoint {str(path)!r} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FINAL_FORMAT:
        raise UserError(f"{str(path)!r} is not a final checkpoint of `nas train` (format "
                        f"{FINAL_FORMAT!r}); for search checkpoints use --trial ID")
    return data
