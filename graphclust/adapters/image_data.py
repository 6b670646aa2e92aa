"""Image arrays of the digit benchmarks, for the image estimators (SwAV) and the video
generator: scikit-learn's ``digits``, ``usps`` and ``mnist-test``.

:func:`graphclust.data.load_dataset` reads these sets (from the data root, read-only) as
graphs whose node features are the flattened pixels in ``[0, 1]``; the image methods
need ``[N, 1, H, W]`` instead, so this module only reshapes what the data layer loaded.
The file parsing and the cache of the pixel kNN graph stay in ``graphclust.data``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from graphclust.data import load_dataset

# name -> image side; the loaders store row-major flattened pixels.
_SIDES = {"digits": 8, "usps": 16, "mnist-test": 28}


@dataclass(frozen=True)
class ImageSet:
    """Images and their class labels (labels are for evaluation only).

    Attributes:
        images: float32 ``[N, 1, H, W]`` in ``[0, 1]``, background 0.
        labels: int64 ``[N]``.
        name: the set's name.
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def image_datasets() -> list[str]:
    """Names accepted by :func:`load_images`."""
    return sorted(_SIDES)


def load_images(name: str, root: str | os.PathLike | None = None) -> ImageSet:
    """Load a digit image set as ``[N, 1, H, W]`` float32 in ``[0, 1]``.

    Args:
        name: ``"digits"`` (1,797 8x8, no file needed), ``"usps"`` (9,298 16x16: train
            and test concatenated, as the deep-clustering benchmarks use them) or
            ``"mnist-test"`` (10,000 28x28).
        root: data root, as for :func:`graphclust.data.load_dataset` (default
            ``$GRAPHCLUST_DATA``, else ``./datasets``).

    Raises:
        ValueError: not an image set.
        graphclust.data.DatasetNotFoundError: the raw files are missing (names them).
    """
    key = name.strip().lower().replace("_", "-")
    if key not in _SIDES:
        raise ValueError(f"unknown image dataset {name!r}; choose one of {image_datasets()}")
    data = load_dataset(key, root)
    side = _SIDES[key]
    if data.x.shape[1] != side * side:
        raise ValueError(
            f"{key}: expected {side * side} pixel features per image, got {data.x.shape[1]}"
        )
    images = data.x.reshape(-1, 1, side, side).float().clamp(0.0, 1.0).contiguous()
    return ImageSet(images, data.y.long(), key)


__all__ = ["ImageSet", "image_datasets", "load_images"]
