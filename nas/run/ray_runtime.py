"""Start (embedded) or join (--address) a Ray cluster, with clear errors and cleanup.

`--address` takes `auto` (the cluster `ray start` made on this machine), `HOST:PORT` (a
head node's GCS port) or `ray://HOST:PORT` (Ray Client). A cluster that does not answer
is reported within seconds instead of hanging. Token authentication (Ray 2.60 default for
`ray start --head`) needs RAY_AUTH_MODE=token and the cluster's token in this process's
environment; docs/cluster.md has the recipe.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Iterator

from search_spaces.errors import UserError

from .interrupts import keep_handlers
from .ray_lifetime import Watchdog, reap_dead_drivers

__all__ = ["ray_session", "resolve_workers", "cluster_slots", "check_address",
           "check_cluster", "PROJECT_ROOT", "CONNECT_TIMEOUT_S", "DASHBOARD_VAR"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PACKAGES = ("nas", "search_spaces", "trainers")
CONNECT_TIMEOUT_S = 20
DASHBOARD_VAR = "NAS_RAY_DASHBOARD"  # 1: the embedded cluster gets the Ray dashboard


# HTTP/2 client connection preface + an empty SETTINGS frame (RFC 9113, Sec. 3.4)
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_H2_SETTINGS = 0x4


_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$")


def check_address(address: str) -> tuple[str, int] | None:
    """(host, port) of `--address` HOST:PORT or ray://HOST:PORT, None for auto; UserError
    for anything else (checked with the config, before anything starts)."""
    if address == "auto":
        return None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--address {address!r} must be auto, HOST:PORT or ray://HOST:PORT "
                        "(port 1-65535)")
    return host.strip("[]"), int(port)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (not hang) when HOST:PORT does not answer, or answers but is not a gRPC
    server (Ray's GCS and Ray Client ports are gRPC: they answer the HTTP/2 preface with
    a SETTINGS frame; without this check `ray.init` retries for minutes)."""
    if check_address(address) is None:
        return
    host, port = check_address(address)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as conn:
            conn.sendall(_H2_PREFACE)
            header = conn.recv(9)
    except socket.timeout:
        header = b""
    except OSError as exc:
        raise UserError(f"cannot reach Ray cluster at {address!r} ({exc}); start one with "
                        "`ray start --head` or fix --address") from None
    if len(header) < 4 or header[3] != _H2_SETTINGS:
        raise UserError(f"{address!r} answers but is not a Ray head (no gRPC reply within "
                        f"{timeout:g}s); pass the GCS port `ray start --head --port` printed")


def check_cluster(address: str) -> None:
    """A UserError within seconds when `address` is not a Ray head that accepts this
    process (nothing answers, no gRPC answer, token missing or refused)."""
    _check_reachable(address)
    _check_token(address)


def _check_token(address: str) -> None:
    """Fail within about a second, naming the variables, when the head refuses this
    process's token or its lack of one (Ray itself retries for the whole deadline,
    printing an InvalidAuthToken line a second). Ray Client addresses are left to Ray."""
    target = _gcs_address(address)
    if target is None:
        return
    from ray._raylet import GcsClient
    from ray.exceptions import AuthenticationError

    try:
        with _deadline(CONNECT_TIMEOUT_S, address), _quiet_stderr():
            GcsClient(address=target, cluster_id=None)
    except AuthenticationError:
        if os.environ.get("RAY_AUTH_MODE") != "token":
            raise UserError(f"Ray at {address!r} needs token authentication: set "
                            "RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN or "
                            "in a file named by RAY_AUTH_TOKEN_PATH (default "
                            "~/.ray/auth_token); see docs/cluster.md") from None
        raise UserError(f"Ray at {address!r} refused this token (RAY_AUTH_TOKEN, "
                        "RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token): use the token of that "
                        "cluster; see docs/cluster.md") from None
    except Exception:  # noqa: BLE001 - anything else is reported by ray.init itself
        return


def _gcs_address(address: str) -> str | None:
    """HOST:PORT of the GCS that `address` names (None: Ray Client or unresolvable)."""
    if address.startswith("ray://"):
        return None
    if address != "auto":
        return address
    try:  # the cluster `ray start` made on this machine (RAY_ADDRESS first)
        from ray._private.services import canonicalize_bootstrap_address

        return canonicalize_bootstrap_address("auto")
    except Exception:  # noqa: BLE001 - no local cluster: ray.init says so
        return None


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (Ray's C++ client logs each refused call there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _deadline(seconds: int, address: str) -> Iterator[None]:
    """Turn a connection attempt that outlives `seconds` into a UserError (main thread)."""
    def expire(signum, frame):
        raise TimeoutError

    try:
        previous = signal.signal(signal.SIGALRM, expire)
    except ValueError:  # not the main thread: no alarm, rely on Ray's own timeouts
        yield
        return
    signal.alarm(seconds)
    try:
        yield
    except TimeoutError:
        raise UserError(f"Ray at {address!r} did not answer within {seconds}s (is it a Ray "
                        "head's GCS port? does it need RAY_AUTH_MODE=token and its "
                        "token? see docs/cluster.md)") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def ray_session(num_cpus: int | None, address: str | None = None, code=None,
                run_dir: str | Path | None = None) -> Iterator[None]:
    """An embedded local Ray with `num_cpus` CPUs (None: all), or a connection to
    `address`. A Ray already initialised in this process is used as it is. `code` (a
    nas.run.code_shipping.UserCode) is the user's: on the workers' import path locally,
    shipped by runtime_env to a cluster (leaving `run_dir` out)."""
    import ray

    if address:
        check_cluster(address)
    if ray.is_initialized():
        yield
        return
    # workers import our packages from the same tree as the driver
    paths = [str(PROJECT_ROOT), *(code.import_paths() if code is not None else ()),
             *filter(None, os.environ.get("PYTHONPATH", "").split(":"))]
    os.environ["PYTHONPATH"] = ":".join(dict.fromkeys(paths))
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray_address = os.environ.get("RAY_ADDRESS")  # ray.init sets it; put it back afterwards
    kwargs = dict(include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                  configure_logging=True)
    try:
        with (_joined(address, kwargs, code, run_dir) if address
              else _embedded(num_cpus, kwargs)):
            yield
    finally:
        _restore_env("RAY_ADDRESS", ray_address)


def _init(**kwargs) -> None:
    """ray.init, keeping this process's SIGINT/SIGTERM handlers (ray.init puts sys.exit
    on SIGTERM, which aborts the driver inside Ray instead of ending it cleanly)."""
    import ray

    keep_handlers(ray.init, **kwargs)


@contextlib.contextmanager
def _joined(address: str, kwargs: dict, code, run_dir) -> Iterator[None]:
    """Connected to the cluster at `address` (whose processes are never touched), our
    packages and the user's `code` shipped to it."""
    import ray

    env = code.runtime_env(run_dir) if code is not None else {}
    env["py_modules"] = [str(PROJECT_ROOT / p) for p in _PACKAGES] + env.get("py_modules", [])
    try:
        with _deadline(CONNECT_TIMEOUT_S, address):
            _init(address=address, runtime_env=env, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0]
        if code is not None and "size" in first.lower():
            raise UserError(f"your code is too big to ship to the cluster ({first}); "
                            "list just your modules under config 'code:' or move "
                            "data out of the config's folder") from None
        raise UserError(f"cannot connect to Ray at {address!r}: {first}") from None
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _embedded(num_cpus: int | None, kwargs: dict) -> Iterator[None]:
    """A new local cluster (even if RAY_ADDRESS names another one) whose processes end
    with this one however it ends (nas.run.ray_lifetime); no dashboard and no usage
    stats unless NAS_RAY_DASHBOARD=1."""
    import ray

    dashboard = os.environ.get(DASHBOARD_VAR, "0") not in ("", "0")
    if dashboard and importlib.util.find_spec("aiohttp") is None:
        raise UserError(f'{DASHBOARD_VAR}=1 needs the Ray dashboard: pip install "ray[default]"')
    if not dashboard:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    watchdog = Watchdog()
    try:
        _init(address="local", num_cpus=num_cpus, object_store_memory=80 * 1024**2,
              **{**kwargs, "include_dashboard": dashboard})
        context = ray.get_runtime_context()
        watchdog.record(Path(context.get_temp_dir()) / context.get_session_name())
        reap_dead_drivers(context.get_temp_dir())
        yield
    finally:
        ray.shutdown()
        watchdog.stop()


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def resolve_workers(workers: int | str, num_cpus: float, num_gpus: float) -> int:
    """Concurrent trials: `workers`, or with "auto" as many as the cluster's CPUs/GPUs
    fit; a trial no node can hold is a UserError (Ray would wait for it forever)."""
    import ray

    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if not any(r.get("CPU", 0) >= num_cpus and r.get("GPU", 0) >= num_gpus for r in nodes):
        have = ", ".join(f"{r.get('CPU', 0):g} CPU/{r.get('GPU', 0):g} GPU" for r in nodes)
        raise UserError(f"a trial needs {num_cpus:g} CPU and {num_gpus:g} GPU but no Ray node "
                        f"has that ({have or 'no nodes'}); lower config 'resources'")
    if workers != "auto":
        return int(workers)
    return max(1, cluster_slots(num_cpus, num_gpus))


def cluster_slots(num_cpus: float, num_gpus: float) -> int | float:
    """How many trials of this size the cluster's CPUs and GPUs hold at once (inf when a
    trial needs neither)."""
    import ray

    total = ray.cluster_resources()
    fits = [total.get(k, 0) / need for k, need in (("CPU", num_cpus), ("GPU", num_gpus)) if need]
    return int(math.floor(min(fits) + 1e-9)) if fits else math.inf
