"""Edges of the system for image and video data: batches in, kNN graphs and tubes out.

- :mod:`~graphclust.adapters.augment`: batched multi-crop augmentation for small grey
  images (:class:`MultiCrop`).
- :mod:`~graphclust.adapters.image`: :class:`ImageGraphAdapter` (multi-crop batches of
  any indexable image dataset, and the kNN graph of their embeddings as PyG ``Data``),
  :func:`check_images`.
- :mod:`~graphclust.adapters.image_data`: :func:`load_images` for ``digits``, ``usps``,
  ``mnist-test`` as ``[N, 1, H, W]`` tensors.
- :mod:`~graphclust.adapters.video`: clips to space-time tubes, tube masking, and
  :class:`VideoTubeAdapter` (masked batches of tube tokens).
- :mod:`~graphclust.adapters.moving_digits`: the seeded moving-digits generator.
"""

from graphclust.adapters.augment import CropSpec, MultiCrop
from graphclust.adapters.image import ImageGraphAdapter, ViewBatch, check_images
from graphclust.adapters.image_data import ImageSet, image_datasets, load_images
from graphclust.adapters.moving_digits import MovingDigits, moving_digits
from graphclust.adapters.video import (
    TubeBatch,
    TubeGrid,
    VideoTubeAdapter,
    check_clips,
    from_tubes,
    normalize_tubes,
    split_positions,
    to_tubes,
    tube_grid,
    tube_mask,
)

__all__ = [
    "CropSpec",
    "ImageGraphAdapter",
    "ImageSet",
    "MovingDigits",
    "MultiCrop",
    "TubeBatch",
    "TubeGrid",
    "VideoTubeAdapter",
    "ViewBatch",
    "check_clips",
    "check_images",
    "from_tubes",
    "image_datasets",
    "load_images",
    "moving_digits",
    "normalize_tubes",
    "split_positions",
    "to_tubes",
    "tube_grid",
    "tube_mask",
]
