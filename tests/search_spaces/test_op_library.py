"""Registry-driven op tests: every example of every registered op, at every width/stride case.

A newly registered op is covered here without edits: shape, gradient flow, parameter
count (zero for param-free ops), and exact deploy fusion (`fuse_model`) in eval mode for
every registered kernel size.
"""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from search_spaces.ops import build_op, list_ops, parse_spec
from search_spaces.reparam import equivalence_error, fuse_model, randomize_bn_
from trainers.cost import count_params

SIZE = 8
CASES = {  # name: (c_in, c_out, stride)
    "same": (16, 16, 1),
    "stride2": (16, 16, 2),
    "wider": (16, 32, 1),
    "wider_stride2": (16, 32, 2),
}
TOLERANCE = {torch.float64: 1e-5, torch.float32: 1e-4}


def _examples() -> list[tuple[object, str]]:
    return [(entry, example) for entry in list_ops() for example in entry.examples]


def _kernel_variants() -> list[tuple[object, object]]:
    """Per op: its first example that has a kernel, rebuilt at every allowed kernel."""
    variants = []
    for entry in list_ops():
        specs = [parse_spec(e) for e in entry.examples]
        base = next((s for s in specs if s.kernel is not None), None)
        if base is None:
            continue
        for k in entry.allowed.get("kernel", ()):
            variants.append((entry, dataclasses.replace(base, kernel=k, name=f"{base.name}@k{k}")))
    return variants


def _conv_bn_pairs(model: torch.nn.Module) -> int:
    """Conv2d -> BatchNorm2d pairs left inside Sequentials (fusable, so a fused model has 0)."""
    return sum(isinstance(seq[i], torch.nn.Conv2d) and isinstance(seq[i + 1], torch.nn.BatchNorm2d)
               for seq in model.modules() if isinstance(seq, torch.nn.Sequential)
               for i in range(len(seq) - 1))


EXAMPLES = _examples()
EXAMPLE_IDS = [example for _, example in EXAMPLES]
VARIANTS = _kernel_variants()
VARIANT_IDS = [spec.name for _, spec in VARIANTS]


def test_registry_has_the_ops_of_this_library():
    families = {entry.family for entry in list_ops()}
    assert {"shift", "pf_max_bottleneck", "replk", "unireplk", "lsconv", "convnext",
            "gnconv_o2", "gnconv_o3"} <= families


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("entry,example", EXAMPLES, ids=EXAMPLE_IDS)
def test_shape_and_gradients(entry, example, case):
    torch.manual_seed(0)
    c_in, c_out, stride = CASES[case]
    model = build_op(example, c_in, c_out, stride).train()
    x = torch.randn(2, c_in, SIZE, SIZE, requires_grad=True)
    out = model(x)
    side = math.ceil(SIZE / stride)
    assert out.shape == (2, c_out, side, side)
    if out.requires_grad:
        # A random projection: sum(BN(.)) alone has zero gradient w.r.t. everything before BN.
        (out * torch.randn_like(out)).sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, f"{example}: no gradient reaches {name}"
        assert torch.isfinite(param.grad).all(), f"{example}: non-finite gradient in {name}"
        assert param.grad.abs().sum() > 0, f"{example}: zero gradient in {name}"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("entry,example", EXAMPLES, ids=EXAMPLE_IDS)
def test_param_count(entry, example, case):
    c_in, c_out, stride = CASES[case]
    model = build_op(example, c_in, c_out, stride)
    count = count_params(model)
    assert count == sum(p.numel() for p in model.parameters())
    if case == "same":
        # param_free <=> no parameters when the op keeps width and resolution.
        assert (count == 0) == entry.param_free, (
            f"{example}: {count} params at equal widths but param_free={entry.param_free}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", ["same", "wider_stride2"])
@pytest.mark.parametrize("entry,spec", VARIANTS, ids=VARIANT_IDS)
def test_fuse_model_is_exact_for_every_kernel(entry, spec, case, dtype):
    torch.manual_seed(1)
    c_in, c_out, stride = CASES[case]
    model = randomize_bn_(build_op(spec, c_in, c_out, stride).to(dtype), seed=2).eval()
    fused = fuse_model(model)
    assert _conv_bn_pairs(fused) == 0, "a conv-BN pair was left unfused"
    x = torch.randn(2, c_in, SIZE, SIZE, dtype=dtype)
    assert equivalence_error(model, fused, x) < TOLERANCE[dtype]


@pytest.mark.parametrize("entry,example", EXAMPLES, ids=EXAMPLE_IDS)
def test_fuse_model_leaves_the_original_alone(entry, example):
    model = randomize_bn_(build_op(example, 16, 16, 1), seed=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    fuse_model(model)
    assert model.training
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
