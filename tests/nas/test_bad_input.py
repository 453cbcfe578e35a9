"""Bad input, counted: every case exits 2 with exactly one line on stderr naming the
problem, no traceback, and writes nothing. In-process (`nas.cli.main`), and Ray is never
started: a case that got as far as starting a search fails the test."""
import json
import os
from pathlib import Path

import pytest

import nas.run.search
from nas.cli import main

GOOD = """name: bad
trials: 4
strategy: {name: random}
evaluator: {name: synthetic}
objectives: [accuracy, {name: params, direction: minimize}]
"""
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))

# the same 9**9 values as one flow sequence, inside a value the config reads
NESTED_BOMB = "[&a [x, x, x, x, x, x, x, x, x], " + ", ".join(
    f"&{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")) + "]"


def _config(**changes) -> str:
    """GOOD with top-level keys replaced (value None: removed) or added (YAML text)."""
    lines = {line.split(":")[0]: line for line in GOOD.splitlines()}
    for key, text in changes.items():
        if text is None:
            lines.pop(key, None)
        else:
            lines[key] = f"{key}: {text}"
    return "\n".join(lines.values()) + "\n"


# (id, config-file text or None, argv with {cfg} {tmp} {run} {dir} {file} placeholders,
#  words the one line must contain)
CONFIG_CASES = [
    ("empty-yaml", "", "is empty"),
    ("list-yaml", "- name\n- trials\n", "must hold a mapping"),
    ("scalar-yaml", "42\n", "must hold a mapping"),
    ("broken-yaml", "name: [unclosed\n", "not valid YAML"),
    ("alias-bomb", BOMB, "alias"),
    ("alias-bomb-in-a-value", _config(trials=NESTED_BOMB), "alias"),
    ("unknown-key", _config(trails="10"), "trails"),
    ("trials-negative", _config(trials="-1"), "trials"),
    ("trials-zero", _config(trials="0"), "trials"),
    ("trials-string", _config(trials="ten"), "trials"),
    ("trials-float", _config(trials="2.5"), "trials"),
    ("trials-huge", _config(trials="1e400"), "trials"),
    ("workers-zero", _config(workers="0"), "workers"),
    ("workers-word", _config(workers="many"), "workers"),
    ("seed-string", _config(seed="abc"), "seed"),
    ("seed-negative", _config(seed="-1"), "seed"),
    ("seed-huge", _config(seed="123456789012345678901234567890"), "seed"),
    ("name-empty", _config(name="''"), "name"),
    ("name-null-byte", _config(name='"a\\0b"'), "name"),
    ("name-path", _config(name="../../outside"), "name"),
    ("name-list", _config(name="[a, b]"), "name"),
    ("space-number", _config(space="42"), "space"),
    ("space-unknown", _config(space="nosuch"), "nosuch"),
    ("space-unicode", _config(space="ñb201"), "ñb201"),
    ("space-options-list", _config(space="{name: nb201, options: [1, 2]}"), "options"),
    ("space-option-unknown", _config(space="{name: nb201, options: {chanels: 8}}"), "chanels"),
    ("space-channels-string", _config(space="{name: nb201, options: {channels: wide}}"),
     "channels"),
    ("strategy-unknown", _config(strategy="{name: nosuch}"), "nosuch"),
    ("strategy-option-unknown", _config(strategy="{name: bo, options: {n_inti: 4}}"), "n_inti"),
    ("strategy-n-init-negative", _config(strategy="{name: bo, options: {n_init: -3}}"),
     "n_init"),
    ("evaluator-unknown", _config(evaluator="{name: nosuch}"), "nosuch"),
    ("evaluator-option-unknown", _config(evaluator="{name: synthetic, options: {slep_s: 1}}"),
     "slep_s"),
    ("evaluator-sleep-negative", _config(evaluator="{name: synthetic, options: {sleep_s: -1}}"),
     "sleep_s"),
    ("evaluator-sleep-string", _config(evaluator="{name: synthetic, options: {sleep_s: x}}"),
     "sleep_s"),
    ("objectives-empty", _config(objectives="[]"), "objectives"),
    ("objectives-mapping", _config(objectives="{accuracy: up}"), "objectives"),
    ("objective-direction", _config(objectives="[{name: accuracy, direction: up}]"), "up"),
    ("objectives-repeated", _config(objectives="[accuracy, accuracy]"), "repeats"),
    ("constraints-list", _config(constraints="[1, 2]"), "constraints"),
    ("constraint-bound-string", _config(constraints="{latency_ms: {max: fast}}"), "latency_ms"),
    ("constraint-bound-key", _config(constraints="{latency_ms: {maxx: 1}}"), "maxx"),
    ("reference-length", _config(reference="[1]"), "reference"),
    ("reference-strings", _config(reference="[a, b]"), "reference"),
    ("resources-negative", _config(resources="{num_cpus: -1}"), "num_cpus"),
    ("resources-nothing", _config(resources="{num_cpus: 0, num_gpus: 0}"), "resources"),
    ("resources-scalar", _config(resources="5"), "resources"),
    ("max-retries-negative", _config(max_retries="-1"), "max_retries"),
    ("timeout-zero", _config(trial_timeout_s="0"), "trial_timeout_s"),
    ("timeout-string", _config(trial_timeout_s="soon"), "trial_timeout_s"),
    ("address-garbage", _config(address="'not an address'"), "address"),
]

ARGV_CASES = [
    # nas search: flags and files
    ("search-no-config", ["search"], "--config"),
    ("search-config-missing", ["search", "--config", "{tmp}/nope.yaml"], "does not exist"),
    ("search-config-directory", ["search", "--config", "{dir}"], "is a folder"),
    ("search-trials-zero", ["search", "--config", "{cfg}", "--trials", "0"], "trials"),
    ("search-trials-word", ["search", "--config", "{cfg}", "--trials", "many"], "--trials"),
    ("search-workers-zero", ["search", "--config", "{cfg}", "--workers", "0"], "workers"),
    ("search-workers-word", ["search", "--config", "{cfg}", "--workers", "lots"], "--workers"),
    ("search-seed-word", ["search", "--config", "{cfg}", "--seed", "x"], "--seed"),
    ("search-address-word", ["search", "--config", "{cfg}", "--address", "nohost"],
     "HOST:PORT"),
    ("search-address-port", ["search", "--config", "{cfg}", "--address", "localhost:99999"],
     "port"),
    ("search-address-scheme", ["search", "--config", "{cfg}", "--address", "http://x:80"],
     "address"),
    ("search-address-unicode", ["search", "--config", "{cfg}", "--address", "hôst:☃"],
     "address"),
    ("search-out-is-a-file", ["search", "--config", "{cfg}", "--out", "{file}"], "not a folder"),
    ("resume-missing", ["search", "--resume", "{tmp}/nope"], "does not exist"),
    ("resume-a-file", ["search", "--resume", "{file}"], "not a run folder"),
    ("resume-empty-folder", ["search", "--resume", "{dir}"], "not a run folder"),
    ("resume-change-space", ["search", "--resume", "{run}", "--space", "fbnet"],
     "cannot change"),
    ("unknown-command", ["serach"], "serach"),
    ("unknown-flag", ["search", "--config", "{cfg}", "--trails", "3"], "--trails"),
    # nas status / repair / export / dashboard
    ("status-missing", ["status", "{tmp}/nope"], "does not exist"),
    ("status-a-file", ["status", "{file}"], "not a run folder"),
    ("status-empty-folder", ["status", "{dir}"], "not a run folder"),
    ("repair-missing", ["repair", "{tmp}/nope"], "does not exist"),
    ("export-missing-run", ["export", "{tmp}/nope", "--trial", "0", "--format", "json"],
     "does not exist"),
    ("export-unknown-trial", ["export", "{run}", "--trial", "999", "--format", "json"], "999"),
    ("export-negative-trial", ["export", "{run}", "--trial", "-1", "--format", "json"], "-1"),
    ("export-unknown-format", ["export", "{run}", "--trial", "0", "--format", "keras"],
     "keras"),
    ("dashboard-port-huge", ["dashboard", "{run}", "--port", "70000"], "--port"),
    ("dashboard-port-negative", ["dashboard", "{run}", "--port", "-1"], "--port"),
    ("dashboard-host-garbage", ["dashboard", "{run}", "--host", "no such host!"], "--host"),
    ("dashboard-not-a-run", ["dashboard", "{dir}"], "not a run folder"),
    # nas spaces describe: --arch, --genotype, options
    ("describe-unknown-space", ["spaces", "describe", "nosuch"], "nosuch"),
    ("arch-garbage", ["spaces", "describe", "nb201", "--arch", "|conv~0|"], "arch"),
    ("arch-index-range", ["spaces", "describe", "nb201", "--arch", "index:99999"], "99999"),
    ("arch-index-negative", ["spaces", "describe", "nb201", "--arch", "index:-1"], "-1"),
    ("arch-unicode", ["spaces", "describe", "nb201", "--arch", "ïndex:☃"], "arch"),
    ("genotype-directory", ["spaces", "describe", "nb201", "--genotype", "{dir}"], "genotype"),
    ("genotype-not-json", ["spaces", "describe", "nb201", "--genotype", "{file}"], "genotype"),
    ("genotype-wrong-space", ["spaces", "describe", "nb201", "--genotype", "{fbnet}"],
     "fbnet"),
    ("genotype-list", ["spaces", "describe", "nb201", "--genotype", "{listjson}"], "genotype"),
    ("sample-zero", ["spaces", "describe", "nb201", "--sample", "0"], "--sample"),
    ("sample-negative", ["spaces", "describe", "nb201", "--sample", "-5"], "--sample"),
    ("input-size-word", ["spaces", "describe", "nb201", "--input-size", "3,x,32"],
     "--input-size"),
    ("input-size-zero", ["spaces", "describe", "nb201", "--input-size", "0,32,32"],
     "--input-size"),
    ("num-classes-word", ["spaces", "describe", "nb201", "--num-classes", "ten"],
     "--num-classes"),
    ("option-no-equals", ["spaces", "describe", "nb201", "--option", "channels", "--sample", "1"], "KEY=VALUE"),
    ("option-unknown", ["spaces", "describe", "nb201", "--option", "chanels=8", "--sample", "1"], "chanels"),
    ("option-alias-bomb", ["spaces", "describe", "nb201", "--sample", "1", "--option",
                           "channels=" + NESTED_BOMB], "alias"),
    ("option-bad-yaml", ["spaces", "describe", "nb201", "--option", "channels=[8", "--sample", "1"], "channels"),
    # other commands
    ("proxies-unknown", ["proxies", "--space", "nb201", "--proxy", "nosuch"], "nosuch"),
    ("proxies-sample-zero", ["proxies", "--space", "nb201", "--proxy", "synflow", "--sample",
                             "0"], "sample"),
    ("benchmark-unknown-strategy", ["benchmark", "nb201", "--strategy", "nosuch", "--trials",
                                    "5"], "nosuch"),
    ("benchmark-trials-zero", ["benchmark", "nb201", "--strategy", "rea", "--trials", "0"],
     "trials"),
    ("benchmark-dataset", ["benchmark", "nb201", "--strategy", "rea", "--trials", "5",
                           "--dataset", "mnist"], "mnist"),
    ("latency-unknown-space", ["latency-table", "--space", "nosuch"], "nosuch"),
    ("latency-repeats-zero", ["latency-table", "--space", "fbnet", "--repeats", "0"],
     "repeats"),
    ("extract-missing", ["supernet", "extract", "{tmp}/nope.pt", "--arch", "x", "--out",
                         "{tmp}/o"], "does not exist"),
    ("extract-garbage", ["supernet", "extract", "{file}", "--arch", "x", "--out", "{tmp}/o"],
     "checkpoint"),
]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A small finished run (made in-process, no Ray) for commands that read one."""
    from run_folder_helpers import inline_search

    return inline_search(tmp_path_factory.mktemp("bad-input") / "run")


@pytest.fixture
def places(tmp_path, run_folder, monkeypatch):
    def no_ray(*args, **kwargs):
        raise AssertionError("bad input got as far as starting Ray")

    monkeypatch.setattr(nas.run.search, "ray_session", no_ray)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("{not json, not a checkpoint\n")
    (tmp_path / "fbnet.json").write_text(json.dumps({"space": "fbnet", "decisions": {}}))
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "good.yaml").write_text(GOOD)
    return {"tmp": str(tmp_path), "dir": str(tmp_path / "folder"), "run": str(run_folder),
            "file": str(tmp_path / "file.txt"), "fbnet": str(tmp_path / "fbnet.json"),
            "listjson": str(tmp_path / "list.json"), "cfg": str(tmp_path / "good.yaml")}


def _tree(*roots: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for root in roots
            for p in Path(root).rglob("*") if p.name != "writer.lock"}


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse
        return exc.code


def _check(argv, words, capsys, places):
    before = _tree(places["tmp"], places["run"])
    code = _exit_code(argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, (code, err)
    assert "Traceback" not in err and words in lines[0], lines
    assert lines[0].startswith("nas"), lines
    assert _tree(places["tmp"], places["run"]) == before, "bad input wrote something"


@pytest.mark.parametrize("text, words", [c[1:] for c in CONFIG_CASES],
                         ids=[c[0] for c in CONFIG_CASES])
def test_bad_config(text, words, places, capsys):
    path = Path(places["tmp"]) / "bad.yaml"
    path.write_text(text)
    _check(["search", "--config", str(path), "--out", f"{places['tmp']}/out"], words, capsys,
           places)


@pytest.mark.parametrize("argv, words", [c[1:] for c in ARGV_CASES],
                         ids=[c[0] for c in ARGV_CASES])
def test_bad_arguments(argv, words, places, capsys):
    _check([a.format(**places) for a in argv], words, capsys, places)


def test_the_table_is_big_enough():
    assert len(CONFIG_CASES) + len(ARGV_CASES) >= 60
    assert len({c[0] for c in CONFIG_CASES + ARGV_CASES}) == len(CONFIG_CASES + ARGV_CASES)
