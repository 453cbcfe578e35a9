"""Read-only web dashboard of a run folder, live while a search runs: Flask, and 2-D charts
drawn by our own canvas renderer (static/canvas_plot.js); plotly.js only for the 3-D view.

`serve(run_dir, host, port)` is what `nas dashboard` calls; `create_app(run_dir)` gives
the Flask app (tests use its test client). Importing this package does not import torch.
"""
from __future__ import annotations

from .app import create_app, plotly_js_path
from .data import TrialTable
from .server import make_dashboard_server, serve

__all__ = ["TrialTable", "create_app", "make_dashboard_server", "plotly_js_path", "serve"]
