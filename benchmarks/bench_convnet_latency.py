"""CPU latency vs MACs of the convnet presets, training form and fused deploy form, at
batch 1 and 32: "On the Efficiency of CNNs" (latency is not FLOPs) made visible.

Each preset is built at 224x224 (ImageNet layout), its BNs randomised, and both forms are
timed in the same run, interleaved (ABBA, `bench_reparam._time_pair`). The table prints
median wall and process-CPU ms, MACs, and GMAC per CPU second; `gap` is CPU ms per GMAC
relative to ConvNeXt-T (above 1: slower per MAC). CPU ms is steadier than wall clock when
other jobs share the cores. Base-size models (ConvNeXt-S/B, RepLKNet-31B) run at batch 1
only unless --all-batches; batch 32 gets half the rounds. A few minutes on 2 idle cores.

    python -m benchmarks.bench_convnet_latency [--presets convnext_t,lsnet_t] [--batches 1,32]
        [--rounds 3] [--threads 2] [--all-batches] [--json] [--run RUN_DIR]

`--run RUN_DIR` also writes RUN_DIR/reference_points.json, which the dashboard's
"Latency vs MACs" plot draws next to the run's trials (batch 1, fused).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_reparam import _time_pair  # noqa: E402
from search_spaces import get_space  # noqa: E402
from search_spaces.reparam import fuse_model, randomize_bn_  # noqa: E402
from search_spaces.counting import count_macs  # noqa: E402

BASE = {"convnext_s", "convnext_b", "replknet_31b"}
REFERENCE = "convnext_t"
DEFAULT_PRESETS = ("convnext_t", "hornet_t_7x7", "replknet_31b", "unireplknet_a",
                   "unireplknet_t", "lsnet_t", "lsnet_b")


def bench_preset(name: str, batch: int, rounds: int) -> dict:
    """Median wall ms of both forms of preset `name` at `batch`, with their MACs."""
    space, genotype = get_space("convnet").resolve(name)
    torch.manual_seed(0)
    model = randomize_bn_(space.build(genotype), seed=1).eval()
    fused = fuse_model(model)
    size = space.input_size()
    macs = {"unfused": count_macs(model, size), "fused": count_macs(fused, size)}
    rounds = max(2, rounds // 2) if batch > 1 else rounds
    unfused, deploy = _time_pair(model, fused, torch.randn(batch, *size), rounds, warmup=1)
    ms = {"unfused": statistics.median(t[0] for t in unfused),
          "fused": statistics.median(t[0] for t in deploy)}
    cpu = {"unfused": statistics.median(t[1] for t in unfused),
           "fused": statistics.median(t[1] for t in deploy)}
    return {"preset": name, "style": space.options["style"], "batch": batch, "rounds": rounds,
            **{f"{form}_ms": ms[form] for form in ms},
            **{f"{form}_cpu_ms": cpu[form] for form in cpu},
            **{f"{form}_macs": macs[form] for form in macs},
            **{f"{form}_gmacs_per_s": batch * macs[form] / cpu[form] / 1e6 for form in cpu}}


def _with_gap(rows: list[dict]) -> list[dict]:
    """CPU ms per GMAC (fused) relative to ConvNeXt-T at the same batch."""
    per_gmac = {(r["preset"], r["batch"]): r["fused_cpu_ms"] / (r["fused_macs"] / 1e9)
                for r in rows}
    for r in rows:
        ref = per_gmac.get((REFERENCE, r["batch"]))
        r["gap"] = per_gmac[(r["preset"], r["batch"])] / ref if ref else float("nan")
    return rows


def _table(rows: list[dict]) -> str:
    head = (f"{'preset':<14} {'batch':>5} {'GMACs':>7} {'unfused ms':>11} {'fused ms':>9} "
            f"{'unfused cpu ms':>14} {'fused cpu ms':>12} {'fused GMAC/s':>12} {'gap':>5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['preset']:<14} {r['batch']:>5} {r['fused_macs'] / 1e9:>7.3f} "
                     f"{r['unfused_ms']:>11.1f} {r['fused_ms']:>9.1f} "
                     f"{r['unfused_cpu_ms']:>14.1f} {r['fused_cpu_ms']:>12.1f} "
                     f"{r['fused_gmacs_per_s']:>12.1f} {r['gap']:>5.2f}")
    return "\n".join(lines)


def reference_points(rows: list[dict]) -> list[dict]:
    """Batch-1 fused points for the dashboard's latency plot."""
    return [{"label": r["preset"], "macs": r["fused_macs"], "latency_ms": r["fused_ms"]}
            for r in rows if r["batch"] == 1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default=",".join(DEFAULT_PRESETS),
                   help=f"comma-separated, from: {', '.join(get_space('convnet').presets())}")
    p.add_argument("--batches", default="1,32")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--all-batches", action="store_true", help="Base models at batch > 1 too")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--run", help="run folder to write reference_points.json into")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        for name in (n.strip() for n in args.presets.split(",")):
            if batch > 1 and name in BASE and not args.all_batches:
                continue
            rows.append(bench_preset(name, batch, args.rounds))
            print(f"{name} batch {batch}: fused {rows[-1]['fused_ms']:.1f} ms", file=sys.stderr)
    rows = _with_gap(rows)
    if args.run:
        (Path(args.run) / "reference_points.json").write_text(
            json.dumps({"source": "benchmarks/bench_convnet_latency.py", "threads": args.threads,
                        "points": reference_points(rows)}, indent=1))
    print(json.dumps({"threads": args.threads, "rows": rows}) if args.json else _table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
