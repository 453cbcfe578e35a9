"""CLI parsers and thin command functions for `nas export` and `nas dashboard`.

Each `add_*` takes the subparsers object of `nas.cli.build_parser`; each command returns
(JSON-able result, text renderer) like the ones in `nas.cli.commands`.
"""
from __future__ import annotations

import argparse
from typing import Any

from .tables import format_table

__all__ = ["add_export_parser", "add_dashboard_parser", "export", "dashboard"]

EXPORT_FORMATS = ("json", "pytorch", "torchscript", "onnx")


def add_export_parser(sub) -> None:
    p = sub.add_parser("export", help="export a trial or the Pareto front (json, pytorch, "
                                      "torchscript, onnx) with a parity check")
    p.add_argument("run_dir", nargs="?", help="a run folder, e.g. results/quickstart")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--trial", type=int, metavar="ID", help="trial id to export (its "
                                                               "`nas train` weights if any)")
    which.add_argument("--pareto", action="store_true", help="export every Pareto-front arch "
                                                             "and write an index file")
    which.add_argument("--checkpoint", metavar="FILE", help="a final.pt of `nas train` "
                                                            "(no RUN_DIR needed)")
    p.add_argument("--format", required=True, metavar="FORMAT",
                   help=f"one of {', '.join(EXPORT_FORMATS)} (onnx needs the [onnx] extra)")
    p.add_argument("--fuse", action="store_true", help="re-parameterise / fold Conv-BN first "
                                                       "and record deploy params/MACs/latency")
    p.add_argument("--out", help="output folder (default RUN_DIR/exports)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=export)


def add_dashboard_parser(sub) -> None:
    p = sub.add_parser(
        "dashboard", help="read-only web dashboard of a run (live while it runs)",
        description="Serve a read-only web dashboard of a run folder (live while it runs). "
                    "Every page and API route only reads the run folder, except the export "
                    "button: it runs `nas export RUN_DIR --trial ID --format FORMAT [--fuse]` "
                    "for the selected trial, which writes RUN_DIR/exports/trial_<ID>/<FORMAT>"
                    "[-fused]/ (arch.json, manifest.json, and state_dict.pt + load_model.py, "
                    "model.ts.pt or model.onnx for pytorch, torchscript, onnx); the request "
                    "cannot choose another path. No authentication: it binds 127.0.0.1 "
                    "unless --host says otherwise.")
    p.add_argument("run_dir", help="a run folder, e.g. results/quickstart")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.set_defaults(func=dashboard)


def export(args: argparse.Namespace):
    from search_spaces.errors import UserError

    from nas.export import export_checkpoint, export_run

    if args.checkpoint:
        result = export_checkpoint(args.checkpoint, args.format, fuse=args.fuse, out=args.out)
    elif args.run_dir is None:
        raise UserError("--trial and --pareto need a RUN_DIR (e.g. nas export results/run "
                        "--trial 3 --format onnx)")
    else:
        result = export_run(args.run_dir, args.format, trial=args.trial, pareto=args.pareto,
                            fuse=args.fuse, out=args.out)
    return result, _render_export


def _render_export(result: dict[str, Any]) -> str:
    rows = [{"trial": "-" if m["trial_id"] is None else m["trial_id"],
             "format": m["format"] + ("+fused" if m["fused"] else ""),
             "weights": m["weights"]["status"],
             "max|diff|": f"{m['parity']['max_abs_diff']:.2e}",
             "params": f"{m['deploy_cost']['params']:,}", "dir": m["dir"]}
            for m in result["exports"]]
    notes = {m["fusion"]["note"] for m in result["exports"] if "fusion" in m}
    tail = f"\nindex: {result['index']}" if result["index"] else ""
    if result["index"]:
        tail += f" (front hypervolume {result['hypervolume']:.6g})"
    tail += "".join(f"\nfusion: {n}" for n in sorted(notes))
    return format_table(rows) + tail


def dashboard(args: argparse.Namespace):
    from nas.dashboard import serve

    serve(args.run_dir, args.host, args.port)
    return {}, None
