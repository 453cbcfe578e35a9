"""User-facing errors: raised at boundaries, turned into exit code 2 by the CLI."""
from __future__ import annotations

import difflib
from typing import Iterable

__all__ = ["UserError", "unknown_choice"]


class UserError(ValueError):
    """Bad input from a user (config, CLI flag, file, genotype): one line naming the fix."""


def unknown_choice(kind: str, name: object, allowed: Iterable[str]) -> UserError:
    """Build a `UserError` for an unknown name, listing close matches and allowed values."""
    allowed = sorted(str(a) for a in allowed)
    close = difflib.get_close_matches(str(name), allowed, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return UserError(f"unknown {kind} {name!r}.{hint} Allowed: {', '.join(allowed)}")
