"""Plain-text tables for terminal output."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["format_table"]


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Left-aligned columns from a list of dicts sharing keys."""
    if not rows:
        return "(none)"
    keys = list(rows[0])
    cells = [[str(k) for k in keys]] + [[str(r.get(k, "")) for k in keys] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(keys))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
