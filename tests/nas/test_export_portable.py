"""TorchScript and ONNX exports run in a Python that cannot import this package.

The check runs `python -I -S` (isolated, no site: no PYTHONPATH, no .pth files, so not
the editable install's finder either) with only the folders holding torch, numpy and
onnxruntime on sys.path, and compares its outputs with the source module's.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.cli import main
from nas.export import TOLERANCE, load_final_source
from nas.export.final_checkpoint import FINAL_NAME
from search_spaces import get_space

HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime"))
pytestmark = pytest.mark.skipif(not HAVE_ONNX, reason="needs the [onnx] extra")

_ISOLATED = textwrap.dedent("""
    import importlib.util, json, sys
    sys.path[:0] = {paths!r}
    ours = [m for m in ("nas", "search_spaces", "trainers") if importlib.util.find_spec(m)]
    import numpy as np, onnxruntime as ort, torch
    x = np.load({x!r})
    scripted = torch.jit.load({ts!r})(torch.from_numpy(x)).detach().numpy()
    session = ort.InferenceSession({onnx!r}, providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {{"input": x}})[0]
    np.save({ts_out!r}, scripted)
    np.save({onnx_out!r}, onnx_out)
    print(json.dumps({{"importable": ours, "modules": sorted(m.split(".")[0]
                                                         for m in sys.modules)}}))
""")


def _library_paths() -> list[str]:
    import onnxruntime

    return sorted({str(Path(m.__file__).resolve().parents[1])
                   for m in (torch, np, onnxruntime)})


@pytest.fixture(scope="module")
def final_darts(tmp_path_factory):
    """A tiny DARTS network trained one epoch with drop-path and its auxiliary head."""
    tmp = tmp_path_factory.mktemp("portable")
    space = get_space("darts", C=4, layers=3, input_size=(1, 8, 8))
    genotype = tmp / "arch.json"
    genotype.write_text(space.resolve("darts_v2")[1].to_json())
    assert main(["train", "--genotype", str(genotype), "--space", "darts", "--input-size",
                 "1,8,8", "--option", "C=4", "--option", "layers=3", "--epochs", "1",
                 "--quiet", "--out", str(tmp / "final")]) == 0
    return tmp / "final" / FINAL_NAME


def test_torchscript_and_onnx_run_without_the_package(final_darts, tmp_path, capsys):
    files = {}
    for fmt, name in (("torchscript", "model.ts.pt"), ("onnx", "model.onnx")):
        assert main(["export", "--checkpoint", str(final_darts), "--format", fmt,
                     "--out", str(tmp_path), "--json"]) == 0
        files[fmt] = str(Path(json.loads(capsys.readouterr().out)["exports"][0]["dir"])
                         / name)
    source = load_final_source(final_darts)
    x = torch.randn(3, *source.input_size, generator=torch.Generator().manual_seed(7))
    np.save(tmp_path / "x.npy", x.numpy())
    with torch.no_grad():
        expected = source.module(x).numpy()
    script = _ISOLATED.format(paths=_library_paths(), x=str(tmp_path / "x.npy"),
                              ts=files["torchscript"], onnx=files["onnx"],
                              ts_out=str(tmp_path / "ts.npy"),
                              onnx_out=str(tmp_path / "onnx.npy"))
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["importable"] == []
    assert not {"nas", "search_spaces", "trainers"} & set(report["modules"])
    for name in ("ts", "onnx"):
        got = np.load(tmp_path / f"{name}.npy")
        assert got.shape == expected.shape and np.abs(got - expected).max() < TOLERANCE

