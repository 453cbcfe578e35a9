"""The dashboard's export button: validate the request, run `nas export` in a subprocess.

A subprocess keeps torch (~200 MB) out of the dashboard server and a crashing exporter
from taking the page down; it writes to RUN/exports like the command line does.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from flask import Request, jsonify

__all__ = ["run_export", "export_command", "EXPORT_FORMATS", "EXPORT_TIMEOUT_S"]

EXPORT_FORMATS = ("json", "pytorch", "torchscript", "onnx")
EXPORT_TIMEOUT_S = 600
_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the nas package


def export_command(run_dir: Path, trial_id: int, fmt: str, fuse: bool) -> list[str]:
    return [sys.executable, "-m", "nas.cli", "export", str(Path(run_dir).resolve()),
            "--trial", str(trial_id), "--format", fmt, "--json"] + (["--fuse"] if fuse else [])


def _bad(message: str, status: int = 400):
    return jsonify(ok=False, error=message), status


def _parse(request: Request, table) -> tuple[int, str, bool] | str:
    """(trial_id, format, fuse) from a JSON body, or an error message."""
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict):
        return "send a JSON object {trial_id, format, fuse}"
    trial_id, fmt, fuse = body.get("trial_id"), body.get("format"), body.get("fuse", False)
    if isinstance(trial_id, bool) or not isinstance(trial_id, int) or \
            trial_id not in table.row_of:
        return f"trial_id {trial_id!r} is not a trial of this run"
    if fmt not in EXPORT_FORMATS:
        return f"format {fmt!r} must be one of {', '.join(EXPORT_FORMATS)}"
    if not isinstance(fuse, bool):
        return "fuse must be true or false"
    return trial_id, fmt, fuse


def run_export(run_dir: Path, request: Request, table, lock: threading.Lock):
    """POST /api/export: one export at a time; returns the `nas export --json` result."""
    if not request.is_json:  # a cross-site form post cannot send application/json
        return _bad("Content-Type must be application/json", 415)
    table.refresh()
    parsed = _parse(request, table)
    if isinstance(parsed, str):
        return _bad(parsed)
    if not lock.acquire(blocking=False):
        return _bad("another export is running; try again when it finishes", 409)
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        proc = subprocess.run(export_command(run_dir, *parsed), capture_output=True, text=True,
                              timeout=EXPORT_TIMEOUT_S, cwd=_ROOT, env=env)
    except subprocess.TimeoutExpired:
        return _bad(f"export did not finish within {EXPORT_TIMEOUT_S} s", 504)
    finally:
        lock.release()
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.splitlines() if l.strip()] or ["export failed"]
        return _bad(lines[-1], 400 if proc.returncode == 2 else 500)
    result = json.loads(proc.stdout)
    return jsonify(ok=True, **result)
