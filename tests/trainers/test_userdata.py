"""Your own data: npz / npy arrays and image folders (tiny generated files), splits,
normalisation, the decode cache, and one-line errors naming the file."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from search_spaces import UserError, get_space
from trainers.data import load_dataset
from trainers.evaluators import make_evaluator
from trainers.userdata import image_folder, load_user_dataset, parse_data_options


def _arrays(n_per_class=20, classes=3, shape=(8, 8, 3), seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = rng.integers(0, 256, (len(y), *shape), dtype=np.uint8)
    x[..., 0] = (x[..., 0] // 2 + 40 * y[:, None, None]).astype(np.uint8)  # learnable
    return x, y


def _load(kind, path, size=None, seed=0, **data):
    return load_user_dataset(kind, seed, size, str(path), parse_data_options(data))


def test_npz_nhwc_uint8_split_and_per_channel_normalisation(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    data = _load("npz", tmp_path / "d.npz")
    assert data.input_size == (3, 8, 8) and data.num_classes == 3
    assert len(data.x_train) == 48 and len(data.x_val) == 12 and len(data.x_test) == 0
    assert torch.bincount(data.y_val).tolist() == [4, 4, 4]  # stratified
    assert data.x_train.mean((0, 2, 3)).abs().max() < 1e-5
    assert (data.x_train.std((0, 2, 3)) - 1).abs().max() < 1e-2
    again = _load("npz", tmp_path / "d.npz")
    assert torch.equal(again.x_val, data.x_val)  # deterministic for a seed
    other = _load("npz", tmp_path / "d.npz", seed=1)
    assert not torch.equal(other.y_train, data.y_train) or \
        not torch.equal(other.x_train, data.x_train)


def test_nchw_and_nhwc_give_the_same_tensors(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "hwc.npz", images=x, labels=y)
    np.savez(tmp_path / "chw.npz", images=x.transpose(0, 3, 1, 2), labels=y)
    a, b = _load("npz", tmp_path / "hwc.npz"), _load("npz", tmp_path / "chw.npz")
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)


def test_npy_folder_float_with_given_val_and_statistics(tmp_path):
    x, y = _arrays(shape=(2, 6, 6))
    for name, part in (("train", slice(0, None, 2)), ("val", slice(1, None, 2))):
        (tmp_path / name).mkdir()
        np.save(tmp_path / name / "feats.npy", x[part].astype(np.float32))
        np.save(tmp_path / name / "target.npy", y[part].astype(np.int32))
    data = _load("npy", tmp_path / "train", size=12, keys=["feats", "target"],
                 val=str(tmp_path / "val"), normalize={"mean": [10, 20], "std": [2, 4]},
                 layout="nchw")
    assert len(data.x_train) == len(data.x_val) == 30 and data.input_size == (2, 12, 12)
    raw = torch.from_numpy(x[1::2].astype(np.float32))
    expected = (raw[:, 1] - 20) / 4
    resized = torch.nn.functional.interpolate(expected[:, None], size=(12, 12),
                                              mode="bilinear", align_corners=False)
    assert torch.allclose(data.x_val[:, 1:2], resized, atol=1e-5)


def _png(path, size, colour, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def _folder(root, classes=("cat", "dog"), per_class=4):
    for c, name in enumerate(classes):
        for i in range(per_class):
            _png(root / name / f"{i}.png", (10 + i, 7 + c), (40 * c + i, 100, 200 - 30 * c))
    _png(root / classes[0] / "grey.png", (5, 5), 128, mode="L")
    (root / classes[0] / "notes.txt").write_text("not an image")


def test_image_folder_decodes_resizes_and_caches(tmp_path, monkeypatch):
    root, cache = tmp_path / "imgs", tmp_path / "cache"
    _folder(root)
    data = _load("image_folder", root, size=8, cache_dir=str(cache), val_fraction=0.25)
    assert data.input_size == (3, 8, 8) and data.num_classes == 2
    assert len(data.x_train) + len(data.x_val) == 9
    assert len(list(cache.glob("*.npy"))) == 1

    def no_decoding(*args):
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(image_folder, "_decode", no_decoding)
    cached = _load("image_folder", root, size=8, cache_dir=str(cache), val_fraction=0.25)
    assert torch.equal(cached.x_train, data.x_train)
    monkeypatch.undo()
    _png(root / "dog" / "0.png", (10, 8), (255, 0, 0))
    stamp = (root / "dog" / "0.png").stat().st_mtime_ns + 10**9
    os.utime(root / "dog" / "0.png", ns=(stamp, stamp))
    changed = _load("image_folder", root, size=8, cache_dir=str(cache), val_fraction=0.25)
    assert not torch.equal(changed.x_train, data.x_train) or \
        not torch.equal(changed.x_val, data.x_val)
    assert len(list(cache.glob("*.npy"))) == 1  # the stale cache was replaced
    grey = _load("image_folder", root, size=6, cache_dir=str(cache), mode="gray")
    assert grey.input_size == (1, 6, 6)


def test_image_folder_with_a_val_folder(tmp_path):
    _folder(tmp_path / "train")
    _folder(tmp_path / "val", per_class=2)
    data = _load("image_folder", tmp_path / "train", size=8, val=str(tmp_path / "val"),
                 cache_dir=str(tmp_path / "c"))
    assert len(data.x_train) == 9 and len(data.x_val) == 5


def _bad_npz(tmp_path, **arrays):
    np.savez(tmp_path / "bad.npz", **arrays)
    return "npz", tmp_path / "bad.npz", {}


def _case(name, tmp_path):
    x, y = _arrays()
    if name == "missing file":
        return "npz", tmp_path / "nope.npz", {}, "no such file"
    if name == "bad shapes":
        return (*_bad_npz(tmp_path, x=x.reshape(60, -1), y=y), "images must be (N, C, H, W)")
    if name == "count mismatch":
        return (*_bad_npz(tmp_path, x=x, y=y[:-1]), "60 images but 59 labels")
    if name == "float labels":
        return (*_bad_npz(tmp_path, x=x, y=y.astype(float)), "labels have dtype float64")
    if name == "int images":
        return (*_bad_npz(tmp_path, x=x.astype(np.int64), y=y), "images have dtype int64")
    if name == "object arrays":
        return (*_bad_npz(tmp_path, x=x, y=np.array(list(y), dtype=object)), "wrong dtype")
    if name == "one class":
        return (*_bad_npz(tmp_path, x=x, y=np.zeros_like(y)), "at least 2")
    if name == "ambiguous layout":
        return (*_bad_npz(tmp_path, x=x[:, :3, :3, :], y=y), "set data.layout")
    if name == "wrong keys":
        return (*_bad_npz(tmp_path, a=x, b=y), "set data.keys")
    if name == "not an archive":
        (tmp_path / "bad.npz").write_text("garbage")
        return "npz", tmp_path / "bad.npz", {}, "not a readable .npz"
    if name == "val shape":
        np.savez(tmp_path / "v.npz", x=x[:, :5], y=y)
        return (*_bad_npz(tmp_path, x=x, y=y)[:2], {"val": str(tmp_path / "v.npz")},
                "validation images are [3, 5, 8]")
    root = tmp_path / "imgs"
    _folder(root)
    if name == "corrupt image":
        (root / "dog" / "9.png").write_bytes(b"\x89PNG broken")
        return "image_folder", root, {}, f"{root / 'dog' / '9.png'}: unreadable or corrupt"
    if name == "empty class":
        (root / "empty").mkdir()
        return "image_folder", root, {}, f"{root / 'empty'}: empty class folder"
    if name == "one class folder":
        return "image_folder", root / "cat", {}, "at least 2"
    raise KeyError(name)


@pytest.mark.parametrize("name", [
    "missing file", "bad shapes", "count mismatch", "float labels", "int images",
    "object arrays", "one class", "ambiguous layout", "wrong keys", "not an archive",
    "val shape", "corrupt image", "empty class", "one class folder"])
def test_bad_input_is_one_line_naming_the_file(tmp_path, name):
    kind, path, data, message = _case(name, tmp_path)
    with pytest.raises(UserError) as err:
        _load(kind, path, size=8, cache_dir=str(tmp_path / "c"), **data)
    text = str(err.value)
    assert message in text and "\n" not in text
    assert str(path) in text or (name == "val shape" and "v.npz" in text)


@pytest.mark.parametrize("data,message", [
    ({"layout": "hwc"}, "unknown data.layout 'hwc'"),
    ({"keys": ["x"]}, "data.keys must be two array names"),
    ({"val_fraction": 1.5}, "data.val_fraction must be a number in (0, 1)"),
    ({"val_fraction": 0.1, "val": "v.npz"}, "not both"),
    ({"normalize": {"mean": [0.5], "std": [0]}}, "all > 0"),
    ({"normalize": "zscore"}, "unknown data.normalize 'zscore'"),
    ({"cache": "x"}, "unknown key of evaluator option 'data' 'cache'"),
])
def test_bad_data_options(data, message):
    with pytest.raises(UserError, match=None) as err:
        parse_data_options(data)
    assert message in str(err.value)


def test_dataset_must_fit_the_space(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    options = {"dataset": "npz", "data_dir": str(tmp_path / "d.npz"), "epochs": 1}
    evaluator = make_evaluator("train", options)
    with pytest.raises(UserError, match="set the space option num_classes: 3"):
        evaluator.check(get_space("macro", input_size=(3, 8, 8), num_classes=10))
    with pytest.raises(UserError, match="space option input_size"):
        evaluator.check(get_space("macro", input_size=(1, 8, 8), num_classes=3))
    space = get_space("macro", input_size=(3, 8, 8), num_classes=3)
    evaluator.check(space)
    metrics = evaluator(space, space.sample(np.random.default_rng(0)))
    assert metrics.status == "complete" and 0 <= metrics.objectives["accuracy"] <= 100
    with pytest.raises(UserError, match="'data' is for datasets npz"):
        load_dataset("digits", data={"keys": ["x", "y"]})


def test_ladder_reads_the_same_data(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    evaluator = make_evaluator("ladder", {
        "dataset": "npz", "data_dir": str(tmp_path / "d.npz"), "data": {"val_fraction": 0.25},
        "reference": 4,
        "rungs": [{"kind": "proxy", "name": "synflow", "keep": 1.0},
                  {"kind": "train", "epochs": 1}]})
    space = get_space("macro", input_size=(3, 8, 8), num_classes=3)
    evaluator.check(space)
    metrics = evaluator(space, space.sample(np.random.default_rng(1)))
    assert metrics.status == "complete" and "accuracy" in metrics.objectives
