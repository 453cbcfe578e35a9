"""One-shot training: supernets trained single-path (SPOS) or by FBNet DNAS, BN
recalibration, latency lookup tables, checkpoints, and the `supernet` evaluator."""
from __future__ import annotations

from .bn import bn_batches, recalibrate_bn
from .checkpoint import load_supernet, read_checkpoint, save_checkpoint
from .config import OneShotConfig, oneshot_config
from .latency import LatencyTable, build_table
from .loop import sample_path, train_supernet
from .rank import kendall_tau

__all__ = ["LatencyTable", "OneShotConfig", "bn_batches", "build_table", "kendall_tau",
           "load_supernet", "oneshot_config", "read_checkpoint", "recalibrate_bn",
           "sample_path", "save_checkpoint", "train_supernet"]
