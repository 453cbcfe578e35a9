"""FBNet DNAS: latency tables (build, reuse, wrong device/space), Gumbel weights, the
latency-aware loss, training with resume, argmax derivation."""
from __future__ import annotations

import json
import math

import pytest
import torch

from search_spaces import UserError, get_space
from search_spaces.supernet import build_supernet
from trainers.data import load_dataset
from trainers.oneshot import LatencyTable, build_table, oneshot_config, train_supernet
from trainers.oneshot.dnas import gumbel_weights, latency_loss, temperature

FBNET = {"input_size": (1, 4, 4), "num_classes": 10, "head_channels": 16}
DNAS = {"mode": "dnas", "epochs": 2, "batch_size": 8, "limit_train": 24, "image_size": 4,
        "latency_unit_ms": 1e-4, "arch_lr": 0.05}


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def space():
    return get_space("fbnet", **FBNET)


@pytest.fixture(scope="module")
def table_path(space, tmp_path_factory):
    path = tmp_path_factory.mktemp("lat") / "table.json"
    build_table(space, "cpu", warmup=0, repeats=1).save(path)
    return path


def test_table_contents(table_path, space):
    data = json.loads(table_path.read_text())
    assert data["space"] == "fbnet" and data["device"] == "cpu"
    assert data["meta"]["torch"] == torch.__version__ and data["meta"]["unit"] == "ms"
    assert data["options"]["input_size"] == [1, 4, 4]
    assert [layer["layer"] for layer in data["layers"]] == [d.name for d in space.decisions()]
    first = data["layers"][0]
    assert first["input"] == [1, 16, 4, 4] and set(first["latency_ms"]) == set(space.ops)
    table = LatencyTable.load(table_path, space, "cpu")
    genotype = space.parse("fbnet_c")
    assert table.predict(genotype) > table.predict(genotype, with_fixed=False) > 0


def test_table_for_other_device_or_space_is_refused(table_path, space):
    with pytest.raises(UserError, match="measured on 'cpu'.*not 'cuda'"):
        LatencyTable.load(table_path, space, "cuda")
    with pytest.raises(UserError, match="does not match this space's layer"):
        LatencyTable.load(table_path, get_space("fbnet", **{**FBNET, "input_size": (1, 8, 8)}))
    with pytest.raises(UserError, match="lacks candidates"):
        LatencyTable.load(table_path, get_space("fbnet", **FBNET, extra_ops=["max_pool_3x3"]))
    with pytest.raises(UserError, match="for space 'fbnet', not 'darts'"):
        LatencyTable.load(table_path, get_space("darts"))
    with pytest.raises(UserError, match="layer-wise"):
        build_table(get_space("darts", C=4, layers=3), "cpu")


def test_gumbel_weights_and_latency_loss():
    theta = torch.zeros(3, 4, requires_grad=True)
    weights = gumbel_weights(theta, 5.0, torch.Generator().manual_seed(0))
    assert torch.allclose(weights.sum(1), torch.ones(3))
    lat = torch.full((3, 4), 2.0)
    config = oneshot_config(mode="dnas")
    loss, total = latency_loss(torch.tensor(1.5), weights, lat, config)
    assert float(total.detach()) == pytest.approx(6.0)  # LAT = sum_l sum_i m_li * LAT_li
    assert float(loss.detach()) == pytest.approx(1.5 * 0.2 * math.log(6.0) ** 0.6, rel=1e-5)
    loss.backward()
    assert theta.grad is not None
    assert temperature(config, 10) == pytest.approx(5.0 * math.exp(-0.45))


def test_dnas_trains_resumes_and_derives(space, table_path, tmp_path):
    config = oneshot_config(DNAS, latency_table=str(table_path))
    table = LatencyTable.load(table_path, space, "cpu")
    data = load_dataset("digits", 0, 4)
    torch.manual_seed(0)
    reference = build_supernet(space)
    full = train_supernet(reference, data, config, tmp_path / "a.pt", table=table)
    arch = full["arch"]
    assert arch["theta"] != [[0.0] * len(space.ops)] * 22
    derived = space.genotype(arch["genotype"]["decisions"])
    assert arch["table_latency_ms"] == pytest.approx(table.predict(derived, with_fixed=False),
                                                     rel=1e-4)
    assert all(math.isfinite(h["expected_latency_ms"]) for h in full["history"])

    def kill(message: str) -> None:
        if "epoch 1/" in message:
            raise Killed

    torch.manual_seed(0)
    with pytest.raises(Killed):
        train_supernet(build_supernet(space), data, config, tmp_path / "b.pt", table=table,
                       log=kill)
    torch.manual_seed(9)
    resumed = train_supernet(build_supernet(space), data, config, tmp_path / "b.pt",
                             table=table)
    assert resumed["resumed_from"] == 1 and resumed["arch"]["theta"] == arch["theta"]


def test_dnas_needs_a_usable_table(space, table_path):
    data = load_dataset("digits", 0, 4)
    with pytest.raises(UserError, match="needs a latency table"):
        train_supernet(build_supernet(space), data, oneshot_config(DNAS))
    slow_unit = oneshot_config(DNAS, latency_unit_ms=1e6)
    table = LatencyTable.load(table_path, space, "cpu")
    with pytest.raises(UserError, match="set latency_unit_ms below"):
        train_supernet(build_supernet(space), data, slow_unit, table=table)
