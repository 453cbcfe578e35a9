"""CLI for one-shot NAS: `nas latency-table` and `nas supernet extract`.

`add_parser(sub)` adds both commands to `nas`'s subparsers; each command returns
(JSON-able result, text renderer) like `nas.cli.commands`.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from search_spaces import get_space
from search_spaces.errors import UserError

from .commands import _space_options

__all__ = ["add_parser", "latency_table", "supernet_extract"]


def add_parser(sub) -> None:
    """Register `latency-table` and `supernet` on the `nas` subparsers."""
    p = sub.add_parser("latency-table", help="time every candidate op of a space's "
                       "supernet on a device (FBNet latency lookup table)")
    p.add_argument("--space", required=True, help="space with a layer-wise supernet: fbnet")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="where to measure (default cpu)")
    p.add_argument("--input-size", help="C,H,W input size, e.g. 3,224,224")
    p.add_argument("--num-classes", type=int, help="classifier outputs")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="space option (YAML value), repeatable, e.g. extra_ops=[skip_connect]")
    p.add_argument("--batch-size", type=int, default=1, help="batch of the timed input")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs per op")
    p.add_argument("--repeats", type=int, default=10, help="timed runs per op (median)")
    p.add_argument("--workers", type=int, default=1,
                   help="parallel Ray tasks (default 1: parallel CPU timings disturb "
                        "each other; use the GPU count with --device cuda)")
    p.add_argument("--address", help="Ray cluster address (default: local)")
    p.add_argument("--out", help="table file (default results/latency/<space>_<device>_"
                   "<C>x<H>x<W>.json)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=latency_table)
    s = sub.add_parser("supernet", help="one-shot supernets: extract a stand-alone subnet")
    ssub = s.add_subparsers(dest="action", required=True, metavar="{extract}")
    e = ssub.add_parser("extract", help="the stand-alone network of an arch, with the "
                        "supernet checkpoint's weights (torch file)")
    e.add_argument("checkpoint", help="supernet checkpoint, e.g. results/<run>/checkpoints/"
                   "supernet.pt")
    which = e.add_mutually_exclusive_group(required=True)
    which.add_argument("--arch", help="space arch string or preset")
    which.add_argument("--genotype", help="genotype JSON file")
    e.add_argument("--bn-dataset", help="recalibrate BN on this dataset's training split "
                   "(e.g. digits) before saving")
    e.add_argument("--out", required=True, help="output .pt file (state_dict + genotype)")
    e.add_argument("--force", action="store_true", help="overwrite an existing --out")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=supernet_extract)


def _input_tag(space) -> str:
    return "x".join(str(v) for v in space.input_size())


def latency_table(args: argparse.Namespace):
    """Build a latency table as a Ray job (one task per layer) and save it."""
    from nas.oneshot.latency_job import build_latency_table
    from trainers.oneshot.latency import check_device

    if min(args.batch_size, args.repeats, args.workers) < 1 or args.warmup < 0:
        raise UserError("--batch-size, --repeats and --workers must be >= 1, --warmup >= 0")
    space = get_space(args.space, **_space_options(args))
    check_device(args.device)
    out = Path(args.out or f"results/latency/{space.name}_{args.device}_{_input_tag(space)}.json")
    if out.exists() and not args.force:
        raise UserError(f"{str(out)!r} exists; pass --force to overwrite or choose --out")
    table = build_latency_table(space, args.device, args.batch_size, args.warmup,
                                args.repeats, args.workers, args.address)
    table.save(out)
    result = {"path": str(out), "space": table.space, "device": table.device,
              "device_name": table.meta["device_name"], "layers": len(table.layers),
              "ops": len(table.layers[0]["ops"]), "build_seconds":
              table.meta["build_seconds"], "fixed_ms": table.meta["fixed_ms"],
              "torch": table.meta["torch"], "input_size": list(space.input_size())}
    return result, lambda r: (f"latency table: {r['layers']} layers x {r['ops']} ops on "
                              f"{r['device']} ({r['device_name']}) in "
                              f"{r['build_seconds']:.1f}s -> {r['path']}")


def supernet_extract(args: argparse.Namespace):
    """Save the stand-alone subnet of an arch with the supernet's weights."""
    import torch

    from search_spaces.genotype import Genotype
    from trainers.oneshot.checkpoint import load_supernet

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UserError(f"{str(out)!r} exists; pass --force to overwrite")
    supernet, data = load_supernet(args.checkpoint)
    space = supernet.space
    if args.genotype:
        path = Path(args.genotype)
        if not path.is_file():
            raise UserError(f"genotype file {args.genotype!r} does not exist")
        genotype = space.validate(Genotype.from_json(path.read_text()))
    else:
        genotype = space.parse(args.arch)
    subnet = supernet.eval().extract(genotype)
    if args.bn_dataset:
        from trainers.data import load_dataset
        from trainers.oneshot.bn import bn_batches, recalibrate_bn

        splits = load_dataset(args.bn_dataset, 0, None)
        recalibrate_bn(subnet, bn_batches(splits.x_train, 10, 64, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"space": space.name, "options": data["fingerprint"]["options"],
                "genotype": genotype.to_dict(), "state_dict": subnet.state_dict()}, out)
    result: dict[str, Any] = {"path": str(out), "space": space.name, "arch": space.format(genotype),
                              "params": sum(p.numel() for p in subnet.parameters()),
                              "supernet_epochs": int(data["epoch"])}
    return result, lambda r: json.dumps(r)
