"""Ctrl-C and SIGTERM end a search cleanly: the trials written stay, the run resumes.

Both signals raise KeyboardInterrupt where the main thread happens to be. Python drops an
exception raised inside a garbage-collector callback ("Exception ignored in ..."), so the
handler also sets a flag the driver checks each turn of its loop: a signal that lands in
such a callback still ends the search with exit 130 instead of being lost.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

__all__ = ["interruptible", "raise_if_interrupted", "keep_handlers", "SIGNALS"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []


def _interrupt(signum, frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a signal arrived whose exception was swallowed."""
    if _received:
        raise KeyboardInterrupt


def keep_handlers(call, *args, **kwargs):
    """Run `call` (e.g. ray.init, which puts sys.exit on SIGTERM) and put this process's
    SIGINT/SIGTERM handlers back afterwards."""
    handlers = {s: signal.getsignal(s) for s in SIGNALS}
    try:
        return call(*args, **kwargs)
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():
                if handler is not None:
                    signal.signal(sig, handler)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within: SIGINT and SIGTERM interrupt the main thread and are remembered; a
    remembered one re-raises at the end if the body finished anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _interrupt) for s in SIGNALS}
    _received.clear()
    try:
        yield
        raise_if_interrupted()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _received.clear()
