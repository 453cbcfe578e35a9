"""Serve the dashboard in the foreground (no daemon that could outlive a crash).

The socket is bound here first, so a busy port or a bad host is a one-line UserError
(exit 2) rather than werkzeug's own exit; werkzeug then serves on that socket.
"""
from __future__ import annotations

import errno
import logging
import socket
import sys
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from search_spaces.errors import UserError

from .app import create_app

__all__ = ["serve", "make_dashboard_server", "bind_socket", "exposure_warning"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); UserError naming the problem otherwise."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} must be between 0 and 65535 (0 picks a free port)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UserError(f"--host {host!r} cannot be resolved: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is already in use; stop the program using "
                            "it or pass another --port") from None
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def exposure_warning(host: str) -> str | None:
    """The warning printed when the dashboard is reachable from other machines."""
    if host in _LOOPBACK:
        return None
    return (f"nas dashboard: warning: listening on {host} WITHOUT authentication: anyone who "
            "can reach it sees the run and can press its export button (writes only under "
            "RUN/exports/); use the default 127.0.0.1 and an SSH tunnel unless that is "
            "intended")


def make_dashboard_server(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8050,
                          poll_ms: int = 2000) -> BaseWSGIServer:
    """A threaded werkzeug server for the run's dashboard, bound but not yet serving."""
    app = create_app(run_dir, poll_ms=poll_ms)  # validates the run folder before binding
    sock = bind_socket(host, port)
    try:
        return make_server(host, sock.getsockname()[1], app, threaded=True,
                           fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve until Ctrl-C. Binds 127.0.0.1 unless told otherwise."""
    server = make_dashboard_server(run_dir, host, port)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per poll request
    url_host = f"[{host}]" if ":" in host else host
    print(f"nas dashboard: {run_dir} at http://{url_host}:{server.port}/ (Ctrl-C to stop)",
          file=sys.stderr, flush=True)
    warning = exposure_warning(host)
    if warning:
        print(warning, file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
