"""docs/own_problem.md runs as written: its `file=NAME` blocks are written to an empty
folder, then its `run` blocks are run there in order (bash line by line, Python as a
script), so the tutorial cannot rot."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "own_problem.md"
BLOCK = re.compile(r"^```(\w+) ?([^\n]*)\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, str, str]]:
    """(language, info after it, body) of every fenced block, in order."""
    return [(m[1], m[2].strip(), m[3]) for m in BLOCK.finditer(DOC.read_text())]


def _run(command: list[str], folder: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{command} failed:\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def test_the_tutorial_runs_as_written(tmp_path):
    start, output = time.monotonic(), []
    for language, info, body in blocks():
        if info.startswith("file="):
            (tmp_path / info.removeprefix("file=")).write_text(body)
        elif info == "run" and language == "bash":
            for line in filter(None, (ln.strip() for ln in body.splitlines())):
                words = line.split()
                if words[0] == "nas":  # this checkout's nas, whatever is installed
                    words = [sys.executable, "-m", "nas", *words[1:]]
                elif words[0] == "python":
                    words[0] = sys.executable
                output.append(_run(words, tmp_path))
        elif info == "run" and language == "python":
            (tmp_path / "_block.py").write_text(body)
            output.append(_run([sys.executable, "_block.py"], tmp_path))
    seconds = time.monotonic() - start
    run = tmp_path / "results" / "own"
    records = [json.loads(line) for line in (run / "trials.jsonl").read_text().splitlines()]
    statuses = [r["metrics"]["status"] for r in records]
    front = json.loads((run / "pareto.json").read_text())["front"]
    print(f"tutorial: {seconds:.1f}s, {len(records)} trials {statuses}, front "
          f"{[(r['trial_id'], round(r['accuracy'], 1), r['params']) for r in front]}")
    assert len(records) == 14 and "failed" not in statuses
    assert {"complete", "pruned"} <= set(statuses)
    assert front and all(r["accuracy"] > 50 for r in front)  # trained, not chance (10%)
    assert list((run / "checkpoints" / "ladder").glob("*@*ep.pt"))
    assert list((run / "exports").glob("trial_*/torchscript/*"))
    assert "best:" in output[-1]
