"""Structural re-parameterisation: fold BN into convs, merge parallel conv branches into one
kernel, turn dilated kernels dense, fuse whole models and check that fusion is exact.

Ding et al. 2022, RepLKNet, Sec. 3 (BN fusion, small-kernel merge); Ding et al. 2024,
UniRepLKNet, Dilated Reparam Block (dilated -> dense kernels, BN fusion with a bias).

A module is fusable when its class sets `reparam = True` and it has `fuse() -> nn.Module`
returning its deploy form, equal in eval mode (BN uses its running statistics).
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["fuse_conv_bn", "pad_kernel", "dilated_to_dense", "merge_branches",
           "conv_from_weights", "equivalence_error", "is_fusable", "fold_sequential_bn",
           "fuse_model", "fuse_with_report", "randomize_bn_"]


@torch.no_grad()
def fuse_conv_bn(conv: nn.Module, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold eval-mode BN into the preceding conv; returns (weight, bias).

    With sigma = sqrt(running_var + eps): W' = W * gamma/sigma per output channel and
    b' = beta + (b - mu) * gamma/sigma, b = 0 for a conv without bias (Ding et al. 2022,
    RepLKNet Sec. 3; Ding et al. 2024, UniRepLKNet). A non-affine BN has gamma=1, beta=0.
    Weight: (C_out, C_in/groups, kh, kw); bias: (C_out,).
    """
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("cannot fold a BatchNorm without running statistics "
                         "(track_running_stats=False)")
    mean, var = bn.running_mean, bn.running_var
    gamma = bn.weight if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias if bn.bias is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + bn.eps)
    weight = conv.weight * scale.reshape(-1, *([1] * (conv.weight.dim() - 1)))
    conv_bias = conv.bias if conv.bias is not None else torch.zeros_like(mean)
    return weight.detach().clone(), (beta + (conv_bias - mean) * scale).detach().clone()


def pad_kernel(kernel: torch.Tensor, target_size: int) -> torch.Tensor:
    """Zero-pad a (..., kh, kw) kernel symmetrically to (..., target, target).

    A centred k x k kernel with padding k//2 equals the padded one with padding target//2
    (Ding et al. 2022, RepLKNet Sec. 3: small-kernel merge). Sizes must share parity.
    """
    kh, kw = kernel.shape[-2:]
    for k in (kh, kw):
        if k > target_size or (target_size - k) % 2:
            raise ValueError(f"cannot pad a {kh}x{kw} kernel to {target_size}x{target_size}: "
                             "the target must be at least as large and of the same parity")
    ph, pw = (target_size - kh) // 2, (target_size - kw) // 2
    return F.pad(kernel, (pw, pw, ph, ph))


def dilated_to_dense(kernel: torch.Tensor, dilation: int) -> torch.Tensor:
    """A k x k kernel with dilation r as a dense r(k-1)+1 kernel, D[r*i, r*j] = W[i, j].

    Ding et al. 2024, UniRepLKNet Dilated Reparam Block. Works on any leading dims (..., kh, kw).
    """
    if dilation < 1:
        raise ValueError(f"dilation must be >= 1, got {dilation}")
    if dilation == 1:
        return kernel.clone()
    kh, kw = kernel.shape[-2:]
    dense = kernel.new_zeros(*kernel.shape[:-2], dilation * (kh - 1) + 1,
                             dilation * (kw - 1) + 1)
    dense[..., ::dilation, ::dilation] = kernel
    return dense


def merge_branches(branches: Sequence[tuple], kernel_size: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum parallel conv branches into one kernel_size kernel and one bias.

    Each branch is `(weight, bias)` or `(weight, bias, dilation)`, already BN-fused; all
    branches must share stride, groups and centred padding. Dilated kernels are made dense,
    then zero-padded to `kernel_size` (Ding et al. 2022, RepLKNet Sec. 3; Ding et al. 2024,
    UniRepLKNet Dilated Reparam Block).
    """
    if not branches:
        raise ValueError("merge_branches needs at least one branch")
    weight, bias = None, None
    for branch in branches:
        w, b, dilation = (*branch, 1) if len(branch) == 2 else branch
        w = pad_kernel(dilated_to_dense(w, dilation), kernel_size)
        weight = w if weight is None else weight + w
        bias = b if bias is None else bias + b
    return weight, bias


@torch.no_grad()
def conv_from_weights(weight: torch.Tensor, bias: torch.Tensor | None, *, stride=1,
                      padding=None, dilation=1, groups: int = 1,
                      padding_mode: str = "zeros") -> nn.Conv2d:
    """A Conv2d holding `weight` (C_out, C_in/groups, kh, kw) and `bias`; padding k//2 default."""
    kernel = tuple(weight.shape[-2:])
    if padding is None:
        padding = (kernel[0] // 2, kernel[1] // 2)
    conv = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], kernel, stride, padding,
                     dilation=dilation, groups=groups, bias=bias is not None,
                     padding_mode=padding_mode, device=weight.device, dtype=weight.dtype)
    conv.weight.copy_(weight)
    if bias is not None:
        conv.bias.copy_(bias)
    return conv


@torch.no_grad()
def equivalence_error(module: nn.Module, fused: nn.Module, x: torch.Tensor) -> float:
    """Max absolute difference of the two modules' eval-mode outputs on `x`."""
    modes = module.training, fused.training
    module.eval()
    fused.eval()
    try:
        return float((module(x) - fused(x)).abs().max())
    finally:
        module.train(modes[0])
        fused.train(modes[1])


@torch.no_grad()
def randomize_bn_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm random running stats and affine params, in place.

    Fresh BNs (mean 0, var 1, gamma 1, beta 0) make a BN-fusion check nearly trivial; this
    makes it bite. Running mean ~ U(-1, 1), var ~ U(0.5, 2), gamma ~ U(0.5, 1.5), beta ~ U(-1, 1).
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(t: torch.Tensor, low: float, high: float) -> None:
        t.copy_(torch.rand(t.shape, generator=gen, dtype=torch.float64) * (high - low) + low)

    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if m.running_mean is not None:
                uniform(m.running_mean, -1.0, 1.0)
                uniform(m.running_var, 0.5, 2.0)
            if m.weight is not None:
                uniform(m.weight, 0.5, 1.5)
                uniform(m.bias, -1.0, 1.0)
    return model


def is_fusable(module: nn.Module) -> bool:
    """Whether `module` declares a deploy form (`reparam = True` and a `fuse()` method)."""
    return getattr(module, "reparam", False) is True and callable(getattr(module, "fuse", None))


def _replace_fusable(module: nn.Module) -> int:
    merged = 0
    for name, child in list(module.named_children()):
        if is_fusable(child):
            child = child.fuse()
            setattr(module, name, child)
            merged += 1
        merged += _replace_fusable(child)
    return merged


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (type(conv) is nn.Conv2d and isinstance(bn, nn.BatchNorm2d)
            and bn.running_mean is not None and conv.out_channels == bn.num_features)


@torch.no_grad()
def fold_sequential_bn(model: nn.Module) -> int:
    """Fold every BatchNorm2d that directly follows a Conv2d inside a plain nn.Sequential.

    Safe because a Sequential feeds the conv output straight into the BN; Sequential
    subclasses with their own forward are skipped. In place; returns the number folded.
    """
    folded = 0
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        if type(seq).forward is not nn.Sequential.forward:
            continue
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if not _foldable(conv, bn):
                continue
            weight, bias = fuse_conv_bn(conv, bn)
            seq[i] = conv_from_weights(weight, bias, stride=conv.stride, padding=conv.padding,
                                       dilation=conv.dilation, groups=conv.groups,
                                       padding_mode=conv.padding_mode)
            seq[i + 1] = nn.Identity()
            folded += 1
    return folded


def fuse_with_report(model: nn.Module) -> tuple[nn.Module, dict[str, int]]:
    """`fuse_model`, plus how many re-param modules were merged and conv-BN pairs folded."""
    deploy = copy.deepcopy(model).eval()
    merged = 0
    if is_fusable(deploy):
        deploy, merged = deploy.fuse(), 1
    merged += _replace_fusable(deploy)
    folded = fold_sequential_bn(deploy)
    return deploy.eval(), {"reparam_merged": merged, "conv_bn_folded": folded}


def fuse_model(model: nn.Module) -> nn.Module:
    """The deploy form of `model`, in eval mode; `model` itself is left untouched.

    On a deep copy: every fusable submodule (see `is_fusable`) is replaced by its `fuse()`
    result, outermost first, then BN-after-conv pairs in plain Sequentials are folded.
    Equal to `model.eval()` up to float rounding (Ding et al. 2022, RepLKNet Sec. 3).
    """
    return fuse_with_report(model)[0]
