"""Read-only web dashboard of a run folder, live while a search runs: Flask, and charts
drawn by our own canvas renderer (static/canvas_plot.js; canvas_3d.js for a 3-D front).

`serve(run_dir, host, port)` is what `nas dashboard` calls; `create_app(run_dir)` gives
the Flask app (tests use its test client). Importing this package does not import torch.
"""
from __future__ import annotations

from .app import create_app
from .data import TrialTable
from .server import make_dashboard_server, serve

__all__ = ["TrialTable", "create_app", "make_dashboard_server", "serve"]
