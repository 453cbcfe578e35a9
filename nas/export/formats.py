"""Export formats, registered by name: json, pytorch, torchscript, onnx.

A writer saves its artefacts into the job's folder and returns how to run them loaded
back (the parity check calls that on a fixed random batch).
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from search_spaces import build
from search_spaces.errors import UserError
from search_spaces.registry import Registry

from .fuse import fuse_model

__all__ = ["ExportJob", "Written", "FORMATS", "check_format", "rebuild", "ONNX_HINT"]

ONNX_HINT = 'pip install "frontier-nas[onnx]"'
ONNX_OPSET = 17


@dataclass
class ExportJob:
    """What a writer needs: the module to save, its rebuild spec and the target folder."""

    module: nn.Module  # eval mode; fused when `fused`
    spec: dict[str, Any]  # contents of arch.json
    fused: bool
    out_dir: Path
    input_size: tuple[int, ...]


@dataclass
class Written:
    files: list[str]
    run: Callable[[torch.Tensor], torch.Tensor]
    runtime: str


Writer = Callable[[ExportJob], Written]
FORMATS: Registry[Writer] = Registry("export format")
_NEEDS = {"onnx": ("onnx", "onnxruntime")}


def check_format(name: str) -> None:
    """UserError for an unknown format, or one whose packages are not installed."""
    FORMATS.get(name)  # a miss lists the formats
    for package in _NEEDS.get(name, ()):
        try:
            importlib.import_module(package)
        except ImportError:
            raise UserError(f"export format {name!r} needs the package {package!r}, which is "
                            f"not installed; install it with: {ONNX_HINT}") from None


def rebuild(spec: dict[str, Any]) -> nn.Module:
    """The eval-mode module an arch.json describes (fused like the export when marked)."""
    module = build(spec["space"], spec["genotype"], **spec["options"]).eval()
    return fuse_model(module)[0] if spec.get("fused") else module


@FORMATS.register("json")
def write_json(job: ExportJob) -> Written:
    """arch.json alone: rebuilt with search_spaces.build, given the exported weights."""
    def run(x: torch.Tensor) -> torch.Tensor:
        module = rebuild(json.loads((job.out_dir / "arch.json").read_text()))
        module.load_state_dict(job.module.state_dict())  # strict: the structure must match
        return module(x)

    return Written(["arch.json"], run, "search_spaces.build(arch.json) + exported weights")


_LOADER = '''"""Load trial {trial_id} of run {run!r} ({arch}).

Needs frontier-nas installed. Usage: `from load_model import load; model = load()`
or `python load_model.py` to run one random batch. Weights: {weights}.
"""
import json
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def load() -> torch.nn.Module:
    """Rebuild the architecture from arch.json and load state_dict.pt (eval mode)."""
    from nas.export.formats import rebuild

    model = rebuild(json.loads((HERE / "arch.json").read_text()))
    model.load_state_dict(torch.load(HERE / "state_dict.pt", map_location="cpu",
                                     weights_only=True))
    return model.eval()


if __name__ == "__main__":
    spec = json.loads((HERE / "arch.json").read_text())
    with torch.no_grad():
        print(load()(torch.randn(1, *spec["input_size"])).shape)
'''


def _import_file(path: Path, name: str):
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@FORMATS.register("pytorch")
def write_pytorch(job: ExportJob) -> Written:
    """state_dict.pt + load_model.py (rebuilds from arch.json, loads the weights)."""
    torch.save(job.module.state_dict(), job.out_dir / "state_dict.pt")
    spec = job.spec
    (job.out_dir / "load_model.py").write_text(_LOADER.format(
        trial_id=spec["trial_id"], run=spec["run"], arch=spec["arch"],
        weights=spec["weights"]["status"]))

    def run(x: torch.Tensor) -> torch.Tensor:
        loader = _import_file(job.out_dir / "load_model.py", f"_nas_loader_{spec['trial_id']}")
        return loader.load()(x)

    return Written(["arch.json", "state_dict.pt", "load_model.py"], run,
                   "generated load_model.py")


@FORMATS.register("torchscript")
def write_torchscript(job: ExportJob) -> Written:
    """model.ts.pt by torch.jit.trace at the space's input size (batch size free)."""
    example = torch.zeros(2, *job.input_size)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings on shape checks that are constant
        traced = torch.jit.trace(job.module, example, check_trace=False)
    path = job.out_dir / "model.ts.pt"
    traced.save(str(path))

    def run(x: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit, torch >= 2.10
            return torch.jit.load(str(path))(x)

    return Written(["arch.json", "model.ts.pt"], run, "torch.jit.load")


@FORMATS.register("onnx")
def write_onnx(job: ExportJob) -> Written:
    """model.onnx (opset 17, dynamic batch) checked by onnx and run with onnxruntime."""
    import onnx
    import onnxruntime as ort

    path = job.out_dir / "model.onnx"
    example = torch.zeros(2, *job.input_size)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and TracerWarnings
        # The TorchScript-based exporter: the dynamo one needs onnxscript, not in our extra.
        torch.onnx.export(job.module, (example,), str(path), dynamo=False,
                          opset_version=ONNX_OPSET, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"},
                                                                 "logits": {0: "batch"}})
    onnx.checker.check_model(onnx.load(str(path)))

    def run(x: torch.Tensor) -> torch.Tensor:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {"input": x.numpy()})[0])

    return Written(["arch.json", "model.onnx"], run, f"onnxruntime {ort.__version__}")
