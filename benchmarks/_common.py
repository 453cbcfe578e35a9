"""Shared set-up for the benchmark scripts (run from anywhere: the repo root goes on
sys.path so this checkout, not an installed copy, is measured)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def timed(fn, *args, **kwargs):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def proxy_batch(dataset: str, input_size, batch_size: int, seed: int = 0):
    """A seeded batch of a dataset's train split, fitted to the network input (digits are
    upsampled and replicated to 3 channels)."""
    from trainers.data import load_dataset, sample_batch

    return sample_batch(load_dataset(dataset, 0), batch_size, seed, input_size)
