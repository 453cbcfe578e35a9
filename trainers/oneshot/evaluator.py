"""The `supernet` evaluator: score a genotype with weights inherited from a supernet.

Guo et al., ECCV 2020, SPOS, Sec. 3.3: extract the subnet (exactly the network
`space.build` makes, holding the supernet's weights), recalibrate its BN statistics on
a few training batches, then measure validation accuracy. The checkpoint is loaded once
per worker process and cached. Cost metrics (params, MACs; latency from a table when
given) are those of the extracted subnet.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from search_spaces.space import Space
from search_spaces.supernet import fingerprint_of

from ..evaluators import EVALUATORS, Evaluator
from ..metrics import Metrics

__all__ = ["SupernetEvaluator"]

_CACHE: dict[str, Any] = {}


def _cached_supernet(space: Space, path: str, device: str):
    """(supernet, checkpoint epoch), loaded once per process and checkpoint version."""
    from .checkpoint import load_supernet

    stat = Path(path).stat()
    key = json.dumps([str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, device,
                      fingerprint_of(space)], sort_keys=True)
    if key not in _CACHE:
        _CACHE.clear()  # one supernet per worker at a time
        supernet, data = load_supernet(path, space, map_location=device)
        _CACHE[key] = (supernet.eval(), int(data["epoch"]))
    return _CACHE[key]


@EVALUATORS.register("supernet")
class SupernetEvaluator(Evaluator):
    """Inherited-weight validation accuracy (%) after BN recalibration (SPOS)."""

    defaults = {"checkpoint": "", "dataset": "digits", "image_size": 0, "seed": 0,
                "bn_batches": 10, "batch_size": 64, "latency_table": "", "device": "cpu",
                "cost": True}
    metric_names = ("accuracy",)

    def _data(self):
        from ..data import load_dataset

        o = self.options
        return load_dataset(o["dataset"], o["seed"], o["image_size"] or None)

    def check(self, space: Space) -> None:
        from .checkpoint import check_checkpoint, read_checkpoint
        from .latency import LatencyTable

        path = self.options["checkpoint"]
        if not path:
            raise UserError("evaluator 'supernet' needs option 'checkpoint' (a supernet "
                            "checkpoint; `nas search --strategy spos` sets it)")
        check_checkpoint(read_checkpoint(path), fingerprint_of(space), path)
        data = self._data()
        if tuple(space.input_size()) != data.input_size:
            raise UserError(f"space input_size {list(space.input_size())} does not match "
                            f"dataset {self.options['dataset']!r} images "
                            f"{list(data.input_size)}")
        if self.options["latency_table"]:  # any target device; it must fit the space
            LatencyTable.load(self.options["latency_table"], space)

    def __call__(self, space: Space, genotype: Genotype) -> Metrics:
        from ..train import accuracy
        from .bn import bn_batches, recalibrate_bn

        start = time.perf_counter()
        o = self.options
        if not o["checkpoint"]:
            self.check(space)
        supernet, epochs = _cached_supernet(space, o["checkpoint"], o["device"])
        loaded = time.perf_counter()
        subnet = supernet.extract(genotype)
        data = self._data()
        # the same batches for every genotype, so scores differ by architecture only
        batches = bn_batches(data.x_train, o["bn_batches"], o["batch_size"], o["seed"],
                             o["device"])
        recalibrate_bn(subnet, batches)
        calibrated = time.perf_counter()
        acc = accuracy(subnet, data.x_val.to(o["device"]), data.y_val.to(o["device"]))
        scored = time.perf_counter()
        cost = self.cost(space, genotype, subnet.cpu()) if o["cost"] else {}
        if o["latency_table"]:
            cost["latency_ms"] = _table(o["latency_table"], space).predict(genotype)
        return Metrics(objectives={"accuracy": 100.0 * acc}, cost=cost, fidelity=float(epochs),
                       timings={"load_s": loaded - start, "bn_recalibration_s":
                                calibrated - loaded, "eval_s": scored - calibrated,
                                "total_s": time.perf_counter() - start})


def _table(path: str, space: Space):
    """The latency table at `path`, loaded and checked once per process."""
    from .latency import LatencyTable

    key = json.dumps([path, fingerprint_of(space)], sort_keys=True)
    if key not in _TABLES:
        _TABLES[key] = LatencyTable.load(path, space)
    return _TABLES[key]


_TABLES: dict[str, Any] = {}
