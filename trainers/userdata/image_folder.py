"""An image folder (one sub-folder per class), decoded once with Pillow and cached.

Layout as torchvision's ImageFolder reads it: ``root/<class>/<image>``; classes are the
sub-folder names in sorted order (label i = i-th name). Each image is converted to RGB or
grey and resized to size x size (bilinear). The decoded uint8 array is cached as one .npy
in the cache folder under a key of the folder's path, the size, the mode and every image
file's (path, bytes, mtime): a changed, added or removed file gives a new key, so the next
run decodes again and replaces the stale cache.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from search_spaces.errors import UserError

from .options import DataOptions

__all__ = ["read_image_folder", "list_image_folder", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                  ".ppm", ".pgm")


def list_image_folder(root: Path, classes: list[str] | None = None
                      ) -> tuple[list[str], list[tuple[Path, int]]]:
    """(class names, [(image file, label)]) of `root`; `classes` fixes the names (a val
    folder must use the training folder's classes)."""
    if not root.is_dir():
        raise UserError(f"{root}: no such folder (dataset 'image_folder' reads one "
                        "sub-folder of images per class; set data_dir to it)")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes is None:
        if len(found) < 2:
            raise UserError(f"{root}: found {len(found)} class sub-folder(s) "
                            f"({', '.join(found) or 'none'}); a classifier needs at least 2")
        classes = found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise UserError(f"{root}: class folders {unknown} are not classes of the training "
                        f"folder ({', '.join(classes)})")
    files = []
    for label, name in enumerate(classes):
        images = sorted(p for p in (root / name).glob("*") if p.is_file()
                        and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
        if not images and name in found:
            raise UserError(f"{root / name}: empty class folder (no {'/'.join(IMAGE_SUFFIXES)}"
                            " files); add images or remove the folder")
        files += [(p, label) for p in images]
    return classes, files


def _decode(path: Path, size: int, mode: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB" if mode == "rgb" else "L")
            image = image.resize((size, size), Image.Resampling.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable or corrupt image ({exc}); fix or remove it") \
            from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _cache_key(root: Path, files: list[tuple[Path, int]], size: int, mode: str) -> tuple[str, str]:
    """(folder prefix, content digest) naming the cache file."""
    prefix = hashlib.sha1(f"{root.resolve()}|{size}|{mode}".encode()).hexdigest()[:12]
    digest = hashlib.sha1()
    for path, label in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n"
                      .encode())
    return prefix, digest.hexdigest()[:16]


def _cached_decode(root: Path, files: list[tuple[Path, int]], size: int,
                   options: DataOptions) -> np.ndarray:
    cache = options.cache_path
    prefix, digest = _cache_key(root, files, size, options.mode)
    target = cache / f"{prefix}-{digest}.npy"
    if target.is_file():
        try:
            return np.load(target, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            pass  # a damaged cache file is decoded again and replaced
    x = np.stack([_decode(path, size, options.mode) for path, _ in files])
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, x)
        os.replace(tmp, target)  # concurrent workers each write whole files
        for stale in cache.glob(f"{prefix}-*.npy"):
            if stale != target:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write the image cache in {cache}: {exc}; set "
                        "data.cache_dir to a writable folder") from None
    return x


def read_image_folder(path: str, size: int, options: DataOptions,
                      classes: list[str] | None = None
                      ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(uint8 N x C x size x size images, int64 labels, class names) of folder `path`."""
    root = Path(path).expanduser()
    classes, files = list_image_folder(root, classes)
    if not files:
        raise UserError(f"{root}: no images in any class folder")
    x = _cached_decode(root, files, size, options)
    return x, np.array([label for _, label in files], dtype=np.int64), classes
