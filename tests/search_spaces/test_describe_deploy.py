"""`describe` reports train-time and deploy (re-parameterised) cost side by side."""
import numpy as np

from search_spaces import get_space


def test_deploy_cost_with_large_kernel_candidates():
    space = get_space("darts", C=8, layers=5, extra_ops=["unireplk_k13", "replk_k13"])
    genotype = space.sample(np.random.default_rng(0))
    genotype = genotype.replace(**{"normal.n2.op0": "unireplk_k13", "reduce.n2.op0": "replk_k13"})
    info = space.describe(genotype)
    # merging the parallel branches removes their BN and small kernels
    assert info["deploy_params"] < info["params"]
    assert info["deploy_macs"] < info["macs"]


def test_deploy_cost_folds_bn_into_convs(nb201):
    info = nb201.describe(nb201.parse("index:0"))
    # each folded BN drops 2*C affine params and gives its conv a C-wide bias
    assert info["deploy_params"] < info["params"]
    # NB201 counts bias adds, so the folded convs' new biases cost MACs
    assert info["deploy_macs"] > info["macs"]
