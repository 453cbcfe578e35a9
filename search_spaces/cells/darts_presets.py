"""Published NASNet-style cell genotypes, in the general (op, input state) form.

Each cell lists its nodes in order (node i is state i + 2); each node is two
(op, input state) pairs; `concat` is the published output list. Sources (REFERENCES.md
Sec. 2.2): DARTS_V1/V2, NASNet, AmoebaNet from quark0/darts cnn/genotypes.py (Liu et al.,
ICLR 2019, DARTS; Zoph et al., CVPR 2018, NASNet-A; Real et al., AAAI 2019, AmoebaNet-A);
PC_DARTS_cifar and PC_DARTS_image from yuhuixu1993/PC-DARTS genotypes.py (Xu et al.,
ICLR 2020).

`options` are the darts-space options a preset needs beyond the defaults: NASNet and
AmoebaNet have 5 nodes, concatenate the unused states, and use ops outside the 8 DARTS
primitives.
"""
from __future__ import annotations

from typing import Any

__all__ = ["DARTS_PRESETS"]

_SEP3, _SEP5, _SEP7 = "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"
_DIL3, _DIL5 = "dil_conv_3x3", "dil_conv_5x5"
_MAX, _AVG, _SKIP, _C71 = "max_pool_3x3", "avg_pool_3x3", "skip_connect", "conv_7x1_1x7"
_ALL4 = (2, 3, 4, 5)

DARTS_PRESETS: dict[str, dict[str, Any]] = {
    "darts_v1": {
        "normal": (((_SEP3, 1), (_SEP3, 0)), ((_SKIP, 0), (_SEP3, 1)),
                   ((_SKIP, 0), (_SEP3, 1)), ((_SEP3, 0), (_SKIP, 2))),
        "normal_concat": _ALL4,
        "reduce": (((_MAX, 0), (_MAX, 1)), ((_SKIP, 2), (_MAX, 0)),
                   ((_MAX, 0), (_SKIP, 2)), ((_SKIP, 2), (_AVG, 0))),
        "reduce_concat": _ALL4,
        "options": {},
    },
    "darts_v2": {
        "normal": (((_SEP3, 0), (_SEP3, 1)), ((_SEP3, 0), (_SEP3, 1)),
                   ((_SEP3, 1), (_SKIP, 0)), ((_SKIP, 0), (_DIL3, 2))),
        "normal_concat": _ALL4,
        "reduce": (((_MAX, 0), (_MAX, 1)), ((_SKIP, 2), (_MAX, 1)),
                   ((_MAX, 0), (_SKIP, 2)), ((_SKIP, 2), (_MAX, 1))),
        "reduce_concat": _ALL4,
        "options": {},
    },
    "pc_darts": {
        "normal": (((_SEP3, 1), (_SKIP, 0)), ((_SEP3, 0), (_DIL3, 1)),
                   ((_SEP5, 0), (_SEP3, 1)), ((_AVG, 0), (_DIL3, 1))),
        "normal_concat": _ALL4,
        "reduce": (((_SEP5, 1), (_MAX, 0)), ((_SEP5, 1), (_SEP5, 2)),
                   ((_SEP3, 0), (_SEP3, 3)), ((_SEP3, 1), (_SEP3, 2))),
        "reduce_concat": _ALL4,
        "options": {},
    },
    "pc_darts_image": {
        "normal": (((_SKIP, 1), (_SEP3, 0)), ((_SEP3, 0), (_SKIP, 1)),
                   ((_SEP3, 1), (_SEP3, 3)), ((_SEP3, 1), (_DIL5, 4))),
        "normal_concat": _ALL4,
        "reduce": (((_SEP3, 0), (_SKIP, 1)), ((_DIL5, 2), (_MAX, 1)),
                   ((_SEP3, 2), (_SEP3, 1)), ((_SEP5, 0), (_SEP3, 3))),
        "reduce_concat": _ALL4,
        "options": {},
    },
    "nasnet": {
        "normal": (((_SEP5, 1), (_SEP3, 0)), ((_SEP5, 0), (_SEP3, 0)),
                   ((_AVG, 1), (_SKIP, 0)), ((_AVG, 0), (_AVG, 0)),
                   ((_SEP3, 1), (_SKIP, 1))),
        "normal_concat": (2, 3, 4, 5, 6),
        "reduce": (((_SEP5, 1), (_SEP7, 0)), ((_MAX, 1), (_SEP7, 0)),
                   ((_AVG, 1), (_SEP5, 0)), ((_SKIP, 3), (_AVG, 2)),
                   ((_SEP3, 2), (_MAX, 1))),
        "reduce_concat": (4, 5, 6),
        "options": {"nodes": 5, "concat": "unused", "extra_ops": [_SEP7]},
    },
    "amoebanet": {
        "normal": (((_AVG, 0), (_MAX, 1)), ((_SEP3, 0), (_SEP5, 2)),
                   ((_SEP3, 0), (_AVG, 3)), ((_SEP3, 1), (_SKIP, 1)),
                   ((_SKIP, 0), (_AVG, 1))),
        "normal_concat": (4, 5, 6),
        "reduce": (((_AVG, 0), (_SEP3, 1)), ((_MAX, 0), (_SEP7, 2)),
                   ((_SEP7, 0), (_AVG, 1)), ((_MAX, 0), (_MAX, 1)),
                   ((_C71, 0), (_SEP3, 5))),
        "reduce_concat": (3, 4, 6),
        "options": {"nodes": 5, "concat": "unused", "extra_ops": [_SEP7, _C71]},
    },
}
