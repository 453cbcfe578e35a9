"""What an ended `nas search` leaves behind, and how long the embedded Ray takes to start.

1. For each way a driver can end (normal exit, an exception in the driver, SIGINT,
   SIGTERM, kill -9) a real `nas search` (embedded Ray, 2 workers, synthetic trials) runs
   in a session of its own; every process it starts is tracked while it runs (its
   descendants and its session). 10 s after the driver is gone, the tracked processes
   still alive (and zombies) are counted, named, then killed. Also: the driver's exit code
   and its last stderr line.
2. Embedded Ray start: seconds for `ray_session(2)` to enter (ray.init), to the first
   trivial task's result, and how many processes the cluster has then (fresh process
   each time, `--repeat` times).

    python benchmarks/bench_ray_lifecycle.py [--endings normal,kill9] [--repeat 3]
        [--tree CHECKOUT ...] [--json]

Before/after on one machine load: `git archive main | tar -x -C /tmp/main`, then
`--tree /tmp/main --tree .` (the embedded starts of the trees take turns).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENDINGS = ("normal", "exception", "sigint", "sigterm", "kill9")
LINGER_S = 10.0

CONFIG = """
name: lifecycle
trials: {trials}
workers: 2
strategy: random
evaluator: {{name: synthetic, options: {{sleep_s: 0.3}}}}
"""

# `nas search` whose driver raises after its second recorded trial (an "exception" ending)
DRIVER = """
import sys
from nas.cli import main
if sys.argv[1] == "exception":
    from nas.run import driver
    finish = driver.Driver._finish
    def failing_finish(self, *args, **kwargs):
        finish(self, *args, **kwargs)
        if self.view.n_finished >= 2:
            raise RuntimeError("injected driver failure")
    driver.Driver._finish = failing_finish
sys.exit(main(sys.argv[2:]))
"""

START = """
import json, os, sys, time
start = time.monotonic()
from nas.run.ray_runtime import ray_session
import ray
imported = time.monotonic()
with ray_session(2):
    up = time.monotonic()
    ray.get(ray.remote(lambda: os.getpid()).remote())
    first = time.monotonic()
    print("START", json.dumps({"import_s": imported - start, "init_s": up - imported,
                      "first_task_s": first - up}))
    sys.stdout.flush()
    time.sleep(float(sys.argv[1]))
"""


def _as_in_a_terminal() -> None:
    """SIGINT reaches the driver as Ctrl-C does, even from a background job (where it is
    ignored, and Python keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stat(pid: int) -> tuple[str, int, int, str] | None:
    """(state, ppid, session id, start time) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[3]), fields[19]


def _name(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return "?"
    return Path(cmd).name if "/" in cmd.split(" ")[0] else cmd


def _processes() -> dict[int, tuple[str, int, int, str]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                found[int(entry)] = stat
    return found


def _track(root: int, seen: dict[int, str]) -> None:
    """Add every descendant of `root` and every member of its session to `seen`
    (pid -> start time)."""
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    todo = [root] + [pid for pid, (_, _, sid, _) in procs.items() if sid == root]
    while todo:
        pid = todo.pop()
        if pid in procs and pid not in seen:
            seen[pid] = procs[pid][3]
            todo.extend(children.get(pid, []))


def _survivors(root: int, seen: dict[int, str]) -> tuple[list[str], list[str]]:
    """Names of the tracked processes still alive, and of those that are zombies."""
    _track(root, seen)  # anything new in the session
    alive, zombies = [], []
    for pid, started in seen.items():
        stat = _stat(pid)
        if pid == root or stat is None or stat[3] != started:
            continue
        (zombies if stat[0] == "Z" else alive).append(_name(pid))
    return sorted(alive), sorted(zombies)


def _kill(seen: dict[int, str]) -> None:
    for pid, started in seen.items():
        stat = _stat(pid)
        if stat is not None and stat[3] == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _finished(run: Path) -> int:
    path = run / "trials.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


def end_search(ending: str, root: Path, tree: Path) -> dict:
    """Run a search of checkout `tree`, end it `ending`'s way; what is left 10 s later."""
    work = Path(tempfile.mkdtemp(dir=root))
    (work / "c.yaml").write_text(CONFIG.format(trials=6 if ending == "normal" else 10_000))
    run = work / "run"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, ending, "search", "--config",
                             str(work / "c.yaml"), "--out", str(run), "--quiet"], cwd=tree,
                            env=env, start_new_session=True, preexec_fn=_as_in_a_terminal,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: dict[int, str] = {}
    deadline = time.monotonic() + 180
    while proc.poll() is None and (ending in ("normal", "exception") or _finished(run) < 2):
        assert time.monotonic() < deadline, f"{ending}: the search made no progress"
        _track(proc.pid, seen)
        time.sleep(0.2)
    _track(proc.pid, seen)
    ended = time.monotonic()
    sig = {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM, "kill9": signal.SIGKILL}
    if ending in sig:
        proc.send_signal(sig[ending])
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    exited = time.monotonic() - ended
    time.sleep(LINGER_S)
    alive, zombies = _survivors(proc.pid, seen)
    _kill(seen)
    lines = [line for line in (err or "").splitlines() if line.strip()]
    return {"ending": ending, "exit_code": proc.returncode, "exit_s": round(exited, 2),
            "stderr_lines": len(lines), "last_stderr": lines[-1][:100] if lines else "",
            "started": len(seen) - 1, "left_alive": len(alive), "left_zombies": len(zombies),
            "left_names": alive + [f"{name} (zombie)" for name in zombies]}


def start_once(tree: Path) -> dict:
    """ray_session(2) of checkout `tree` in a fresh process: seconds, processes."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen([sys.executable, "-c", START, "3"], cwd=tree, env=env,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    seen: dict[int, str] = {}
    try:
        line = next(line for line in proc.stdout if line.startswith("START "))
        time.sleep(2)  # what the cluster holds once idle
        _track(proc.pid, seen)
        proc.wait(timeout=60)
    finally:
        _track(proc.pid, seen)
        _kill(seen)
    return {**json.loads(line[len("START "):]), "processes": len(seen) - 1}


def embedded_start(trees: list[Path], repeat: int) -> list[dict]:
    """Per tree, medians of `repeat` starts (the trees take turns: same machine load)."""
    runs: dict[Path, list[dict]] = {tree: [] for tree in trees}
    for _ in range(repeat):
        for tree in trees:
            runs[tree].append(start_once(tree))
    return [{"tree": str(tree), "repeat": repeat,
             **{key: round(statistics.median(r[key] for r in got), 2)
                for key in ("import_s", "init_s", "first_task_s", "processes")}}
            for tree, got in runs.items()]


def _print(tree: str, endings: list[dict]) -> None:
    print(f"{tree}\n{'ending':<10} {'exit':>4} {'exit s':>6} {'procs':>5} {'left':>4} "
          f"{'zombie':>6}  stderr lines / last line; left behind 10 s later")
    for e in endings:
        print(f"{e['ending']:<10} {e['exit_code']:>4} {e['exit_s']:>6.2f} {e['started']:>5} "
              f"{e['left_alive']:>4} {e['left_zombies']:>6}  {e['stderr_lines']} / "
              f"{e['last_stderr']!r}; {', '.join(e['left_names']) or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endings", default=",".join(ENDINGS))
    parser.add_argument("--repeat", type=int, default=3, help="embedded starts to time")
    parser.add_argument("--tree", action="append", type=Path,
                        help="checkout to measure (repeat it to compare, e.g. one of main "
                             "from `git archive main`); default this one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree or [ROOT]]
    endings = {}
    with tempfile.TemporaryDirectory() as tmp:
        for tree in trees:
            endings[str(tree)] = [end_search(e, Path(tmp), tree)
                                  for e in args.endings.split(",") if e]
    starts = embedded_start(trees, args.repeat) if args.repeat else []
    if args.json:
        print(json.dumps({"endings": endings, "embedded_start": starts}))
        return
    for tree, got in endings.items():
        _print(tree, got)
    for start in starts:
        print(f"embedded Ray of {start['tree']} (median of {start['repeat']}): import "
              f"{start['import_s']:.2f} s, ray.init {start['init_s']:.2f} s, first task "
              f"{start['first_task_s']:.2f} s, {start['processes']:g} processes")


if __name__ == "__main__":
    main()
