"""`nas proxies`: score random architectures with zero-cost proxies and report, per proxy,
the rank correlation with NAS-Bench-201's 200-epoch CIFAR-10 accuracy and the time per arch.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from search_spaces import get_space
from search_spaces.errors import UserError

from .commands import _space_options, add_space_option_args
from .tables import format_table

__all__ = ["add_parser", "proxies", "sample_unique"]

# the network whose accuracies the NB201 table holds (Dong & Yang 2020: C16-N5, CIFAR)
NB201_BENCHMARK = {"channels": 16, "cells": 5, "num_classes": 10, "input_size": (3, 32, 32)}


def add_parser(sub) -> None:
    p = sub.add_parser("proxies", help="zero-cost proxies on random archs: rank correlation "
                                       "with the NB201 table, time per arch")
    p.add_argument("--space", default="nb201", help="space name (default nb201)")
    p.add_argument("--proxy", required=True, metavar="NAME[,NAME]",
                   help="proxies to run, comma-separated, or 'all' (synflow, naswot, jacov, "
                        "snip, grasp, fisher, grad_norm, zen, params, macs)")
    p.add_argument("--sample", type=int, default=20, metavar="N", help="random archs (20)")
    p.add_argument("--seed", type=int, default=0, help="seed of archs, init, batch (0)")
    p.add_argument("--data", default="digits", metavar="DATA",
                   help="digits | synthetic | cifar10:DIR | cifar100:DIR | npz:FILE | "
                        "npy:DIR | image_folder:DIR; images are resized "
                        "(grey ones replicated) to the network input (default digits)")
    p.add_argument("--batch-size", type=int, default=64, help="images per batch (64)")
    add_space_option_args(p, "network input C,H,W (default: the space's)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=proxies)


def _proxy_names(text: str) -> list[str]:
    from trainers.proxies import get_proxy, proxy_names

    names = proxy_names() if text.strip() == "all" else [
        n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UserError("--proxy needs at least one proxy name, e.g. --proxy synflow,naswot")
    for name in names:
        get_proxy(name)  # a miss names close proxies
    return list(dict.fromkeys(names))


def _dataset(text: str, space):
    from trainers.data import DATASETS, NEEDS_DIR, load_dataset

    name, _, folder = text.partition(":")
    if name in NEEDS_DIR and not folder:
        raise UserError(f"--data {name} needs a path: --data {name}:"
                        f"{'FILE' if name == 'npz' else 'DIR'}")
    if name in DATASETS and name not in NEEDS_DIR and folder:
        raise UserError(f"--data {name} takes no path (only {', '.join(NEEDS_DIR)} do)")
    data = load_dataset(name, 0, None, folder or None)
    outputs = space.options.get("num_classes", data.num_classes)
    if data.num_classes > outputs:
        raise UserError(f"dataset {name!r} has {data.num_classes} classes but the network "
                        f"has {outputs} outputs; pass --num-classes {data.num_classes}")
    return data


def _check_input(space, genotype, batch) -> None:
    """One forward pass on one image: a wrong image size fails here, with a reason."""
    import torch

    try:
        with torch.no_grad():
            space.build(genotype).eval()(batch[0][:1])
    except (RuntimeError, ValueError) as exc:
        raise UserError(f"input size {list(space.input_size())} does not fit space "
                        f"{space.name!r}: {str(exc).splitlines()[0]}") from None


def sample_unique(space, n: int, seed: int) -> list:
    """Up to n distinct random genotypes of `space` (seeded)."""
    rng, seen, out = np.random.default_rng(seed), set(), []
    for _ in range(50 * n):
        genotype = space.sample(rng)
        if genotype.key not in seen:
            seen.add(genotype.key)
            out.append(genotype)
        if len(out) == n:
            break
    return out


def _accuracy(space, genotype) -> float | None:
    if space.name != "nb201":
        return None
    from search_spaces.nb201_table import accuracies, arch_index

    return float(accuracies("cifar10")[arch_index(space.format(genotype))])


def _correlations(scores: list[float], accs: list[float | None]) -> tuple:
    from scipy.stats import kendalltau, spearmanr

    pairs = [(s, a) for s, a in zip(scores, accs) if a is not None and np.isfinite(s)]
    if len(pairs) < 3 or len({p[0] for p in pairs}) < 2:
        return None, None
    xs, ys = zip(*pairs)
    return float(spearmanr(xs, ys).statistic), float(kendalltau(xs, ys).statistic)


def _score_all(space, genotypes, names, batch, seed, quiet) -> list[dict[str, Any]]:
    import torch

    from trainers.proxies import score_proxy

    rows = []
    for i, genotype in enumerate(genotypes, start=1):
        torch.manual_seed(seed)
        model = space.build(genotype)
        scores, seconds = {}, {}
        for name in names:
            start = time.perf_counter()
            scores[name] = score_proxy(name, model, batch, seed)
            seconds[name] = time.perf_counter() - start
        rows.append({"arch": space.format(genotype), "accuracy": _accuracy(space, genotype),
                     "scores": scores, "seconds": seconds})
        if not quiet:
            print(f"[{i}/{len(genotypes)}] {rows[-1]['arch']}", file=sys.stderr, flush=True)
    return rows


def proxies(args: argparse.Namespace):
    """Run `nas proxies`; returns (JSON result, text renderer)."""
    from trainers.data import sample_batch
    from trainers.proxies import get_proxy

    names = _proxy_names(args.proxy)
    if args.sample < 1 or args.batch_size < 1:
        raise UserError("--sample and --batch-size must be at least 1")
    space = get_space(args.space, **_space_options(args))
    data = _dataset(args.data, space)
    batch = sample_batch(data, args.batch_size, args.seed, space.input_size())
    genotypes = sample_unique(space, args.sample, args.seed)
    _check_input(space, genotypes[0], batch)
    probe = space.build(genotypes[0])
    for name in names:
        get_proxy(name).applies(probe)
    rows = _score_all(space, genotypes, names, batch, args.seed, args.quiet)
    accs = [r["accuracy"] for r in rows]
    summary = []
    for name in names:
        rho, tau = _correlations([r["scores"][name] for r in rows], accs)
        summary.append({"proxy": name, "data_free": get_proxy(name).data_free,
                        "spearman": rho, "kendall": tau,
                        "ms_per_arch": 1000 * float(np.mean([r["seconds"][name] for r in rows]))})
    note = _table_note(space)
    result = {"space": space.name, "sample": len(rows), "seed": args.seed, "data": args.data,
              "batch_size": len(batch[0]), "input_size": list(space.input_size()),
              "target": note, "proxies": summary, "archs": rows}
    return result, _render


def _table_note(space) -> str | None:
    if space.name != "nb201":
        return None
    same = all(tuple(space.options[k]) == v if isinstance(v, tuple) else space.options[k] == v
               for k, v in NB201_BENCHMARK.items())
    return ("NATS-Bench CIFAR-10 200-epoch test accuracy" + ("" if same else
            " (of the C16-N5 3x32x32 network; the scored networks differ)"))


def _render(result: dict[str, Any]) -> str:
    rows = [{"proxy": p["proxy"],
             "spearman": "-" if p["spearman"] is None else f"{p['spearman']:.3f}",
             "kendall": "-" if p["kendall"] is None else f"{p['kendall']:.3f}",
             "ms/arch": f"{p['ms_per_arch']:.1f}", "data": "free" if p["data_free"] else
             result["data"]} for p in result["proxies"]]
    target = result["target"] or "no accuracy table for this space"
    return (f"{result['sample']} {result['space']} archs, batch {result['batch_size']}, input "
            f"{result['input_size']}; correlation with {target}\n" + format_table(rows))
