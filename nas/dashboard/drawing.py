"""Drawings of one architecture for the dashboard: a cell DAG as SVG, or a layer table.

Cell spaces name their decisions by edge, "<to><-<from>" (NAS-Bench-201, Dong & Yang
2020: node j sums op(node i) over i < j); any other space gets a table of its decisions
in order, which for macro spaces (FBNet, Wu et al. 2019) is one row per layer.
"""
from __future__ import annotations

import html
import re
from typing import Any, Mapping

__all__ = ["draw_genotype", "cell_edges", "cell_svg", "layer_rows"]

_EDGE = re.compile(r"^(\d+)<-(\d+)$")
_COLOURS = {"none": "#bbbbbb", "skip": "#2b8a3e", "conv": "#1c64c8", "pool": "#c2410c"}
_W, _H, _GAP = 640, 260, 170


def cell_edges(decisions: Mapping[str, Any]) -> list[tuple[int, int, str]] | None:
    """(from, to, op) for every decision when all are DAG edges, else None."""
    edges = []
    for name, op in decisions.items():
        match = _EDGE.match(str(name))
        if not match:
            return None
        edges.append((int(match[2]), int(match[1]), str(op)))
    return sorted(edges) or None


def _colour(op: str) -> str:
    for key in ("none", "skip", "pool", "conv"):
        if key in op:
            return _COLOURS[key]
    return "#6b21a8"


def _edge_svg(src: int, dst: int, op: str, xs: dict[int, float], mid: float) -> str:
    """One edge: a straight line between neighbours, an arc above/below for longer jumps."""
    span = dst - src
    x1, x2 = xs[src] + 18, xs[dst] - 18
    lift = 0 if span == 1 else (-1) ** span * (40 + 28 * span)
    cy = mid + lift
    path = f"M{x1:.0f},{mid:.0f} Q{(x1 + x2) / 2:.0f},{cy:.0f} {x2:.0f},{mid:.0f}"
    label_y = mid + lift / 2 + (-6 if lift <= 0 else 14)
    dash = ' stroke-dasharray="5,4"' if op == "none" else ""
    colour = _colour(op)
    return (f'<g class="edge" data-op="{html.escape(op)}"><path d="{path}" fill="none" '
            f'stroke="{colour}" stroke-width="2.5"{dash} marker-end="url(#arrow)"/>'
            f'<text x="{(x1 + x2) / 2:.0f}" y="{label_y:.0f}" text-anchor="middle" '
            f'font-size="12" fill="{colour}">{html.escape(op)}</text></g>')


def cell_svg(edges: list[tuple[int, int, str]], title: str = "") -> str:
    """SVG of a cell DAG: nodes left to right, one labelled arrow per edge ('none' dashed)."""
    nodes = sorted({n for src, dst, _ in edges for n in (src, dst)})
    xs = {n: 40 + i * _GAP for i, n in enumerate(nodes)}
    width = max(_W, int(xs[nodes[-1]]) + 60)
    mid = _H / 2
    names = {nodes[0]: "in", nodes[-1]: "out"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="cell" width="{width}" '
             f'height="{_H}" viewBox="0 0 {width} {_H}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
             'fill="#555"/></marker></defs>']
    if title:
        parts.append(f'<text x="8" y="16" font-size="12" fill="#333">{html.escape(title)}'
                     '</text>')
    parts += [_edge_svg(src, dst, op, xs, mid) for src, dst, op in edges]
    for n in nodes:
        parts.append(f'<g class="node"><circle cx="{xs[n]}" cy="{mid}" r="17" fill="#fff" '
                     f'stroke="#333" stroke-width="2"/><text x="{xs[n]}" y="{mid + 4}" '
                     f'text-anchor="middle" font-size="12">{names.get(n, n)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def layer_rows(decisions: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per decision, in order, with the op spec split into family and options."""
    rows = []
    for i, (name, value) in enumerate(decisions.items()):
        tokens = str(value).split("_")
        options = [t for t in tokens if re.fullmatch(r"(k\d+|\d+x\d+|[egds]\d+)", t)]
        rows.append({"index": i, "decision": name, "choice": value,
                     "op": "_".join(t for t in tokens if t not in options) or str(value),
                     "options": " ".join(options)})
    return rows


def draw_genotype(genotype: Mapping[str, Any]) -> dict[str, Any]:
    """{'kind': 'cell', 'svg': ...} for cell spaces, else {'kind': 'layers', 'rows': [...]}."""
    decisions = genotype.get("decisions") or {}
    edges = cell_edges(decisions)
    if edges:
        return {"kind": "cell", "svg": cell_svg(edges, f"{genotype.get('space', '')} cell"),
                "edges": [{"from": s, "to": d, "op": op} for s, d, op in edges]}
    return {"kind": "layers", "rows": layer_rows(decisions)}
