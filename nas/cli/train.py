"""`nas train`: final training of a run's trial or a genotype file, with a progress bar.

The bar is tqdm's on a terminal (one updating line: steps, loss, validation accuracy,
ETA); when stderr is not a terminal, one plain line per epoch instead.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from search_spaces.errors import UserError

from .commands import _space_options, add_space_option_args
from .tables import format_table

__all__ = ["add_parser", "train", "TrainProgress"]

_SETTINGS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "warmup",
             "label_smoothing", "drop_path", "aux_weight", "amp", "device", "seed")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="final training of a trial (or genotype file) at full "
                                     "budget; resumable; `nas export` takes the result")
    p.add_argument("run_dir", nargs="?", help="a run folder, e.g. results/quickstart")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--trial", type=int, metavar="ID", help="trial id of RUN_DIR")
    which.add_argument("--genotype", metavar="FILE", help="genotype JSON (needs --space)")
    p.add_argument("--space", help="space of --genotype (see `nas spaces list`)")
    add_space_option_args(p, "network input C,H,W (default: the run's / the space's)")
    g = p.add_argument_group("training (default: the search's optimiser settings, else "
                             "these)")
    g.add_argument("--epochs", type=int, help="epochs (default 50)")
    g.add_argument("--batch-size", type=int, help="images per step (search's, else 64)")
    g.add_argument("--optimizer", choices=("sgd", "adamw"), help="search's, else sgd")
    g.add_argument("--lr", type=float, help="peak learning rate (search's, else 0.05)")
    g.add_argument("--momentum", type=float, help="SGD momentum, Nesterov (0.9)")
    g.add_argument("--weight-decay", type=float, help="weight decay (search's, else 5e-4)")
    g.add_argument("--warmup", type=int, help="linear warmup epochs before cosine (0)")
    g.add_argument("--label-smoothing", type=float, help="label smoothing (0.1)")
    g.add_argument("--drop-path", type=float, help="final drop-path probability, ramped from "
                                                  "0 (0.2 where the space has it, else 0)")
    g.add_argument("--aux-weight", type=float, help="auxiliary-head loss weight (0.4 where "
                                                   "the space has a head, else 0)")
    g.add_argument("--amp", choices=("auto", "off", "bf16", "fp16"),
                   help="CUDA autocast; auto = bf16 if supported, else fp16; off on CPU")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default auto")
    g.add_argument("--seed", type=int, help="init and data-order seed (the run's)")
    d = p.add_argument_group("data (default: the run's evaluator options, else digits)")
    d.add_argument("--dataset", help="digits | synthetic | cifar10 | cifar100 | npz | npy | "
                                     "image_folder")
    d.add_argument("--data-dir", help="CIFAR batches folder, .npz file, .npy folder or "
                                      "image folder")
    d.add_argument("--image-size", type=int, help="resize images to N x N")
    p.add_argument("--out", help="output folder (default RUN_DIR/final/<trial>)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=train)


class TrainProgress:
    """Step/epoch progress on `stream`: a tqdm bar on a terminal, else a line per epoch."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream, self.quiet = stream or sys.stderr, quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar: Any = None
        self.start, self.epochs_done = time.monotonic(), 0
        self.val_text = ""  # the last epoch's validation accuracy, shown on the bar

    def step(self, step: int, total: int, loss: float) -> None:
        if self.quiet or not self.tty:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=step - 1, unit="step", file=self.stream,
                            dynamic_ncols=True, leave=True)
        self.bar.update(step - self.bar.n)
        if step % 10 == 0 or step == total:
            self.bar.set_postfix_str(f"loss {loss:.4f}" + self.val_text, refresh=False)

    def epoch(self, record: dict[str, Any]) -> None:
        self.epochs_done += 1
        if self.quiet:
            return
        acc = f" val {100 * record['val_accuracy']:.2f}%"
        if self.tty and self.bar is not None:
            self.val_text = acc
            self.bar.set_description(f"epoch {record['epoch']}/{record['epochs']}")
            self.bar.set_postfix_str(f"loss {record['train_loss']:.4f}{acc}")
            return
        per_epoch = (time.monotonic() - self.start) / self.epochs_done
        eta = per_epoch * (record["epochs"] - record["epoch"])
        print(f"epoch {record['epoch']:>{len(str(record['epochs']))}}/{record['epochs']} "
              f"loss {record['train_loss']:.4f}{acc} lr {record['lr']:.3g} "
              f"{record['seconds']:.1f}s ETA {eta:.0f}s", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _job(args: argparse.Namespace):
    from nas.run.final_training import job_from_genotype, job_from_run

    options = _space_options(args)
    data = {"dataset": args.dataset, "data_dir": args.data_dir, "image_size": args.image_size}
    if args.genotype:
        if not args.space:
            raise UserError("--genotype FILE needs --space NAME (see `nas spaces list`)")
        return job_from_genotype(args.genotype, args.space, options, data)
    if args.run_dir is None:
        raise UserError("--trial ID needs a RUN_DIR (e.g. nas train results/run --trial 3)")
    if args.space:
        raise UserError("--space is read from the run folder; use it only with --genotype")
    return job_from_run(args.run_dir, args.trial, options, data)


def train(args: argparse.Namespace):
    from nas.run.final_training import train_final

    progress = TrainProgress(quiet=args.quiet)
    try:
        result = train_final(_job(args), {k: getattr(args, k) for k in _SETTINGS},
                             args.out, progress.step, progress.epoch)
    finally:
        progress.close()
    return result, _render


def _render(result: dict[str, Any]) -> str:
    searched = result["searched_accuracy"]
    row = {"trial": result["trial_id"] if result["trial_id"] is not None else "-",
           "epochs": result["epochs"],
           "searched acc": f"{searched:.2f}" if searched is not None else "-",
           "val acc": f"{result['val_accuracy']:.2f}",
           "test acc": f"{result['test_accuracy']:.2f}", "seconds": f"{result['seconds']:.0f}"}
    resumed = (f" (resumed from epoch {result['resumed_from_epoch']})"
               if result["resumed_from_epoch"] else "")
    return (format_table([row]) + f"\nfinal checkpoint: {result['checkpoint']}{resumed}\n"
            f"export it: nas export --checkpoint {result['checkpoint']} --format onnx")
