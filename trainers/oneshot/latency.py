"""Per-op latency lookup tables (FBNet's LUT) for a space's supernet on one device.

Wu et al., CVPR 2019, "FBNet", Sec. 3.2: the latency of a network is the sum of the
latencies of its operators, each measured once at its input shape on the target device;
the table makes latency a differentiable function of the architecture distribution.

`layer_jobs` lists one job per searchable layer (its input shape and candidate ops);
`time_layer` measures one layer's candidates (a unit of work for a Ray task);
`LatencyTable` stores the results with metadata (space, options, device, torch) and
refuses to be used for another space, layout or device.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from search_spaces.space import Space

__all__ = ["LatencyTable", "TABLE_FORMAT", "layer_jobs", "time_layer", "build_table",
           "device_name", "check_device"]

TABLE_FORMAT = "frontier-nas/latency-table/1"


def check_device(device: str) -> None:
    """Raise UserError unless `device` is 'cpu' or an available 'cuda'."""
    if device not in ("cpu", "cuda"):
        raise UserError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' requested but CUDA is not available here "
                        f"(torch {torch.__version__}); use --device cpu")


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine()


_JOBS: dict[str, tuple[list[dict[str, Any]], dict[str, list[int]]]] = {}


def _probe(space: Space, batch_size: int):
    """(layer jobs, input shapes of the fixed modules), from one forward of the supernet
    on a path with hooks on every layer; cached per space configuration and batch."""
    from search_spaces.supernet import build_supernet, fingerprint_of

    key = json.dumps([fingerprint_of(space), batch_size], sort_keys=True)
    if key in _JOBS:
        return _JOBS[key]
    supernet = build_supernet(space)
    if not supernet.supports_dnas:
        raise UserError(f"latency tables are built per layer for layer-wise supernets; "
                        f"space {space.name!r} has none (use fbnet)")
    shapes: dict[str, list[int]] = {}
    targets = [(name, block) for name, block in supernet.choice_blocks()]
    targets += [(f"fixed:{name}", entry) for name, _, entry in supernet.fixed_modules()]

    def recorder(name: str):
        def hook(_module, args) -> None:  # a pre-hook returning a value would replace args
            shapes.setdefault(name, list(args[0].shape))
        return hook

    hooks = [module.register_forward_pre_hook(recorder(name)) for name, module in targets]
    supernet.set_path(space.genotype({d.name: d.choices[0] for d in space.decisions()}))
    with torch.no_grad():
        supernet.eval()(torch.zeros(batch_size, *space.input_size()))
    for hook in hooks:
        hook.remove()
    jobs = [{**spec, "input": shapes[spec["layer"]], "ops": list(block.names)}
            for spec, (_, block) in zip(supernet.layer_specs(), supernet.choice_blocks())]
    fixed = {name: shapes[f"fixed:{name}"] for name, _, _ in supernet.fixed_modules()}
    _JOBS[key] = (jobs, fixed)
    return jobs, fixed


def layer_jobs(space: Space, batch_size: int = 1) -> list[dict[str, Any]]:
    """One job per searchable layer: name, input shape (N, C, H, W), the c_in, c_out and
    stride each candidate is built with, and the candidate op specs."""
    return [dict(job) for job in _probe(space, batch_size)[0]]


def _time(module: torch.nn.Module, x: torch.Tensor, warmup: int, repeats: int,
          sync: Callable[[], None]) -> float:
    """Median wall time of one forward, in ms."""
    with torch.no_grad():
        for _ in range(warmup):
            module(x)
        sync()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            module(x)
            sync()
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def time_layer(job: dict[str, Any], device: str = "cpu", warmup: int = 3,
               repeats: int = 10, threads: int = 1) -> dict[str, float]:
    """Median forward latency (ms) of each candidate op of one layer, eval mode."""
    from search_spaces.ops import build_op

    torch.set_num_threads(threads)
    check_device(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    x = torch.randn(*job["input"], device=device)
    result = {}
    for op in job["ops"]:
        module = build_op(op, job["c_in"], job["c_out"], job["stride"]).to(device).eval()
        result[op] = _time(module, x, warmup, repeats, sync)
    return result


@dataclass(frozen=True)
class LatencyTable:
    """Measured per-layer, per-op latencies (ms) of one space on one device."""

    space: str
    options: dict[str, Any]
    device: str
    layers: list[dict[str, Any]]  # layer, input, c_in, c_out, stride, ops, latency_ms
    meta: dict[str, Any] = field(default_factory=dict)

    # ----- use ---------------------------------------------------------------------
    def check(self, space: Space, device: str | None = None, path: str = "") -> None:
        """Raise UserError unless this table was measured for `space`'s layers (and
        candidates) on `device`."""
        where = f"latency table {path!r}" if path else "latency table"
        if space.name != self.space:
            raise UserError(f"{where} is for space {self.space!r}, not {space.name!r}; "
                            f"build one with `nas latency-table --space {space.name}`")
        if device is not None and device != self.device:
            raise UserError(f"{where} was measured on {self.device!r} "
                            f"({self.meta.get('device_name', '?')}), not {device!r}; build "
                            f"one with `nas latency-table --space {space.name} --device "
                            f"{device}`")
        jobs = layer_jobs(space, self.meta.get("batch_size", 1))
        if len(jobs) != len(self.layers):
            raise UserError(f"{where} has {len(self.layers)} layers; space {space.name!r} "
                            f"has {len(jobs)}")
        for want, have in zip(jobs, self.layers):
            if (want["layer"], want["input"], want["c_out"], want["stride"]) != (
                    have["layer"], have["input"], have["c_out"], have["stride"]):
                raise UserError(f"{where} does not match this space's layer "
                                f"{want['layer']}: table input {have['input']} -> "
                                f"{have['c_out']}, space {want['input']} -> {want['c_out']} "
                                "(other input_size or strides?)")
            missing = [op for op in want["ops"] if op not in have["latency_ms"]]
            if missing:
                raise UserError(f"{where} lacks candidates {missing} of layer "
                                f"{want['layer']} (other extra_ops?)")

    def matrix(self, names: Iterable[str], ops: Iterable[str]) -> torch.Tensor:
        """(layers, ops) latencies in ms for the given layer names and op order."""
        by_name = {layer["layer"]: layer["latency_ms"] for layer in self.layers}
        ops = list(ops)
        return torch.tensor([[by_name[n][op] for op in ops] for n in names],
                            dtype=torch.float32)

    def predict(self, genotype: Genotype, with_fixed: bool = True) -> float:
        """Latency (ms) of `genotype`: the sum of its ops' entries (FBNet Eq. 4), plus
        the path-independent stem and head."""
        total = sum(layer["latency_ms"][str(genotype[layer["layer"]])]
                    for layer in self.layers)
        return total + (self.meta.get("fixed_ms", 0.0) if with_fixed else 0.0)

    # ----- files ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": TABLE_FORMAT, "space": self.space, "options": self.options,
                "device": self.device, "meta": self.meta, "layers": self.layers}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path, space: Space | None = None,
             device: str | None = None) -> "LatencyTable":
        """Read a table; with `space`/`device`, also check it fits them."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"latency table {str(path)!r} does not exist; build one with "
                            "`nas latency-table`")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"latency table {str(path)!r} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != TABLE_FORMAT:
            raise UserError(f"{str(path)!r} is not a frontier-nas latency table")
        table = cls(data["space"], data["options"], data["device"], data["layers"],
                    data.get("meta", {}))
        if space is not None:
            table.check(space, device, str(path))
        return table


def build_table(space: Space, device: str = "cpu", batch_size: int = 1, warmup: int = 3,
                repeats: int = 10, runner: Callable | None = None) -> LatencyTable:
    """Measure every candidate of every layer of `space` on `device`.

    `runner(jobs, kwargs) -> list of {op: ms}` runs the per-layer jobs (a Ray job in
    `nas latency-table`); by default they run here, one after another.
    """
    check_device(device)
    start = time.perf_counter()
    jobs = layer_jobs(space, batch_size)
    kwargs = {"device": device, "warmup": warmup, "repeats": repeats}
    results = (runner or _run_here)(jobs, kwargs)
    layers = [{**job, "latency_ms": result} for job, result in zip(jobs, results)]
    fixed = _fixed_ms(space, device, batch_size, warmup, repeats)
    meta = {"device_name": device_name(device), "torch": torch.__version__,
            "batch_size": batch_size, "dtype": "float32", "unit": "ms",
            "statistic": f"median of {repeats} after {warmup} warm-up", "fixed_ms": fixed,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "build_seconds": round(time.perf_counter() - start, 3)}
    options = json.loads(json.dumps(space.options, default=list))
    return LatencyTable(space.name, options, device, layers, meta)


def _run_here(jobs: list[dict], kwargs: dict) -> list[dict[str, float]]:
    return [time_layer(job, **kwargs) for job in jobs]


def _fixed_ms(space: Space, device: str, batch_size: int, warmup: int,
              repeats: int) -> float:
    """Latency of the path-independent modules (stem; head + classifier), in ms."""
    from search_spaces.supernet import build_supernet

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    shapes = _probe(space, batch_size)[1]
    supernet = build_supernet(space).to(device).eval()
    return sum(_time(module, torch.randn(shapes[name], device=device), warmup, repeats, sync)
               for name, module, _ in supernet.fixed_modules())
