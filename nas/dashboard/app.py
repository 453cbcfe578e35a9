"""The dashboard's Flask app: a static page plus a small read-only JSON API.

GET  /                      the page (static/index.html, app.js, canvas plots, style.css)
GET  /api/meta              run, objectives, constraints, poll interval
GET  /api/token             change token of trials.jsonl (a stat; polled by the page)
GET  /api/trials?since=N    rows N.. as compact columns (incremental)
GET  /api/front?metrics=a,b[,c]&directions=...   Pareto-front rows for any 2-3 metrics
GET  /api/history           hypervolume and best objective over time, rung correlations
GET  /api/trial/<id>        one record and a drawing (cell SVG or layer table)
POST /api/export            {trial_id, format, fuse}: runs `nas export` (the one write)
"""
from __future__ import annotations

import gzip
import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    request,
    send_from_directory,
)
from werkzeug.exceptions import HTTPException

from nas.store.runinfo import RunInfo, read_run_info

from .analysis import default_direction, front_rows, history, rung_correlations
from .data import TrialTable
from .drawing import draw_genotype
from .exporting import EXPORT_FORMATS, run_export

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
_GZIP_TYPES = ("application/json", "text/html", "text/css", "text/javascript",
               "application/javascript")


class _Payloads:
    """Encoded JSON responses keyed by request, dropped whenever the trial count changes.

    Each payload is encoded once and gzipped at most once, so page loads and polls cost
    a dictionary lookup until a new trial arrives.
    """

    def __init__(self, table: TrialTable) -> None:
        self.table, self.n, self.items = table, -1, {}
        self.lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> dict[str, bytes]:
        with self.lock:
            self.table.refresh()
            if len(self.table) != self.n:
                self.n, self.items = len(self.table), {}
            if key not in self.items:
                self.items[key] = {"raw": _encode(compute())}
            return self.items[key]

    def respond(self, key: Any, compute: Callable[[], Any]) -> Response:
        entry = self.get(key, compute)
        if "gzip" not in request.headers.get("Accept-Encoding", "") or len(entry["raw"]) < 1024:
            return Response(entry["raw"], mimetype="application/json")
        if "gz" not in entry:
            entry["gz"] = gzip.compress(entry["raw"], compresslevel=5)
        return Response(entry["gz"], mimetype="application/json",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})


def _encode(data: Any) -> bytes:
    """Compact JSON; NaN is not JSON, so it must have been turned into null before."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def _gzip(response: Response) -> Response:
    """Compress text responses over 1 KB for clients that accept gzip."""
    if (response.direct_passthrough or response.status_code != 200
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.mimetype not in _GZIP_TYPES or "Content-Encoding" in response.headers):
        return response
    data = response.get_data()
    if len(data) < 1024:
        return response
    response.set_data(gzip.compress(data, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response


def _json_error(exc: HTTPException):
    """API errors as {"error": ...} so the page can show the message."""
    return jsonify(ok=False, error=exc.description), exc.code


def _finite(value: Any) -> Any:
    """Non-finite floats -> None, so the JSON parses in a browser (the log allows NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _metric_params(table: TrialTable, configured: dict[str, str]) -> tuple[list, list]:
    names = [n for n in request.args.get("metrics", "").split(",") if n]
    if not 2 <= len(names) <= 3 or len(set(names)) != len(names):
        abort(400, "metrics must name 2 or 3 different metrics, e.g. metrics=accuracy,params")
    unknown = [n for n in names if n not in table.metrics]
    if unknown:
        abort(400, f"unknown metric {unknown[0]!r}; known: {', '.join(sorted(table.metrics))}")
    directions = [d for d in request.args.get("directions", "").split(",") if d]
    if directions and (len(directions) != len(names)
                       or set(directions) - {"maximize", "minimize"}):
        abort(400, "directions must give maximize|minimize for each metric")
    return names, directions or [default_direction(table, n, configured) for n in names]


@dataclass
class _Context:
    """Per-app state: the run, its trial table and the cached payloads."""

    info: RunInfo
    table: TrialTable
    payloads: _Payloads
    poll_ms: int
    export_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def configured(self) -> dict[str, str]:
        return dict(self.info.objectives)

    def history(self) -> dict[str, Any]:
        table, configured = self.table, self.configured
        names = [n for n in self.info.objective_names if n in table.metrics]
        target = next((n for n in names if table.kinds.get(n) == "objectives"), None)
        whole = names == self.info.objective_names  # the run's reference fits
        result = history(table, names, [configured[n] for n in names], self.info.constraints,
                         self.info.reference if whole else None) if names else {}
        return {**result, "rungs": rung_correlations(table, target)}


def reference_points(run_dir: Path) -> list[dict[str, Any]]:
    """Reference models for the latency plot from `<run>/reference_points.json` (written by
    benchmarks/bench_convnet_latency.py --run): points with label, macs, latency_ms."""
    path = Path(run_dir) / "reference_points.json"
    try:
        points = json.loads(path.read_text())["points"]
        return [{"label": str(p["label"]), "macs": float(p["macs"]),
                 "latency_ms": float(p["latency_ms"])} for p in points]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # absent or malformed: the plot shows the trials only


def _ctx() -> _Context:
    return current_app.extensions["nas_dashboard"]


def create_app(run_dir: str | Path, poll_ms: int = 2000) -> Flask:
    """The dashboard app for one run folder (UserError when it is not a run folder).

    The first page load's payloads (all trials, history) are precomputed here, so opening
    the page costs lookups, not parsing.
    """
    info = read_run_info(run_dir)
    table = TrialTable(info.dir)
    table.refresh()
    ctx = _Context(info, table, _Payloads(table), poll_ms)
    ctx.payloads.get("trials", table.columns)
    ctx.payloads.get("history", ctx.history)
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.extensions["nas_dashboard"] = ctx
    app.after_request(_gzip)
    app.register_error_handler(HTTPException, _json_error)
    app.register_blueprint(api)
    return app


api = Blueprint("nas_dashboard", __name__)


@api.get("/")
def index():
    return send_from_directory(STATIC, "index.html")


@api.get("/favicon.ico")
def favicon():
    return Response(status=204)


@api.get("/api/meta")
def meta():
    ctx = _ctx()
    info = ctx.info
    return jsonify(run=str(info.dir), name=info.name, space=info.space,
                   space_options=info.space_options, poll_ms=ctx.poll_ms,
                   objectives=[{"name": n, "direction": d} for n, d in info.objectives],
                   constraints=[vars(c) for c in info.constraints],
                   export_formats=list(EXPORT_FORMATS), token=ctx.table.token(),
                   reference_points=reference_points(info.dir))


@api.get("/api/token")
def token():
    return jsonify(token=_ctx().table.token())


@api.get("/api/trials")
def trials():
    ctx, since = _ctx(), request.args.get("since", "0")
    if not since.isdigit():
        abort(400, "since must be a non-negative integer")
    if since == "0":  # the page's first load: cached, precomputed at start-up
        return ctx.payloads.respond("trials", ctx.table.columns)
    ctx.table.refresh()
    return Response(_encode(ctx.table.columns(int(since))), mimetype="application/json")


@api.get("/api/front")
def front():
    ctx = _ctx()
    names, directions = _metric_params(ctx.table, ctx.configured)
    return ctx.payloads.respond(("front", tuple(names), tuple(directions)), lambda: {
        "metrics": names, "directions": directions,
        **front_rows(ctx.table, names, directions, ctx.info.constraints)})


@api.get("/api/history")
def hist():
    ctx = _ctx()
    return ctx.payloads.respond("history", ctx.history)


@api.get("/api/trial/<int:trial_id>")
def trial(trial_id: int):
    table = _ctx().table
    table.refresh()
    record = table.record(trial_id)
    if record is None:
        abort(404, f"trial {trial_id} is not in this run")
    return jsonify(record=_finite(record), drawing=draw_genotype(record.get("genotype") or {}))


@api.post("/api/export")
def export():
    ctx = _ctx()
    return run_export(ctx.info.dir, request, ctx.table, ctx.export_lock)
