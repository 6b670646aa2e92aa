"""Image batches -> multi-crop views -> (after the encoder) a kNN graph of the batch.

:class:`ImageGraphAdapter` is the bridge between image data and the graph side of the
toolkit. It wraps any indexable image dataset (a tensor ``[N, C, H, W]``, an
:class:`~graphclust.adapters.image_data.ImageSet`, a torchvision-style dataset whose
items are ``image`` or ``(image, label)``), and per batch yields:

1. :class:`ViewBatch`: the indices of the batch and its multi-crop views (2 global +
   ``V`` local, see :class:`~graphclust.adapters.augment.MultiCrop`), built on the
   training device;
2. after the caller's encoder, :meth:`ImageGraphAdapter.graph` turns the batch
   embeddings ``[B, d]`` into a PyG ``Data`` whose ``edge_index`` is their kNN graph,
   built on the embeddings' device with :func:`graphclust.graph.knn.knn_graph`.

Labels that a dataset returns are dropped at the door: the training loop never sees them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
from torch_geometric.data import Data

from graphclust.adapters.augment import MultiCrop
from graphclust.graph.knn import knn_graph


def check_images(images: Any, min_samples: int = 2, name: str = "images") -> torch.Tensor:
    """Validate image input once, at the door; return a float32 tensor ``[N, C, H, W]``.

    Accepts a tensor or array ``[N, H, W]`` (one channel added) or ``[N, C, H, W]``, or an
    indexable dataset (``len`` and ``[i]``) whose items are an image ``[C, H, W]`` /
    ``[H, W]`` or a tuple whose first entry is one (the rest, e.g. a label, is ignored).
    Integer images (``uint8``) are scaled by 1/255; float images must lie in ``[0, 1]``.

    Raises:
        TypeError: not a tensor, array or indexable dataset.
        ValueError: wrong number of dimensions, fewer than ``min_samples`` images,
            non-finite values, values outside ``[0, 1]``, or images of unequal size.
    """
    if isinstance(images, Data):
        raise TypeError(
            f"{name} must be images, got a graph (torch_geometric Data); image methods take a "
            "tensor [N, C, H, W]: for the digit sets use graphclust.adapters.load_images(name)"
        )
    if not isinstance(images, (torch.Tensor, np.ndarray)):
        if not (hasattr(images, "__len__") and hasattr(images, "__getitem__")):
            raise TypeError(
                f"{name} must be a tensor [N, C, H, W], an array, or an indexable dataset of "
                f"images, got {type(images).__name__}"
            )
        images = _stack_dataset(images, name)
    x = torch.as_tensor(images)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(
            f"{name} must have shape [N, C, H, W] or [N, H, W], got {tuple(x.shape)}; flattened "
            "images [N, H*W] must be reshaped first (e.g. x.view(-1, 1, 16, 16))"
        )
    if x.shape[0] < min_samples:
        raise ValueError(f"{name} holds {x.shape[0]} images; at least {min_samples} are needed")
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    elif not x.is_floating_point():
        raise ValueError(f"{name} must be uint8 or floating point, got dtype {x.dtype}")
    x = x.float()
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf")
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"{name} values must lie in [0, 1], found [{low:.3g}, {high:.3g}]; divide by the "
            "maximum (e.g. 255 or 16) and undo any mean/std normalisation"
        )
    return x.contiguous()


def _stack_dataset(dataset: Any, name: str) -> torch.Tensor:
    items = []
    for i in range(len(dataset)):
        item = dataset[i]
        if isinstance(item, (tuple, list)):
            item = item[0]
        items.append(torch.as_tensor(np.asarray(item)))
    if not items:
        raise ValueError(f"{name} is an empty dataset")
    shapes = {tuple(t.shape) for t in items}
    if len(shapes) > 1:
        raise ValueError(
            f"{name}: images have different shapes {sorted(shapes)[:3]}...; resize them to one size"
        )
    return torch.stack(items)


class ViewBatch(NamedTuple):
    """One training batch.

    Attributes:
        index: LongTensor ``[B]``, positions of the batch's images in the dataset.
        views: ``n_global + n_local`` tensors ``[B, C, s, s]``, global crops first.
    """

    index: torch.Tensor
    views: list[torch.Tensor]


class ImageGraphAdapter:
    """Multi-crop batches of an image dataset, and kNN graphs of their embeddings.

    Args:
        images: anything :func:`check_images` accepts.
        crops: the multi-crop recipe (default ``MultiCrop()``: 2 global + 4 local).
        batch_size: images per batch.
        k: neighbours per node in :meth:`graph`.
        metric: kNN metric (``"cosine"`` or ``"euclidean"``).
        shuffle: visit the images in a new random order every epoch.
        drop_last: drop the last incomplete batch (keeps Sinkhorn batches equal-sized).
        device: where the views and graphs are built (the training device).
        generator: CPU generator for the order and the crops (seeded by the caller).

    Example::

        adapter = ImageGraphAdapter(load_images("usps"), batch_size=256, k=10)
        for batch in adapter:
            z = encoder(batch.views[0])             # [B, d]
            data = adapter.graph(z.detach(), batch.index)
            data.edge_index                         # [2, E], kNN of the batch
    """

    def __init__(
        self,
        images: Any,
        crops: MultiCrop | None = None,
        batch_size: int = 256,
        k: int = 10,
        metric: str = "cosine",
        shuffle: bool = True,
        drop_last: bool = True,
        device: str | torch.device = "cpu",
        generator: torch.Generator | None = None,
    ) -> None:
        for pname, value in (("batch_size", batch_size), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{pname} must be a positive integer, got {value!r}")
        self.images = check_images(images).to(device)
        self.crops = crops if crops is not None else MultiCrop()
        n = self.images.shape[0]
        if drop_last and batch_size > n:
            raise ValueError(
                f"batch_size={batch_size} exceeds the {n} images and drop_last=True would give "
                "no batch; lower batch_size"
            )
        self.batch_size = batch_size
        self.k = k
        self.metric = metric
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.device = torch.device(device)
        self.generator = generator if generator is not None else torch.Generator()

    @property
    def num_images(self) -> int:
        return self.images.shape[0]

    def __len__(self) -> int:
        """Batches per epoch."""
        n, b = self.num_images, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[ViewBatch]:
        n = self.num_images
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            batch = self.images[index.to(self.device)]
            yield ViewBatch(index, self.crops(batch, self.generator))

    def graph(self, embeddings: torch.Tensor, index: torch.Tensor | None = None) -> Data:
        """The kNN graph of batch embeddings, as PyG ``Data``.

        Args:
            embeddings: ``[B, d]`` (detach them: the graph is a target, not a path for
                gradients).
            index: optional ``[B]`` dataset positions, stored as ``data.index``.

        Returns:
            ``Data(x=embeddings, edge_index=[2, E], num_nodes=B)``; the graph is symmetric,
            without self-loops, on the device of ``embeddings``.
        """
        if embeddings.dim() != 2:
            raise ValueError(f"embeddings must be [B, d], got {tuple(embeddings.shape)}")
        b = embeddings.shape[0]
        if b < 2:
            raise ValueError("a kNN graph needs at least 2 embeddings in the batch")
        k = min(self.k, b - 1)
        edge_index = knn_graph(embeddings, k, metric=self.metric, symmetric=True)
        data = Data(x=embeddings, edge_index=edge_index, num_nodes=b)
        if index is not None:
            data.index = index
        return data


__all__ = ["ImageGraphAdapter", "ViewBatch", "check_images"]
