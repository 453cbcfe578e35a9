"""The `nas` command line: argument parsing and the commands, nothing else.

`main.py` builds the parser and maps errors to exit codes (0 ok, 2 bad input with a
one-line reason, 130 interrupted); `commands.py` and the `benchmark`, `export`, `oneshot`,
`proxies` and `train` modules hold one thin function per command, each calling the library
(`nas.run`, `nas.store`, `nas.export`, ...) and returning (JSON-able result, renderer).
"""
from __future__ import annotations

from .main import build_parser, main

__all__ = ["build_parser", "main"]
