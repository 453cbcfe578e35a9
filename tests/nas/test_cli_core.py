"""CLI contract: --json prints one object; bad input exits 2 with a one-line reason."""
import json

import pytest

from nas.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_describe_nb201_best_arch(capsys):
    code, out, _ = run(capsys, "spaces", "describe", "nb201", "--arch", "index:6111", "--json")
    data = json.loads(out)
    assert code == 0 and data["params"] == 1_073_466 and data["mmacs"] == 153.27297
    assert data["space"] == "nb201" and data["input_size"] == [3, 32, 32]


def test_describe_sample_and_text(capsys):
    code, out, _ = run(capsys, "spaces", "describe", "nb201", "--sample", "2", "--seed", "1",
                       "--input-size", "1,8,8", "--option", "cells=1")
    assert code == 0 and sum(line.startswith("|") for line in out.splitlines()) == 2
    assert "MACs count" in out


def test_spaces_list_json(capsys):
    code, out, _ = run(capsys, "spaces", "list", "--json")
    names = [s["name"] for s in json.loads(out)["spaces"]]
    assert code == 0 and "nb201" in names


def test_describe_genotype_file(capsys, tmp_path, nb201):
    path = tmp_path / "g.json"
    path.write_text(nb201.parse("index:11").to_json())
    code, out, _ = run(capsys, "spaces", "describe", "nb201", "--genotype", str(path), "--json")
    assert code == 0 and json.loads(out)["params"] == 802_426


@pytest.mark.parametrize("argv, message", [
    (["spaces", "describe", "nb202"], "unknown space 'nb202'"),
    (["spaces", "describe", "nb201", "--arch", "|nor_conv_3x3~0|"], "malformed NB201 arch"),
    (["spaces", "describe", "nb201", "--arch", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
     "nor_conv_3x3"),
    (["spaces", "describe", "nb201", "--genotype", "/nonexistent.json"], "does not exist"),
    (["spaces", "describe", "nb201", "--input-size", "3,32"], "C,H,W"),
    (["spaces", "describe", "nb201", "--option", "chanels=4"], "channels"),
    (["status", "/nonexistent/run"], "does not exist"),
    (["search"], "--config"),
    (["search", "--config", "/nonexistent.yaml"], "does not exist"),
    (["search", "--config", "configs/quickstart.yaml", "--strategy", "tpee"], "'tpe'"),
    (["search", "--config", "configs/quickstart.yaml", "--space", "nb2O1"], "nb201"),
])
def test_bad_input_exits_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_genotype_file(capsys, tmp_path):
    path = tmp_path / "g.json"
    path.write_text('{"space": "nb201", "decisions": {"1<-0": "none"}}')
    code, _, err = run(capsys, "spaces", "describe", "nb201", "--genotype", str(path))
    assert code == 2 and "missing" in err


def test_config_with_wrong_key_and_type(capsys, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nworkerz: 2\n")
    code, _, err = run(capsys, "search", "--config", str(path))
    assert code == 2 and "'workers'" in err
    path.write_text("name: x\nworkers: two\n")
    code, _, err = run(capsys, "search", "--config", str(path))
    assert code == 2 and "must be int" in err


def test_evaluator_space_mismatch(capsys, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nspace: {name: nb201}\nevaluator: {name: train}\n")
    code, _, err = run(capsys, "search", "--config", str(path), "--out", str(tmp_path / "r"))
    assert code == 2 and "input_size" in err


def test_a_reader_that_closes_early_gets_no_traceback():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(f"{sys.executable} -m nas spaces list | head -c 10", shell=True,
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert len(proc.stdout) == 10
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
