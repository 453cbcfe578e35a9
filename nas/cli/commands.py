"""Implementations of the CLI commands: each returns (JSON-able result, text renderer)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from nas.store.yaml_input import load_yaml
from search_spaces import get_space, list_spaces
from search_spaces.errors import UserError
from search_spaces.genotype import Genotype

from .tables import format_table

__all__ = ["spaces_list", "spaces_describe", "search", "status", "repair"]


def spaces_list(args: argparse.Namespace):
    from search_spaces.space import SPACES

    rows = []
    for name in list_spaces():
        space = get_space(name)
        ops = sorted({str(c) for d in space.decisions() for c in d.choices
                      if isinstance(c, str)})
        rows.append({"name": name, "description": SPACES.get(name).description,
                     "decisions": len(space.decisions()), "ops": ops,
                     "presets": sorted(space.presets()), "options": space.options})
    return {"spaces": rows}, lambda r: format_table(
        [{"space": s["name"], "decisions": s["decisions"], "ops": ", ".join(s["ops"]),
          "presets": ", ".join(s["presets"]) or "-"} for s in r["spaces"]])


def add_space_option_args(parser: argparse.ArgumentParser, input_help: str) -> None:
    """--input-size, --num-classes and repeatable --option KEY=VALUE (read by
    `_space_options`)."""
    parser.add_argument("--input-size", help=input_help)
    parser.add_argument("--num-classes", type=int, help="classifier outputs")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="space option (YAML value), repeatable")


def _space_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--option {item!r} must be KEY=VALUE")
        options[key] = load_yaml(value, f"--option {item!r}")
    if args.input_size:
        try:
            size = tuple(int(v) for v in args.input_size.split(","))
        except ValueError:
            size = ()
        if len(size) != 3 or min(size) < 1:
            raise UserError(f"--input-size {args.input_size!r} must be C,H,W, e.g. 3,32,32")
        options["input_size"] = size
    if args.num_classes is not None:
        options["num_classes"] = args.num_classes
    return options


def spaces_describe(args: argparse.Namespace):
    space = get_space(args.space, **_space_options(args))
    if args.genotype:
        path = Path(args.genotype)
        if not path.is_file():
            raise UserError(f"genotype file {args.genotype!r} does not exist")
        genotypes = [space.validate(Genotype.from_json(path.read_text()))]
    elif args.sample:
        if args.sample < 1:
            raise UserError("--sample must be at least 1")
        rng = np.random.default_rng(args.seed)
        genotypes = [space.sample(rng) for _ in range(args.sample)]
    else:
        presets = space.presets()
        default = next(iter(presets)) if presets else None
        if args.arch is None and default is None:
            raise UserError(f"space {args.space!r} has no presets: pass --arch, --genotype "
                            "or --sample N")
        space, genotype = space.resolve(args.arch or default)  # presets imply options
        genotypes = [genotype]
    described = [space.describe(g) for g in genotypes]
    result = described[0] if len(described) == 1 else {"space": space.name,
                                                        "archs": described}
    return result, lambda _: format_table(
        [{"arch": d["arch"], "params": f"{d['params']:,}", "MMACs": f"{d['mmacs']:.2f}",
          "deploy params": f"{d['deploy_params']:,}",
          "deploy MMACs": f"{d['deploy_macs'] / 1e6:.2f}"} for d in described]) \
        + f"\nMACs count: {described[0]['macs_count']}"


def search(args: argparse.Namespace):
    from nas.api import search as run_search

    flags = {"space": args.space, "strategy": args.strategy, "trials": args.trials,
             "workers": args.workers, "address": args.address, "seed": args.seed}
    run = run_search(args.config, resume=args.resume or False, out=args.out,
                     quiet=args.quiet, progress=args.progress, **flags)
    return run.summary, _render_search


def _render_search(summary: dict[str, Any]) -> str:
    pareto = summary["pareto"]
    rows = [{"trial": r["trial_id"], **{k: _fmt(r[k]) for k in pareto["objectives"]},
             "arch": r["arch"]} for r in pareto["front"]]
    header = (f"Search finished: {summary['trials']} trials ({summary['failed']} failed, "
              f"{summary['pruned']} pruned) in "
              f"{summary['seconds']:.1f}s -> {summary['run_dir']}\n"
              f"Pareto front ({len(rows)} archs, hypervolume {pareto['hypervolume']:.6g}):")
    return header + "\n" + format_table(rows)


def _fmt(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, float) and abs(value) >= 1000 else \
        f"{value:.4g}" if isinstance(value, float) else str(value)


def status(args: argparse.Namespace):
    from nas.pareto.reference import run_reference
    from nas.run.config import config_from_dict
    from nas.run.resume import pending_asks
    from nas.store.results import ResultsView
    from nas.store.trial_log import RunStore

    store = RunStore.open(args.run_dir)
    config = config_from_dict(store.config())
    view = ResultsView(config.objectives, None, run_reference(
        store.dir, [o.name for o in config.objectives], config.reference))
    records = store.trials()
    for record in records:
        view.add(record)
    pareto = view.pareto()
    result = {"run_dir": str(store.dir), "name": config.name, "space": config.space.name,
              "strategy": config.strategy.name, "trials_target": config.trials,
              "done": view.n_finished - view.n_failed, "failed": view.n_failed,
              "infeasible": view.counts["infeasible"], "pruned": view.counts["pruned"],
              "cached": view.counts["cached"],
              "running": len(pending_asks(records, store.load_state())),
              "front_size": len(pareto["front_trial_ids"]),
              "hypervolume": pareto["hypervolume"], "reference": pareto["reference"],
              "reference_fixed": pareto["reference_fixed"],
              "objectives": pareto["objectives"], "failures": _failures(records)}
    return result, _render_status


FAILURES_SHOWN, TRACEBACK_LINES = 5, 12


def _failures(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest failed trials: reason and the end of the traceback of the code (the
    user's evaluator or space included) that raised."""
    failed = [r for r in records if r["metrics"]["status"] == "failed"][-FAILURES_SHOWN:]
    return [{"trial_id": r["trial_id"], "reason": r["metrics"]["reason"],
             "traceback": "\n".join((r.get("traceback") or "").strip().splitlines()
                                    [-TRACEBACK_LINES:])} for r in failed]


def _render_status(result: dict[str, Any]) -> str:
    lines = [f"{k:>14}: {json.dumps(v)}" for k, v in result.items() if k != "failures"]
    for failure in result["failures"]:
        lines.append(f"failed trial {failure['trial_id']}: {failure['reason']}")
        lines += [f"    {line}" for line in failure["traceback"].splitlines()]
    return "\n".join(lines)


def repair(args: argparse.Namespace):
    from nas.run.repair import repair_run

    return repair_run(args.run_dir), lambda r: (
        f"kept {r['kept']} of {r['records']} records ({len(r['duplicated_ids'])} trial ids "
        f"were recorded twice); rebuilt {', '.join(r['rebuilt'])}; the original log and "
        f"derived files are in {r['originals']}")
