"""Test settings for the search-space suite."""
from __future__ import annotations

import torch

# The models here are tiny; intra-op threads only add contention on small CI machines
# (2 cores shared with other jobs made a 1 s test take 50 s).
torch.set_num_threads(1)
