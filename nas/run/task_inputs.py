"""What the driver adds to every task beyond the config: the run's checkpoint folder for
evaluators that keep checkpoints, and the shared rung history for those that want it.

Both go into the task, never into the stored config, so a resumed run compares configs
as written and a moved run folder still finds its checkpoints.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .rung_scores import RungHistory

__all__ = ["run_checkpoint_dir", "with_run_checkpoints", "task_base"]


def run_checkpoint_dir(run_dir: str | Path, evaluator_name: str) -> Path:
    """<run>/checkpoints/<evaluator name>, absolute (Ray workers may run elsewhere); a
    "module:function" name gives the folder "module.function"."""
    return Path(run_dir).resolve() / "checkpoints" / evaluator_name.replace(":", ".")


def with_run_checkpoints(spec: Mapping[str, Any], evaluator: Any,
                         run_dir: str | Path) -> dict[str, Any]:
    """The evaluator spec {name, options}, with option `checkpoint_dir` set to the run's
    checkpoint folder when the evaluator has that option and the user left it empty."""
    options = dict(spec["options"])
    if "checkpoint_dir" in getattr(evaluator, "defaults", {}) and \
            not options.get("checkpoint_dir"):
        options["checkpoint_dir"] = str(run_checkpoint_dir(run_dir, spec["name"]))
    return {**spec, "options": options}


def task_base(spec: Mapping[str, Any], evaluator: Any) -> dict[str, Any]:
    """The part of every task that does not depend on the trial (the run folder is added
    by `with_run_checkpoints` once it exists). With `wants_history`, "history" is a live
    `RungHistory` that the driver grows (`add`); a Ray task pickles it as it was at
    submission, an inline task reads it as it is."""
    from .worker import user_registrations

    base = {"space": spec["space"], "evaluator": dict(spec["evaluator"]), "threads": 1}
    if getattr(evaluator, "wants_history", False):
        base["history"] = RungHistory()
    registered = user_registrations()
    if registered:
        base["registered"] = registered
    if getattr(evaluator, "user_code", False):  # the user's function: check what it returns
        base["objectives"] = [o["name"] for o in spec["objectives"]]
    return base
