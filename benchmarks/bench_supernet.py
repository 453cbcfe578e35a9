"""One-shot benchmarks (CPU): supernet vs subnet step time and memory, SPOS ranking
quality, latency-table build time.

Usage: python benchmarks/bench_supernet.py [--parts step,tau,latency] [--json]

* step: a SPOS supernet training step (set_path + forward + backward + SGD step,
  single path) against the same step of the stand-alone subnet of that path (the
  network `extract` returns), same batch; the two alternate step by step in one process
  and the medians are compared. Memory: each model alone in a fresh process, peak RSS
  (VmHWM) minus the RSS after `import torch`: weights (all candidates for the
  supernet), gradients, optimizer state and activations of two steps.
  Targets: time <= 1.15x, memory <= 1.5x.
* tau: SPOS (Guo et al. 2020) supernet trained on sklearn digits, 20 random DARTS
  subnets scored with inherited weights (BN recalibrated) vs trained stand-alone
  briefly; Kendall tau between the two rankings.
* latency: time to build the FBNet latency table on CPU (22 layers x 9 ops, batch 1,
  3x224x224) as a Ray job with one task per layer.
GPU figures need a GPU; this script measures CPU only.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

__all__ = ["main"]

STEP_CASES = {
    "fbnet_3x64x64_b32": ("fbnet", {"input_size": [3, 64, 64], "num_classes": 10,
                                    "strides": "imagenet"}, 32, ["fbnet_b", "sample:1"]),
    "darts_C8_L5_3x32x32_b32": ("darts", {"C": 8, "layers": 5, "input_size": [3, 32, 32],
                                          "num_classes": 10}, 32, ["darts_v2", "sample:1"]),
}


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _genotype(space, arch: str):
    import numpy as np

    if arch.startswith("sample:"):
        return space.sample(np.random.default_rng(int(arch.split(":")[1])))
    return space.resolve(arch)[1]


def _step_fn(model, x, y, genotype=None):
    """One SGD training step of `model` (a supernet gets its path set, as in SPOS)."""
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=4e-5)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> float:
        start = time.perf_counter()
        if genotype is not None:
            model.set_path(genotype)  # validates and points the layers, every step
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - start

    return step


def measure(spec: dict) -> dict:
    """Runs in a fresh process. mode 'time': supernet and its extracted subnet, steps
    interleaved (so load drift hits both alike), medians; mode 'supernet' / 'subnet':
    one model only, for its peak RSS."""
    import torch

    from search_spaces import get_space
    from search_spaces.supernet import build_supernet

    torch.set_num_threads(1)
    base = _rss_mb("VmRSS")
    space = get_space(spec["space"], **spec["options"])
    genotype = _genotype(space, spec["arch"])
    torch.manual_seed(0)
    x = torch.randn(spec["batch"], *space.input_size())
    y = torch.randint(0, space.options["num_classes"], (spec["batch"],))
    if spec["mode"] == "subnet":
        steps = {"subnet": _step_fn(space.build(genotype).train(), x, y)}
    else:
        supernet = build_supernet(space).train()
        supernet.set_path(genotype)
        steps = {"supernet": _step_fn(supernet, x, y, genotype)}
        if spec["mode"] == "time":
            steps["subnet"] = _step_fn(supernet.extract(genotype), x, y)
    times = {name: [] for name in steps}
    for i in range(spec["warmup"] + spec["steps"]):
        for name, step in steps.items():
            took = step()
            if i >= spec["warmup"]:
                times[name].append(took)
    return {"step_s": {k: statistics.median(v) for k, v in times.items()},
            "mem_mb": _rss_mb("VmHWM") - base}


def _subprocess(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_measure", json.dumps(spec)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_step(steps: int, warmup: int) -> list[dict]:
    rows = []
    for case, (space, options, batch, archs) in STEP_CASES.items():
        for arch in archs:
            base = {"space": space, "options": options, "batch": batch, "arch": arch,
                    "steps": steps, "warmup": warmup}
            timed = _subprocess({**base, "mode": "time"})["step_s"]
            sup = _subprocess({**base, "mode": "supernet", "steps": 2})["mem_mb"]
            sub = _subprocess({**base, "mode": "subnet", "steps": 2})["mem_mb"]
            rows.append({"case": case, "arch": arch, "supernet_step_s": timed["supernet"],
                         "subnet_step_s": timed["subnet"],
                         "time_ratio": timed["supernet"] / timed["subnet"],
                         "supernet_mem_mb": sup, "subnet_mem_mb": sub, "mem_ratio": sup / sub})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def bench_tau(archs: int, supernet_epochs: int, standalone_epochs: int, seeds: int) -> dict:
    """Kendall tau of SPOS inherited-weight accuracy vs short stand-alone training (mean
    over `seeds` training seeds); with 2+ seeds also the seed-to-seed tau of stand-alone
    training itself, the agreement a perfect proxy could reach with this reference."""
    import numpy as np
    import torch

    from search_spaces import get_space
    from search_spaces.supernet import build_supernet
    from trainers.data import load_dataset
    from trainers.evaluators import make_evaluator
    from trainers.oneshot import kendall_tau, oneshot_config, train_supernet

    torch.set_num_threads(1)
    space = get_space("darts", C=8, layers=3, input_size=(1, 8, 8), num_classes=10)
    data = load_dataset("digits")
    ckpt = ROOT / "results" / "bench_supernet" / "darts_digits.pt"
    ckpt.unlink(missing_ok=True)
    torch.manual_seed(0)
    start = time.perf_counter()
    summary = train_supernet(build_supernet(space), data, oneshot_config(
        epochs=supernet_epochs, batch_size=64, lr=0.05, weight_decay=5e-4), ckpt)
    train_s = time.perf_counter() - start
    rng = np.random.default_rng(2020)
    genotypes = []
    while len(genotypes) < archs:
        g = space.sample(rng)
        if g.key not in {x.key for x in genotypes}:
            genotypes.append(g)
    oneshot = make_evaluator("supernet", {"checkpoint": str(ckpt), "bn_batches": 10})
    start = time.perf_counter()
    a = [oneshot(space, g).objectives["accuracy"] for g in genotypes]
    oneshot_s = time.perf_counter() - start
    start = time.perf_counter()
    runs = []
    for seed in range(seeds):
        standalone = make_evaluator("train", {"epochs": standalone_epochs, "seed": seed})
        runs.append([standalone(space, g).objectives["accuracy"] for g in genotypes])
    standalone_s = time.perf_counter() - start
    b = np.mean(runs, axis=0).tolist()
    return {"archs": archs, "supernet_epochs": supernet_epochs,
            "supernet_final_loss": summary["history"][-1]["loss"],
            "standalone_epochs": standalone_epochs, "standalone_seeds": seeds,
            "kendall_tau": kendall_tau(a, b),
            "kendall_tau_per_seed": [kendall_tau(a, r) for r in runs],
            "standalone_seed_to_seed_tau": kendall_tau(runs[0], runs[1]) if seeds > 1 else None,
            "oneshot_accuracy": a, "standalone_accuracy": runs,
            "seconds": {"supernet_training": train_s, "oneshot_scoring": oneshot_s,
                        "standalone_training": standalone_s}}


def bench_latency(repeats: int) -> dict:
    from nas.oneshot.latency_job import build_latency_table
    from search_spaces import get_space

    space = get_space("fbnet")
    start = time.perf_counter()
    table = build_latency_table(space, "cpu", 1, 3, repeats, workers=1)
    wall = time.perf_counter() - start
    out = ROOT / "results" / "bench_supernet" / "fbnet_cpu_3x224x224.json"
    table.save(out)
    return {"wall_s_incl_ray_start": wall, "measure_s": table.meta["build_seconds"],
            "layers": len(table.layers), "ops": len(table.layers[0]["ops"]),
            "fbnet_c_ms": table.predict(space.parse("fbnet_c")), "table": str(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="step,tau,latency")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--supernet-epochs", type=int, default=30)
    parser.add_argument("--standalone-epochs", type=int, default=3)
    parser.add_argument("--standalone-seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--_measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._measure:
        print(json.dumps(measure(json.loads(args._measure))))
        return 0
    parts, result = args.parts.split(","), {}
    if "step" in parts:
        result["step"] = bench_step(args.steps, args.warmup)
    if "tau" in parts:
        result["tau"] = bench_tau(args.archs, args.supernet_epochs, args.standalone_epochs,
                                  args.standalone_seeds)
    if "latency" in parts:
        result["latency"] = bench_latency(args.repeats)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
