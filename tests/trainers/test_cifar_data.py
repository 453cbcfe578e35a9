"""Datasets: the CIFAR python-pickle reader (on files written in that exact format),
helpful errors for missing folders, fitting images to a network, train-only batches."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from search_spaces.errors import UserError
from trainers.cifar import read_cifar
from trainers.data import fit_images, load_dataset, sample_batch
from trainers.splits import stratified_split

from .conftest import write_cifar


def test_cifar10_reader_splits_train_val_and_keeps_test_apart(tmp_path):
    write_cifar(tmp_path, per_file=30)
    data = read_cifar("cifar10", str(tmp_path), seed=0, size=None)
    assert data.num_classes == 10 and data.input_size == (3, 32, 32)
    assert len(data.x_train) + len(data.x_val) == 150 and len(data.x_test) == 30
    # the test split is exactly test_batch, in file order
    raw = _load(tmp_path / "test_batch")
    assert torch.equal(data.y_test, torch.tensor(raw[b"labels"]))
    # normalised with train statistics only: per-channel mean 0, std 1 on train
    assert data.x_train.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert (data.x_train.std(dim=(0, 2, 3)) - 1).abs().max() < 1e-2
    # pixel (0, 0, 0) of the first test image, by hand, with the train split's statistics
    batches = [_load(tmp_path / f"data_batch_{i}") for i in range(1, 6)]
    rows = np.concatenate([b[b"data"] for b in batches])
    labels = np.concatenate([b[b"labels"] for b in batches])
    channel0 = rows[stratified_split(rows, labels, 0, 0.1, 0.0)["train"], :1024] / np.float32(255.0)
    expected = (raw[b"data"][0, 0] / 255.0 - channel0.mean()) / (channel0.std() + 1e-8)
    assert float(data.x_test[0, 0, 0, 0]) == pytest.approx(expected, rel=1e-4)


def _load(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def test_cifar100_reader_uses_fine_labels_and_accepts_the_extracted_subfolder(tmp_path):
    write_cifar(tmp_path / "cifar-100-python", name="cifar100", per_file=40)
    data = load_dataset("cifar100", 0, 16, str(tmp_path))
    assert data.num_classes == 100 and data.input_size == (3, 16, 16)
    assert int(data.y_test.max()) < 100 and len(data.x_test) == 40


@pytest.mark.parametrize("make", ["missing", "empty", "partial", "none"])
def test_a_missing_or_empty_cifar_folder_says_which_files_go_where(tmp_path, make):
    folder = tmp_path / "cifar"
    if make == "empty":
        folder.mkdir()
    if make == "partial":
        write_cifar(folder)
        (folder / "data_batch_3").unlink()
    with pytest.raises(UserError) as err:
        load_dataset("cifar10", 0, None, None if make == "none" else str(folder))
    message = str(err.value)
    assert "cifar-10-python.tar.gz" in message
    if make in ("empty", "partial"):
        assert "data_batch_3" in message and "test_batch" in message
    if make == "partial":
        assert "data_batch_1" not in message.split("lacks")[1].split("(")[0]


def test_cifar_files_with_wrong_images_or_labels_are_refused(tmp_path):
    write_cifar(tmp_path, row_bytes=3 * 16 * 16)
    with pytest.raises(UserError, match="3x32x32"):
        read_cifar("cifar10", str(tmp_path), 0, None)
    (tmp_path / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(UserError, match="not a CIFAR python-pickle batch"):
        read_cifar("cifar10", str(tmp_path), 0, None)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    write_cifar(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(UserError, match="not allowed"):
        read_cifar("cifar10", str(tmp_path), 0, None)


def test_fit_images_resizes_and_replicates_grey_channels():
    digits = load_dataset("digits", 0)
    x = fit_images(digits.x_train[:5], (3, 32, 32))
    assert x.shape == (5, 3, 32, 32) and torch.equal(x[:, 0], x[:, 2])
    with pytest.raises(UserError, match="3 channels but the network takes 1"):
        fit_images(torch.zeros(2, 3, 8, 8), (1, 8, 8))


def test_sample_batch_is_seeded_and_drawn_from_the_train_split_only():
    data = load_dataset("synthetic", 0)
    a, b = sample_batch(data, 16, seed=4), sample_batch(data, 16, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    train = {tuple(r.flatten().tolist()[:8]) for r in data.x_train}
    assert all(tuple(r.flatten().tolist()[:8]) in train for r in a[0])
    assert not torch.equal(sample_batch(data, 16, seed=5)[0], a[0])
