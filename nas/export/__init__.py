"""Export searched architectures: genotype JSON, PyTorch, TorchScript, ONNX, with parity.

`export_run(run_dir, fmt, trial=ID | pareto=True, fuse=False, out=None)` and
`export_checkpoint(final.pt, fmt)` are what `nas export` calls; every artefact is loaded
back and compared with its source module. TorchScript and ONNX files run without this
package (torch.jit.load / onnxruntime); json and pytorch exports rebuild with it.
"""
from __future__ import annotations

from .api import export_checkpoint, export_dir, export_one, export_run
from .formats import FORMATS, check_format, rebuild
from .fuse import deploy_cost, fuse_model
from .parity import TOLERANCE, ParityError, parity_check
from .source import ExportSource, load_final_source, load_source, select_trials

__all__ = ["FORMATS", "TOLERANCE", "ExportSource", "ParityError", "check_format",
           "deploy_cost", "export_checkpoint", "export_dir", "export_one", "export_run",
           "fuse_model", "load_final_source", "load_source", "parity_check", "rebuild",
           "select_trials"]
