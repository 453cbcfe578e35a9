"""Your own data for the built-in evaluators: numpy arrays (`npz`, `npy`) and an image
folder (`image_folder`), with a seeded stratified or given validation split and
normalisation; bad files fail with a one-line `UserError` naming the file."""
from __future__ import annotations

from search_spaces.errors import UserError

from ..splits import Splits
from .arrays import read_arrays
from .assemble import Arrays, assemble_splits
from .image_folder import read_image_folder
from .options import DataOptions, parse_data_options

__all__ = ["USER_DATASETS", "DataOptions", "load_user_dataset", "parse_data_options",
           "FOLDER_IMAGE_SIZE"]

USER_DATASETS = ("npz", "npy", "image_folder")
#: image folders are decoded at this size unless the evaluator option image_size is set
FOLDER_IMAGE_SIZE = 32


def _read(kind: str, path: str, size: int, options: DataOptions,
          classes: list[str] | None = None) -> tuple[Arrays, list[str] | None]:
    if kind == "image_folder":
        x, y, classes = read_image_folder(path, size, options, classes)
        return (x, y, path), classes
    x, y = read_arrays(kind, path, options)
    return (x, y, path), None


def load_user_dataset(kind: str, seed: int, size: int | None, data_dir: str | None,
                      options: DataOptions) -> Splits:
    """`Splits` of the user dataset `kind` at `data_dir` (with `options.val` / `test`)."""
    if not data_dir:
        what = "an image folder" if kind == "image_folder" else f"the .{kind} data"
        raise UserError(f"dataset {kind!r} needs data_dir: the path of {what} "
                        f"(CLI: --data {kind}:PATH)")
    decode = size or FOLDER_IMAGE_SIZE
    train, classes = _read(kind, data_dir, decode, options)
    val = _read(kind, options.val, decode, options, classes)[0] if options.val else None
    test = _read(kind, options.test, decode, options, classes)[0] if options.test else None
    return assemble_splits(train, val, test, seed, options, size)
