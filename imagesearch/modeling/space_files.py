"""The fitted spaces and an index's image side as plain ``.npz`` arrays: loading them needs
neither pickle nor the libraries that fitted them (scikit-learn)."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.embedding.vectors import write_npz
from imagesearch.modeling.joint_space import ImageSide, VisionLanguageImageSide


def fitted_arrays(space: Any) -> dict[str, np.ndarray]:
    """A fitted space's learned arrays by field name (what ``space.npz`` holds)."""
    return {f.name: getattr(space, f.name) for f in fields(space) if not f.init}


def restore_arrays(space: Any, arrays: dict[str, np.ndarray]) -> Any:
    """``space`` (unfitted, from its hyperparameters) with the learned arrays of :func:`fitted_arrays`."""
    wanted = {f.name for f in fields(space) if not f.init}
    if set(arrays) != wanted:
        raise ValueError(f"the saved space has arrays {sorted(arrays)}, a {type(space).__name__} needs "
                         f"{sorted(wanted)}")
    for name, value in arrays.items():
        setattr(space, name, value)
    return space


IMAGE_SIDE_FILE = "image_side.npz"  # an exhaustive index's image side, in the index folder


def write_image_side(path: str | Path, side: ImageSide | np.ndarray) -> None:
    """An index's image side as an ``.npz`` of plain arrays: an ImageSide's fields (with ``vl``
    for a vision–language space), or a raw space's matrix as ``matrix``."""
    arrays = {"matrix": side} if isinstance(side, np.ndarray) else {
        name: getattr(side, name) for name in type(side).__dataclass_fields__}
    write_npz(path, arrays)


def read_image_side(path: str | Path) -> ImageSide | np.ndarray:
    """What :func:`write_image_side` wrote."""
    with np.load(path, allow_pickle=False) as arrays:
        if arrays.files == ["matrix"]:
            return arrays["matrix"]
        side_type = VisionLanguageImageSide if "vl" in arrays.files else ImageSide
        return side_type(**{name: arrays[name] for name in side_type.__dataclass_fields__})
