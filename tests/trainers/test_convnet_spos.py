"""`strategy: spos` on the convnet space: single-path supernet training, then the
`supernet` evaluator scoring extracted subnets (Guo et al. 2020, SPOS)."""
from __future__ import annotations

import numpy as np
import torch

from search_spaces import get_space
from search_spaces.supernet import build_supernet
from trainers.data import load_dataset
from trainers.evaluators import make_evaluator
from trainers.oneshot import oneshot_config, train_supernet

OPTIONS = {"input_size": (1, 8, 8), "num_classes": 10, "depths": [[1, 2], [0, 1], [1, 2], [1]],
           "widths": [[16], [16], [32], [32]], "mlp_ratios": [2, 4], "layer_scale": 0.1,
           "mixers": ["dw_k3", "replk_k5", "gnconv_o2", "shift"]}


def test_spos_training_and_the_supernet_evaluator(tmp_path):
    space = get_space("convnet", **OPTIONS)
    torch.manual_seed(0)
    path = tmp_path / "supernet.pt"
    config = oneshot_config({"epochs": 1, "batch_size": 32, "limit_train": 64, "lr": 0.05})
    summary = train_supernet(build_supernet(space), load_dataset("digits"), config, path)
    assert summary["history"][-1]["epoch"] == 1
    evaluator = make_evaluator("supernet", {"checkpoint": str(path), "bn_batches": 2})
    evaluator.check(space)
    metrics = evaluator(space, space.sample(np.random.default_rng(4)))
    assert metrics.ok and 0 <= metrics.objectives["accuracy"] <= 100
