"""`nas latency-table` as a Ray job: one task per searchable layer times its candidates.

Each task builds the layer's candidate ops at the layer's input shape and reports the
median forward latency of each (Wu et al., CVPR 2019, FBNet, Sec. 3.2, the LUT). On
CUDA each task holds one GPU; on CPU, keep `workers` at 1 unless the cores are idle:
concurrent timings disturb each other.
"""
from __future__ import annotations

from nas.run.ray_runtime import ray_session
from trainers.oneshot.latency import LatencyTable, build_table, time_layer

__all__ = ["build_latency_table"]


def build_latency_table(space, device: str = "cpu", batch_size: int = 1, warmup: int = 3,
                        repeats: int = 10, workers: int = 1,
                        address: str | None = None) -> LatencyTable:
    """Measure `space`'s table on `device` with one Ray task per layer."""

    def runner(jobs: list[dict], kwargs: dict) -> list[dict[str, float]]:
        import ray

        with ray_session(workers, address):
            remote = ray.remote(time_layer).options(num_cpus=1,
                                                    num_gpus=1 if device == "cuda" else 0)
            return ray.get([remote.remote(job, **kwargs) for job in jobs])

    return build_table(space, device, batch_size, warmup, repeats, runner=runner)
