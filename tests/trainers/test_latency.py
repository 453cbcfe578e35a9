"""Latency on the deploy form, and the cost report (params, MACs, latency, MACs/s)."""
from __future__ import annotations

import pytest
import torch

from trainers.cost import cost_report, count_macs, deploy_form, measure_latency

from .conftest import RepBlock, RepNet


def test_latency_is_a_positive_median_and_leaves_the_model_training():
    model = RepNet().train()
    ms = measure_latency(model, (3, 8, 8), batch_size=2, warmup=1, repeats=3)
    assert ms > 0 and model.training and isinstance(model.blocks[0], RepBlock)


def test_deploy_form_without_fusing_is_an_eval_copy():
    model = RepNet()
    net, fused = deploy_form(model, fuse=False)
    assert not fused and net is not model and not net.training and model.training


def test_latency_and_cost_use_the_fused_form():
    torch.manual_seed(0)
    model = RepNet()
    with torch.no_grad():  # non-trivial BN statistics so fusion is a real check
        model.train()(torch.randn(8, 3, 8, 8))
    model.eval()
    net, fused = deploy_form(model)
    x = torch.randn(2, 3, 8, 8)
    assert fused and isinstance(net.blocks[0], torch.nn.Sequential)
    assert isinstance(model.blocks[0], RepBlock)
    assert torch.allclose(net(x), model(x), atol=1e-5)
    report = cost_report(model, (3, 8, 8), warmup=1, repeats=3)
    assert report["fused"] is True
    assert report["macs"] == count_macs(net, (3, 8, 8)) < count_macs(model, (3, 8, 8))
    assert report["params"] < sum(p.numel() for p in model.parameters())
    assert report["macs_per_s"] == pytest.approx(report["macs"] / (report["latency_ms"] / 1e3))


@pytest.mark.gpu
def test_latency_on_cuda_synchronises_and_is_positive():
    ms = measure_latency(RepNet().cuda(), (3, 32, 32), batch_size=8, warmup=3, repeats=10)
    assert 0 < ms < 1000
