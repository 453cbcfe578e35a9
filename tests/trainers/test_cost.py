"""Published NAS-Bench-201 costs (NATS-Bench; REFERENCES section 3) from our counter."""
import pytest
import torch
from torch import nn

from tests.conftest import NB201_ALL_CONV3
from trainers.cost import count_macs, count_params


@pytest.mark.parametrize("arch, params, mflops", [
    (NB201_ALL_CONV3, 1_531_546, 220.11969),
    ("index:6111", 1_073_466, 153.27297),
    ("index:0", 129_306, 15.64737),
    ("index:11", 802_426, 113.95137),
    ("index:284", 101_306, 11.71521),
])
def test_nb201_published_counts(nb201, arch, params, mflops):
    model = nb201.build(nb201.parse(arch))
    assert count_params(model) == params
    assert count_macs(model, (3, 32, 32), include_bias=True) / 1e6 == pytest.approx(mflops,
                                                                                    abs=5e-6)


def test_counter_rules():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, groups=1, bias=False),
                          nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    conv1 = 3 * 3 * 3 * 8 * 8 * 8
    conv2 = 3 * 3 * 1 * 8 * 4 * 4
    linear = 128 * 5
    assert count_macs(model, (3, 8, 8)) == conv1 + conv2 + linear
    assert count_macs(model, (3, 8, 8), include_bias=True) == conv1 + conv2 + 8 * 4 * 4 \
        + linear + 5
    assert model.training  # restored


def test_params_trainable_only():
    model = nn.Linear(4, 2)
    model.bias.requires_grad_(False)
    assert count_params(model) == 8
    assert count_params(model, trainable_only=False) == 10
    assert count_macs(model, (4,)) == 8
    with torch.no_grad():
        assert model(torch.zeros(1, 4)).shape == (1, 2)
