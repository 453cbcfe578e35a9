"""Multi-process supernet training: torch DistributedDataParallel in Ray actors.

One actor per rank (one GPU each on CUDA, NCCL; one CPU each otherwise, gloo); rank 0
hosts the TCP rendezvous and writes the checkpoints. Each rank trains the same path
on its share of every batch (see `trainers.oneshot.loop`); DDP averages the gradients of
the parameters on the path (`find_unused_parameters`: off-path candidates get none).
"""
from __future__ import annotations

import socket
from typing import Any

from search_spaces.errors import UserError
from trainers.oneshot.config import OneShotConfig, oneshot_config

__all__ = ["train_distributed", "DDPWorker"]


class DDPWorker:
    """A Ray actor holding one rank of a DistributedDataParallel supernet training."""

    def rendezvous(self) -> tuple[str, int]:
        """A free TCP port on this actor's host (rank 0)."""
        host = socket.gethostbyname(socket.gethostname())
        with socket.socket() as s:
            s.bind(("", 0))
            return host, s.getsockname()[1]

    def train(self, rank: int, world: int, host: str, port: int, space: dict,
              config: dict, checkpoint: str, table: str | None) -> dict[str, Any]:
        import torch
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP

        from search_spaces import get_space
        from search_spaces.supernet import build_supernet
        from trainers.data import load_dataset
        from trainers.oneshot.latency import LatencyTable
        from trainers.oneshot.loop import train_supernet

        cfg = oneshot_config(config)
        cuda = cfg.device == "cuda"
        torch.set_num_threads(1)
        dist.init_process_group("nccl" if cuda else "gloo", init_method=f"tcp://{host}:{port}",
                                rank=rank, world_size=world)
        try:
            sp = get_space(space["name"], **space["options"])
            torch.manual_seed(cfg.seed)
            supernet = build_supernet(sp)
            data = load_dataset(cfg.dataset, cfg.seed, cfg.image_size or None)
            lat = LatencyTable.load(table, sp, cfg.device) if table else None

            def wrap(module):
                return DDP(module, device_ids=[0] if cuda else None,
                           find_unused_parameters=True)

            summary = train_supernet(supernet, data, cfg, checkpoint, table=lat, rank=rank,
                                     world_size=world, wrap=wrap)
            summary["param_checksum"] = float(sum(p.detach().double().sum().item()
                                                  for p in supernet.parameters()))
            return summary
        finally:
            dist.destroy_process_group()


def train_distributed(space: dict, config: OneShotConfig, checkpoint: str,
                      table: str | None = None) -> dict[str, Any]:
    """Train on `config.world_size` ranks (GPUs when device is cuda) via Ray actors.

    Uses the connected Ray cluster, or starts a local one for the run. Returns rank 0's
    summary plus every rank's parameter checksum (equal when DDP kept them in sync).
    """
    import ray

    from nas.run.ray_runtime import ray_session

    world, gpus = config.world_size, 1 if config.device == "cuda" else 0
    if ray.is_initialized():
        return _launch(space, config, checkpoint, table, world, gpus)
    with ray_session(world):
        return _launch(space, config, checkpoint, table, world, gpus)


def _launch(space: dict, config: OneShotConfig, checkpoint: str, table: str | None,
            world: int, gpus: int) -> dict[str, Any]:
    import ray

    have = ray.cluster_resources().get("GPU" if gpus else "CPU", 0)
    if have < world:
        kind = "GPUs" if gpus else "CPUs"
        raise UserError(f"distributed supernet training needs {world} {kind}; the Ray "
                        f"cluster has {have:g}")
    actor = ray.remote(num_cpus=1, num_gpus=gpus)(DDPWorker)
    workers = [actor.remote() for _ in range(world)]
    try:
        host, port = ray.get(workers[0].rendezvous.remote())
        results = ray.get([w.train.remote(rank, world, host, port, space, config.to_dict(),
                                          checkpoint, table)
                           for rank, w in enumerate(workers)])
    finally:
        for w in workers:
            ray.kill(w)
    return {**results[0], "world_size": world,
            "rank_checksums": [r["param_checksum"] for r in results]}
