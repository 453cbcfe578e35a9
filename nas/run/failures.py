"""Why a trial failed, in words a user can act on: the evaluator's own exception (type,
message, where it was raised) and its traceback, with Ray's wrapping and terminal colour
codes removed. Reasons are kept whole; only the progress line shortens them."""
from __future__ import annotations

import re
import traceback
from typing import Any

__all__ = ["strip_ansi", "exception_failure", "task_error_failure"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences (Ray colours its task names)."""
    return _ANSI.sub("", text)


def _reason(exc: BaseException, where: str) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" + (f" (at {where})" if where else "")


def exception_failure(exc: BaseException) -> dict[str, Any]:
    """{"reason", "traceback"} of an exception caught where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return {"reason": _reason(exc, where),
            "traceback": "".join(traceback.format_exception(type(exc), exc,
                                                            exc.__traceback__))}


def task_error_failure(exc: BaseException) -> dict[str, Any]:
    """{"reason", "traceback"} of a Ray `RayTaskError`: the user's exception inside it
    (`cause`) and the traceback from the worker, without Ray's colour codes."""
    text = strip_ansi(getattr(exc, "traceback_str", "") or str(exc))
    cause = getattr(exc, "cause", None)
    frames = _FRAME.findall(text)
    where = f"{frames[-1][0]}:{frames[-1][1]} in {frames[-1][2]}" if frames else ""
    if cause is None:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        return {"reason": lines[-1] if lines else type(exc).__name__, "traceback": text}
    return {"reason": strip_ansi(_reason(cause, where)), "traceback": text}
