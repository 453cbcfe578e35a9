"""Start (embedded) or join (--address) a Ray cluster, with clear errors and cleanup."""
from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Iterator

from search_spaces.errors import UserError

__all__ = ["ray_session", "PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_PACKAGES = ("nas", "search_spaces", "trainers")


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast (not hang) when HOST:PORT does not answer."""
    target = address.removeprefix("ray://")
    if address == "auto" or ":" not in target:
        return
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot reach Ray cluster at {address!r} ({exc}); start one with "
                        "`ray start --head` or fix --address") from None


@contextlib.contextmanager
def ray_session(workers: int, address: str | None = None) -> Iterator[None]:
    """An embedded local Ray with `workers` CPUs, or a connection to `address`."""
    import ray

    # workers import our packages from the same tree as the driver
    paths = [str(PROJECT_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(":"))]
    os.environ["PYTHONPATH"] = ":".join(dict.fromkeys(paths))
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    kwargs = dict(include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                  configure_logging=True)
    if address:
        _check_reachable(address)
        modules = [str(PROJECT_ROOT / p) for p in _PACKAGES]
        try:
            ray.init(address=address, runtime_env={"py_modules": modules}, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UserError(f"cannot connect to Ray at {address!r}: {exc}") from None
    else:
        # address="local": a fresh embedded cluster, never one left by `ray start`
        ray.init(address="local", num_cpus=workers, object_store_memory=80 * 1024**2,
                 **kwargs)
    try:
        yield
    finally:
        ray.shutdown()
