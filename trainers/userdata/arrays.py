"""Images and labels from numpy files: a `.npz` archive, or a folder of two `.npy` files.

Images are (N, C, H, W) or (N, H, W, C) (or (N, H, W) grey), uint8 or float; labels are
N integers 0..K-1. Every check names the file and the option that fixes it.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from search_spaces.errors import UserError

from .options import DataOptions

__all__ = ["read_arrays", "check_images", "check_labels", "DEFAULT_KEYS"]

#: array names tried in order when `data.keys` is not given
DEFAULT_KEYS = (("images", "labels"), ("x", "y"))
_CHANNELS = 4  # at most this many channels on the channel axis when guessing the layout


def _pick_keys(available: list[str], options: DataOptions, where: str) -> tuple[str, str]:
    candidates = [options.keys] if options.keys else list(DEFAULT_KEYS)
    for images, labels in candidates:
        if images in available and labels in available:
            return images, labels
    wanted = " or ".join("/".join(k) for k in candidates)
    raise UserError(f"{where} has no arrays {wanted} (it has: {', '.join(available) or 'none'})"
                    "; set data.keys: [IMAGES, LABELS]")


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle: never loaded
        raise UserError(f"{path}: wrong dtype, object arrays are not read ({exc}); save "
                        "numeric arrays (uint8 or float images, integer labels)") from None
    except (OSError, EOFError) as exc:
        raise UserError(f"{path} is not a readable .npy file: {exc}") from None


def _read_npz(path: Path, options: DataOptions) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise UserError(f"{path}: no such file (dataset 'npz' reads one .npz archive with "
                        "images and labels; set data_dir to it)")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a readable .npz archive (not a zip file); write it "
                        "with numpy.savez(path, images=..., labels=...)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            images, labels = _pick_keys(list(archive.files), options, str(path))
            return archive[images], archive[labels]
    except UserError:
        raise
    except ValueError as exc:
        raise UserError(f"{path}: wrong dtype, object arrays are not read ({exc}); save "
                        "numeric arrays (uint8 or float images, integer labels)") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path} is not a readable .npz archive: {exc}") from None


def _read_npy_folder(path: Path, options: DataOptions) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_dir():
        raise UserError(f"{path}: no such folder (dataset 'npy' reads a folder holding "
                        "images.npy and labels.npy, or the names in data.keys)")
    available = sorted(p.stem for p in path.glob("*.npy"))
    images, labels = _pick_keys(available, options, str(path))
    return _load_npy(path / f"{images}.npy"), _load_npy(path / f"{labels}.npy")


def _to_nchw(x: np.ndarray, layout: str, where: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim != 4:
        raise UserError(f"{where}: images must be (N, C, H, W), (N, H, W, C) or (N, H, W); "
                        f"got shape {list(x.shape)}")
    if layout == "auto":
        first, last = x.shape[1] <= _CHANNELS, x.shape[3] <= _CHANNELS
        if first == last:
            raise UserError(f"{where}: cannot tell channels from image shape "
                            f"{list(x.shape)}; set data.layout: nchw or nhwc")
        layout = "nchw" if first else "nhwc"
    return x if layout == "nchw" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def check_images(x: np.ndarray, layout: str, where: str) -> np.ndarray:
    """NCHW uint8 or float32 images (float16/64 become float32), checked."""
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
        raise UserError(f"{where}: images have dtype {x.dtype}; use uint8 (0..255) or float")
    x = _to_nchw(x, layout, where)
    if len(x) == 0 or min(x.shape[2:]) < 1:
        raise UserError(f"{where}: no images (shape {list(x.shape)})")
    if x.dtype != np.uint8:
        x = x.astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise UserError(f"{where}: images contain NaN or infinite values")
    return x


def check_labels(y: np.ndarray, count: int, where: str) -> np.ndarray:
    """N int64 labels >= 0, one per image."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise UserError(f"{where}: labels must be one integer per image, got shape "
                        f"{list(y.shape)} (one-hot labels: pass their argmax)")
    if not np.issubdtype(y.dtype, np.integer):
        raise UserError(f"{where}: labels have dtype {y.dtype}; use integers 0..K-1")
    if len(y) != count:
        raise UserError(f"{where}: {count} images but {len(y)} labels")
    if len(y) and y.min() < 0:
        raise UserError(f"{where}: labels must be >= 0, found {int(y.min())}")
    return y.astype(np.int64)


def read_arrays(kind: str, path: str, options: DataOptions) -> tuple[np.ndarray, np.ndarray]:
    """(NCHW images, int64 labels) of the `kind` ('npz' or 'npy') dataset at `path`."""
    where = Path(path).expanduser()
    x, y = (_read_npz if kind == "npz" else _read_npy_folder)(where, options)
    x = check_images(x, options.layout, str(where))
    return x, check_labels(y, len(x), str(where))
