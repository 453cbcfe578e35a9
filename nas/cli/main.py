"""The `nas` command line: a thin layer over the library (see README for examples).

Every command takes --help; --json prints exactly one JSON object on stdout (logs and
progress go to stderr). Exit 0 on success, 2 on bad input with a one-line reason.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Sequence

from search_spaces.errors import UserError

from . import benchmark as cli_benchmark
from . import commands
from . import export as cli_export
from . import oneshot as cli_oneshot
from . import proxies as cli_proxies
from . import train as cli_train

__all__ = ["main", "build_parser"]


def _spaces(sub) -> None:
    p = sub.add_parser("spaces", help="list and describe search spaces")
    ssub = p.add_subparsers(dest="action", required=True, metavar="{list,describe}")
    lp = ssub.add_parser("list", help="spaces, their decisions and op sets")
    lp.add_argument("--json", action="store_true", help="print one JSON object")
    lp.set_defaults(func=commands.spaces_list)
    dp = ssub.add_parser("describe", help="params and MACs of an architecture")
    dp.add_argument("space", help="space name (see `nas spaces list`)")
    which = dp.add_mutually_exclusive_group()
    which.add_argument("--arch", help="preset name or space arch string (nb201: 'index:N')")
    which.add_argument("--genotype", help="genotype JSON file")
    which.add_argument("--sample", type=int, metavar="N", help="describe N random archs")
    dp.add_argument("--seed", type=int, default=0, help="seed for --sample (default 0)")
    commands.add_space_option_args(dp, "C,H,W input size, e.g. 3,32,32")
    dp.add_argument("--json", action="store_true", help="print one JSON object")
    dp.set_defaults(func=commands.spaces_describe)


def _workers(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer or 'auto', got {text!r}") from None


def _search(sub) -> None:
    p = sub.add_parser("search", help="run (or resume) an architecture search")
    p.add_argument("--config", help="search config YAML (see configs/)")
    p.add_argument("--space", help="override the config's space")
    p.add_argument("--strategy", help="override the config's strategy")
    p.add_argument("--trials", type=int, help="override the number of trials")
    p.add_argument("--workers", type=_workers,
                   help="concurrent trials, or 'auto' for every cluster CPU (default: config)")
    p.add_argument("--address", help="Ray cluster: auto | HOST:PORT | ray://HOST:PORT")
    p.add_argument("--out", help="run folder (default results/<name>, made unique)")
    p.add_argument("--resume", nargs="?", const=True, metavar="RUN_DIR",
                   help="continue a killed run (its folder, or the config's)")
    p.add_argument("--seed", type=int, help="override the seed")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--progress", choices=("text", "json"), default="text",
                   help="progress lines on stderr as text or JSON lines (default text)")
    p.add_argument("--json", action="store_true", help="print one JSON summary object")
    p.set_defaults(func=commands.search)


def _status(sub) -> None:
    p = sub.add_parser("status", help="trials done/running/failed, front size, hypervolume")
    p.add_argument("run_dir", help="a run folder, e.g. results/quickstart")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=commands.status)


def _repair(sub) -> None:
    p = sub.add_parser("repair", help="keep the first record of each trial id, rebuild "
                                      "trials.parquet, study.db and pareto.json from the log")
    p.add_argument("run_dir", help="a run folder, e.g. results/quickstart")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=commands.repair)


class _OneLineErrors(argparse.ArgumentParser):
    """Usage errors as one line naming the problem and --help (exit 2), like UserError."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(prog="nas", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True,
                                metavar="COMMAND")
    for add in (_spaces, _search, _status, _repair):
        add(sub)
    cli_train.add_parser(sub)
    cli_export.add_export_parser(sub)
    cli_export.add_dashboard_parser(sub)
    cli_proxies.add_parser(sub)
    cli_benchmark.add_parser(sub)
    cli_oneshot.add_parser(sub)  # latency-table, supernet
    return parser


def _emit(result: Any, as_json: bool, render: Callable[[Any], str] | None) -> None:
    if as_json:
        print(json.dumps(result, default=str))
    elif render is not None:
        print(render(result))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result, render = args.func(args)
    except UserError as exc:
        print(f"nas {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nas {args.command}: interrupted", file=sys.stderr)
        return 130
    try:
        _emit(result, getattr(args, "json", False), render)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (e.g. `| head`) closed early: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
