"""The embedded Ray cluster lives and dies with the driver that started it.

Ray ties only its direct children (GCS, raylet, ...) to the driver (PR_SET_PDEATHSIG on
Linux); the raylet's children (DashboardAgent, RuntimeEnvAgent, workers) outlive a driver
killed with kill -9 or by the OOM killer. A process belongs to an embedded cluster when it
holds a file open in the cluster's Ray session folder (every Ray process keeps its logs
there; setproctitle wipes the environment and command line Linux shows of agents and
workers) or carries the cluster's tag in its environment (`NAS_RAY_OWNER`, inherited from
the driver: what a user's evaluator starts). A watchdog process (in a session of its own,
so a terminal's Ctrl-C or a group kill spares it) holds the read end of a pipe whose write
end only the driver has: end-of-file means the driver is gone, however it ended, and the
watchdog kills the cluster (until the session folder is known, while Ray starts, it also
keeps a list of the driver's descendants). The cluster's record (driver, tag, session
folder, its PIDs at start) is `nas_driver.json` in its Ray session folder;
the next embedded start in the same Ray temp folder kills what a dead driver's cluster
left behind (if its watchdog was killed too). A cluster joined with --address is never
touched: only embedded clusters are tagged.

    python -m nas.run.ray_lifetime FD TAG DRIVER_PID   (the watchdog; see `Watchdog`)
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import subprocess
import sys
import time
from pathlib import Path

import psutil

__all__ = ["OWNER_VAR", "RECORD_NAME", "Watchdog", "cluster_processes", "kill_cluster",
           "reap_dead_drivers", "read_record"]

OWNER_VAR = "NAS_RAY_OWNER"
RECORD_NAME = "nas_driver.json"
KILL_WAIT_S = 5.0  # keep killing what reappears (the raylet restarts agents) this long
STOP_WAIT_S = 10.0
SNAPSHOT_S = 0.25  # while Ray starts, the watchdog lists the driver's descendants this often


def _belongs(proc: psutil.Process, tag: str, session_dir: str | None,
             spare: tuple[int, ...]) -> bool:
    """Tagged, or holding a file open in `session_dir` (live, not this one or `spare`)."""
    try:
        if proc.pid in (os.getpid(), *spare) or proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if proc.environ().get(OWNER_VAR) == tag:
            return True
        return bool(session_dir) and any(f.path.startswith(session_dir)
                                         for f in proc.open_files())
    except (psutil.Error, OSError):  # gone, or another user's
        return False


def cluster_processes(tag: str, session_dir: str | Path | None = None,
                      spare: tuple[int, ...] = ()) -> list[psutil.Process]:
    """Live processes (not zombies) of the cluster tagged `tag` whose Ray session
    folder is `session_dir` (None: not known, the tag alone decides), but for `spare`
    (the driver: it holds its own log files there)."""
    prefix = os.path.join(str(session_dir), "") if session_dir else None
    return [proc for proc in psutil.process_iter() if _belongs(proc, tag, prefix, spare)]


def kill_cluster(tag: str, session_dir: str | Path | None = None,
                 known: dict[int, float] | None = None, driver: int | None = None,
                 wait_s: float = KILL_WAIT_S) -> int:
    """SIGKILL the cluster's processes (and those of `known`, pid -> start time, still
    alive), never `driver`, until none is left or `wait_s` passed; how many were killed."""
    killed: set[int] = set()
    spare = () if driver is None else (driver,)
    deadline = time.monotonic() + wait_s
    while True:
        procs = cluster_processes(tag, session_dir, spare) + _still_alive(known or {}, killed)
        if not procs or time.monotonic() > deadline:
            return len(killed)
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed.add(proc.pid)
        psutil.wait_procs(procs, timeout=0.5)


def _still_alive(known: dict[int, float], skip: set[int]) -> list[psutil.Process]:
    alive = []
    for pid, started in known.items():
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            same = abs(proc.create_time() - started) < 0.01
            if (same and pid not in skip and pid != os.getpid()
                    and proc.status() != psutil.STATUS_ZOMBIE):
                alive.append(proc)
    return alive


def _identity(pid: int) -> float | None:
    """A process's start time (with its PID, unique on this machine), None if gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def read_record(session_dir: str | Path) -> dict | None:
    """The record an embedded cluster's driver wrote in its Ray session folder."""
    try:
        return json.loads((Path(session_dir) / RECORD_NAME).read_text())
    except (OSError, ValueError):
        return None


def reap_dead_drivers(temp_dir: str | Path) -> int:
    """Kill the processes of embedded clusters (recorded under `temp_dir`) whose driver
    is dead; returns how many were killed. Live drivers' clusters are left alone."""
    killed = 0
    for session in Path(temp_dir).glob("session_*"):
        record = None if session.is_symlink() else read_record(session)
        if not record or not {"driver_pid", "driver_started", "tag"} <= set(record):
            continue
        started = _identity(record["driver_pid"])
        if started is not None and abs(started - record["driver_started"]) < 0.01:
            continue
        killed += kill_cluster(record["tag"], session)
        with contextlib.suppress(OSError):
            (session / RECORD_NAME).unlink()
    return killed


class Watchdog:
    """The driver's side of the watchdog: tag the environment and start the watchdog
    (before Ray starts), `record` the cluster once it is up, `stop` after ray.shutdown
    (the watchdog then kills any straggler and exits)."""

    def __init__(self) -> None:
        self.tag = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._previous = os.environ.get(OWNER_VAR)
        read_end, self._pipe = os.pipe()  # neither end is inherited by Ray's processes
        env = {k: v for k, v in os.environ.items() if k != OWNER_VAR}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "nas.run.ray_lifetime", str(read_end), self.tag,
                 str(os.getpid())], pass_fds=(read_end,), env=env, start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        finally:
            os.close(read_end)
        os.environ[OWNER_VAR] = self.tag
        self.session_dir: Path | None = None

    def record(self, session_dir: str | Path) -> dict:
        """Write the cluster's record (its PIDs now) and tell the watchdog the folder."""
        self.session_dir = Path(session_dir)
        pids = {}
        for proc in cluster_processes(self.tag, self.session_dir, (os.getpid(),)):
            with contextlib.suppress(psutil.Error):
                pids[proc.pid] = {"name": proc.name(), "started": proc.create_time()}
        record = {"driver_pid": os.getpid(), "driver_started": _identity(os.getpid()),
                  "tag": self.tag, "session_dir": str(self.session_dir),
                  "watchdog_pid": self.process.pid, "pids": pids}
        partial = self.session_dir / f"{RECORD_NAME}.tmp"
        partial.write_text(json.dumps(record))
        partial.replace(self.session_dir / RECORD_NAME)
        os.write(self._pipe, f"{self.session_dir}\n".encode())
        return record

    def stop(self) -> None:
        """Close the pipe (the watchdog kills what is left of the cluster) and wait."""
        os.close(self._pipe)
        if self._previous is None:
            os.environ.pop(OWNER_VAR, None)
        else:
            os.environ[OWNER_VAR] = self._previous
        try:
            done = self.process.wait(timeout=STOP_WAIT_S) == 0
        except subprocess.TimeoutExpired:
            done = False
        if not done:  # the watchdog was killed or is stuck: clean up here
            kill_cluster(self.tag, self.session_dir, driver=os.getpid())
            if self.session_dir is not None:
                with contextlib.suppress(OSError):
                    (self.session_dir / RECORD_NAME).unlink()


def _descendants(pid: int) -> dict[int, float]:
    found = {}
    with contextlib.suppress(psutil.Error):
        for proc in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                found[proc.pid] = proc.create_time()
    return found


def _watch(fd: int, tag: str, driver_pid: int) -> None:
    """Block until the driver closes its end of the pipe (or dies), then kill the
    cluster and remove its record."""
    session, known, buffered = None, {}, b""
    while True:
        if session is None:  # Ray is starting: the descendants are all we know
            known.update(_descendants(driver_pid))
        ready, _, _ = select.select([fd], [], [], SNAPSHOT_S if session is None else None)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        *lines, buffered = (buffered + chunk).split(b"\n")
        session = lines[-1].decode() if lines else session
    kill_cluster(tag, session, known, driver_pid)
    if session:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(session, RECORD_NAME))


if __name__ == "__main__":
    _watch(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
