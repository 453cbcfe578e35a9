"""One writer per run folder: an exclusive OS file lock on `<run>/writer.lock`.

`fcntl.flock` locks belong to the open file, so the kernel drops them when the holder
dies in any way (kill -9 included): a lock is never stale. The file also names its
holder (pid, host, command, start time), so a refused second writer says who holds it.
Readers (`nas status`, `nas export`, `nas dashboard`) never take the lock.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Iterator

from search_spaces.errors import UserError

__all__ = ["run_lock", "LOCK_FILE"]

LOCK_FILE = "writer.lock"


def _holder(fd: int) -> str:
    """Who holds the lock, as written in the lock file by its holder."""
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return (f"`nas {info['command']}` (pid {info['pid']} on host {info['host']}, since "
                f"{info['since']})")
    except (ValueError, KeyError, TypeError, OSError):
        return "another process (it has not written its pid yet)"


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        raise UserError(f"run folder {str(path.parent)!r} does not exist") from None
    except OSError as exc:
        raise UserError(f"cannot write to run folder {str(path.parent)!r} "
                        f"({exc.strerror}); make it writable or copy the run elsewhere") from None


@contextlib.contextmanager
def run_lock(run_dir: str | Path, command: str) -> Iterator[None]:
    """Hold the run folder's writer lock inside the block; UserError at once (exit 2),
    naming the holder's pid and host, when another process holds it.

    `command` is what the holder is doing, e.g. "search --resume" or "train".
    """
    path = Path(run_dir) / LOCK_FILE
    fd = _open(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise UserError(f"run folder {str(Path(run_dir))!r} is being written by "
                            f"{_holder(fd)}; wait for it to finish or stop it first "
                            "(one writer per run folder)") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        with contextlib.suppress(OSError):  # naming the holder is a courtesy, not the lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
