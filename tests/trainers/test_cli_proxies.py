"""`nas proxies`: the happy path on tiny NB201 networks, and every bad input -> exit 2
with a one-line reason."""
from __future__ import annotations

import json

import pytest
from torch import nn

from nas.cli import main
from search_spaces.space import SPACES, Decision, Space

from .conftest import write_cifar

TINY = ["--option", "channels=4", "--option", "cells=1", "--input-size", "3,8,8",
        "--batch-size", "4", "--quiet"]


def _run(capsys, *argv):
    code = main(["proxies", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_scores_archs_and_correlates_with_the_table(capsys):
    code, out, _ = _run(capsys, "--proxy", "synflow,params,naswot", "--sample", "4",
                        "--seed", "1", "--json", *TINY)
    assert code == 0
    result = json.loads(out)
    assert result["sample"] == 4 and result["input_size"] == [3, 8, 8]
    assert [p["proxy"] for p in result["proxies"]] == ["synflow", "params", "naswot"]
    assert all(-1 <= p["spearman"] <= 1 and p["ms_per_arch"] > 0 for p in result["proxies"])
    assert "scored networks differ" in result["target"]
    arch = result["archs"][0]
    from search_spaces.nb201_table import accuracies, arch_index

    assert arch["accuracy"] == accuracies("cifar10")[arch_index(arch["arch"])]


def test_text_output_is_a_table(capsys):
    code, out, _ = _run(capsys, "--proxy", "params", "--sample", "3", "--data", "synthetic",
                        *TINY)
    assert code == 0 and "spearman" in out and "params" in out


def test_cifar_folder_data(tmp_path, capsys):
    write_cifar(tmp_path, per_file=4)
    code, out, _ = _run(capsys, "--proxy", "jacov", "--sample", "3", "--data",
                        f"cifar10:{tmp_path}", "--json", *TINY)
    assert code == 0 and json.loads(out)["data"] == f"cifar10:{tmp_path}"


def _error(capsys, *argv) -> str:
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("nas proxies: error: ") and err.count("\n") == 1
    return err


def test_unknown_proxy(capsys):
    assert "Did you mean 'synflow'" in _error(capsys, "--proxy", "synflw", *TINY)


def test_empty_dataset_folder(tmp_path, capsys):
    err = _error(capsys, "--proxy", "naswot", "--data", f"cifar10:{tmp_path}", *TINY)
    assert "data_batch_1" in err and "test_batch" in err


def test_dataset_folder_missing_from_the_flag(capsys):
    assert "--data cifar10:DIR" in _error(capsys, "--proxy", "naswot", "--data", "cifar10",
                                          *TINY)


def test_wrong_image_size(capsys):
    err = _error(capsys, "--proxy", "synflow", "--option", "channels=4", "--option",
                 "cells=1", "--input-size", "3,2,2", "--quiet")
    assert "input size [3, 2, 2] does not fit space 'nb201'" in err


def test_images_with_more_channels_than_the_network_takes(tmp_path, capsys):
    write_cifar(tmp_path, per_file=4)
    err = _error(capsys, "--proxy", "synflow", "--data", f"cifar10:{tmp_path}", "--option",
                 "channels=4", "--option", "cells=1", "--input-size", "1,8,8", "--quiet")
    assert "3 channels but the network takes 1" in err


def test_more_classes_than_network_outputs(tmp_path, capsys):
    write_cifar(tmp_path, name="cifar100", per_file=4)
    assert "--num-classes 100" in _error(capsys, "--proxy", "snip", "--data",
                                         f"cifar100:{tmp_path}", *TINY)


class GeluMLP(Space):
    """A space without ReLUs and without a feature map: naswot and zen do not apply."""

    name = "test_gelu_mlp"

    @classmethod
    def default_options(cls):
        return {"input_size": (3, 8, 8), "num_classes": 10}

    def decisions(self):
        return [Decision("width", (8, 16))]

    def build(self, genotype):
        return nn.Sequential(nn.Flatten(), nn.Linear(192, genotype["width"]), nn.GELU(),
                             nn.Linear(genotype["width"], 10))


@pytest.mark.parametrize("proxy, reason", [("naswot", "ReLU"), ("zen", "global pooling")])
def test_a_proxy_that_does_not_apply_to_the_space(monkeypatch, capsys, proxy, reason):
    monkeypatch.setitem(SPACES._items, GeluMLP.name, GeluMLP)
    err = _error(capsys, "--space", GeluMLP.name, "--proxy", f"synflow,{proxy}", "--quiet")
    assert reason in err


def test_a_space_without_a_table_reports_scores_without_correlation(monkeypatch, capsys):
    monkeypatch.setitem(SPACES._items, GeluMLP.name, GeluMLP)
    code, out, _ = _run(capsys, "--space", GeluMLP.name, "--proxy", "synflow,snip",
                        "--sample", "2", "--json", "--quiet")
    result = json.loads(out)
    assert code == 0 and result["target"] is None
    assert all(p["spearman"] is None for p in result["proxies"])
