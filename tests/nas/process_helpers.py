"""Test helpers for processes the tests start in sessions of their own."""
from __future__ import annotations

import os
import signal
import socket


def kill_session(sid: int) -> None:
    """SIGKILL every process still in session `sid` (one a test started with
    start_new_session=True): Ray's agents can outlive the process that started them."""
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.getsid(int(entry)) == sid:
                os.kill(int(entry), signal.SIGKILL)
        except OSError:  # gone meanwhile, or not ours to inspect
            continue


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def as_in_a_terminal() -> None:
    """preexec_fn: SIGINT reaches the child as Ctrl-C does in a terminal, even when the
    tests run as a background job (whose SIGINT is ignored, and Python keeps it so)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
