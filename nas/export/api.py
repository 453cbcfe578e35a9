"""Export trials of a run: rebuild, optionally fuse, write, load back and check parity.

Layout: OUT/trial_<id>/<format>[-fused]/ holds the artefacts, arch.json (the rebuild
spec) and manifest.json (weights, fusion, deploy cost, parity); --pareto also writes
OUT/pareto-<format>[-fused].json indexing every front arch. OUT defaults to RUN/exports.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from nas.store.runinfo import run_front
from nas.store.trial_log import RunStore
from search_spaces.errors import UserError

from .formats import FORMATS, ExportJob, check_format
from .fuse import deploy_cost, fuse_model, measure_latency_ms
from .parity import ParityError, parity_check
from .source import ExportSource, load_final_source, load_source, select_trials

__all__ = ["export_run", "export_checkpoint", "export_one", "export_dir"]


def export_dir(out: Path, trial_id: int | None, fmt: str, fuse: bool) -> Path:
    """OUT/trial_<id>/<fmt>[-fused]; OUT/genotype/... for a network trained from a file."""
    name = "genotype" if trial_id is None else f"trial_{trial_id}"
    return Path(out) / name / (fmt + ("-fused" if fuse else ""))


def _spec(src: ExportSource, fused: bool) -> dict[str, Any]:
    """arch.json: everything `search_spaces.build` needs, plus the trial's metrics."""
    r = src.record
    return {"run": str(src.info.dir), "trial_id": src.trial_id, "space": src.info.space,
            "options": src.options, "genotype": r["genotype"], "key": r.get("key"),
            "arch": r.get("arch"), "input_size": list(src.input_size), "fused": fused,
            "metrics": r["metrics"], "weights": src.weights,
            "build": "search_spaces.build(space, genotype, **options)"
                     + (", then nas.export.fuse.fuse_model" if fused else "")}


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def export_one(src: ExportSource, fmt: str, fuse: bool, out: Path) -> dict[str, Any]:
    """Export one rebuilt trial in `fmt`; returns its manifest (also written to disk)."""
    module, fusion = (fuse_model(src.module) if fuse else (src.module, None))
    folder = export_dir(out, src.trial_id, fmt, fuse)
    if folder.exists():
        shutil.rmtree(folder)  # a re-export replaces the old artefacts, never mixes them
    folder.mkdir(parents=True)
    spec = _spec(src, fuse)
    _write_json(folder / "arch.json", spec)
    job = ExportJob(module, spec, fuse, folder, src.input_size)
    written = FORMATS.get(fmt)(job)
    manifest = {"trial_id": src.trial_id, "arch": spec["arch"], "space": spec["space"],
                "format": fmt, "fused": fuse, "dir": str(folder), "files": written.files,
                "weights": src.weights, "run": spec["run"],
                "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if fusion is not None:
        before, after = measure_latency_ms([src.module, module], src.input_size)
        manifest["fusion"] = fusion
        manifest["source_cost"] = deploy_cost(src.module, src.input_size, src.include_bias,
                                              before)
        manifest["deploy_cost"] = deploy_cost(module, src.input_size, src.include_bias, after)
    else:
        manifest["deploy_cost"] = deploy_cost(module, src.input_size, src.include_bias)
    what = f"{fmt} export of trial {src.trial_id}" + (" (fused)" if fuse else "")
    try:
        manifest["parity"] = parity_check(src.module, written.run, src.input_size, what,
                                          written.runtime)
    except ParityError as exc:
        manifest["parity"] = {"passed": False, "error": str(exc)}
        _write_json(folder / "manifest.json", manifest)
        raise ParityError(f"{exc}; artefacts kept in {folder}") from None
    _write_json(folder / "manifest.json", manifest)
    return manifest


def _index_entry(manifest: dict[str, Any], record: dict[str, Any],
                 objectives: list[str]) -> dict[str, Any]:
    metrics = {**record["metrics"].get("cost", {}), **record["metrics"].get("objectives", {})}
    return {"trial_id": manifest["trial_id"], "arch": manifest["arch"],
            **{name: metrics.get(name) for name in objectives},
            "dir": manifest["dir"], "weights": manifest["weights"]["status"],
            "max_abs_diff": manifest["parity"]["max_abs_diff"]}


def export_checkpoint(checkpoint: str | Path, fmt: str, fuse: bool = False,
                      out: str | Path | None = None) -> dict[str, Any]:
    """Export the network of a `nas train` final checkpoint (default OUT: its folder's
    exports/); same result shape as `export_run`."""
    check_format(fmt)
    src = load_final_source(checkpoint)
    out = Path(out) if out is not None else Path(checkpoint).parent / "exports"
    return {"run": str(src.info.dir), "format": fmt, "fused": fuse, "out": str(out),
            "exports": [export_one(src, fmt, fuse, out)], "index": None}


def export_run(run_dir: str | Path, fmt: str, trial: int | None = None, pareto: bool = False,
               fuse: bool = False, out: str | Path | None = None) -> dict[str, Any]:
    """Export one trial (`trial`) or every Pareto-front arch (`pareto`) of a run folder; a
    trial trained by `nas train` is exported with its final weights.

    Returns {"run", "format", "fused", "out", "exports": [manifest], "index": path|None}.
    Bad input (unknown trial, no finished trials, missing format package) is a UserError.
    """
    if (trial is None) == (not pareto):
        raise UserError("pass exactly one of --trial ID, --pareto or --checkpoint FILE")
    check_format(fmt)
    info, records = select_trials(run_dir, trial, pareto)
    if not records:
        raise UserError(f"run {str(info.dir)!r} has no Pareto front yet (no complete trial "
                        "with finite objective values that meets the config's constraints)")
    out = Path(out) if out is not None else info.dir / "exports"
    manifests = [export_one(load_source(info, r), fmt, fuse, out) for r in records]
    result = {"run": str(info.dir), "format": fmt, "fused": fuse, "out": str(out),
              "exports": manifests, "index": None}
    if pareto:
        index = out / f"pareto-{fmt}{'-fused' if fuse else ''}.json"
        front = run_front(RunStore(info.dir).trials(), info)
        result.update(hypervolume=front["hypervolume"], reference=front["reference"])
        _write_json(index, {"run": str(info.dir), "objectives": dict(info.objectives),
                            "format": fmt, "fused": fuse, "hypervolume": front["hypervolume"],
                            "reference": front["reference"],
                            "front": [_index_entry(m, r, info.objective_names)
                                      for m, r in zip(manifests, records)]})
        result["index"] = str(index)
    return result
