"""Distributed supernet training: DDP in Ray actors with gloo on CPU (2 ranks), and the
CUDA/NCCL path (needs 2 GPUs)."""
from __future__ import annotations

import pytest
import torch

from nas.oneshot.distributed import train_distributed
from trainers.oneshot import load_supernet, oneshot_config

SPACE = {"name": "darts", "options": {"C": 4, "layers": 3, "input_size": [1, 8, 8],
                                      "num_classes": 10}}
CONFIG = {"epochs": 2, "batch_size": 16, "limit_train": 64, "world_size": 2}


@pytest.mark.slow  # two Ray actors importing torch: ~30-90 s on 2 shared cores
def test_gloo_ddp_two_ranks_stay_in_sync_and_resume(tmp_path):
    path = str(tmp_path / "supernet.pt")
    first = train_distributed(SPACE, oneshot_config(CONFIG, epochs=1), path)
    assert first["world_size"] == 2 and len(first["history"]) == 1
    a, b = first["rank_checksums"]
    assert a == pytest.approx(b, rel=1e-9)  # DDP averaged the same gradients everywhere
    second = train_distributed(SPACE, oneshot_config(CONFIG), path)  # resumes epoch 2
    assert second["resumed_from"] == 1 and len(second["history"]) == 2
    supernet, data = load_supernet(path)
    assert data["epoch"] == 2
    assert second["param_checksum"] == pytest.approx(
        float(sum(p.detach().double().sum() for p in supernet.parameters())), rel=1e-9)


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices")
def test_nccl_ddp_two_gpus(tmp_path):
    path = str(tmp_path / "supernet.pt")
    result = train_distributed(SPACE, oneshot_config(CONFIG, device="cuda"), path)
    a, b = result["rank_checksums"]
    assert a == pytest.approx(b, rel=1e-6)
