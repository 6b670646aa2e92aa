"""ImageGraphAdapter, check_images and load_images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestNeighbors
from torch_geometric.data import Data

from graphclust.adapters import ImageGraphAdapter, MultiCrop, check_images, load_images
from tests.markers import requires_cuda


class PairDataset:
    """A torchvision-style dataset: items are (image [C, H, W], label)."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], 7


def test_check_images_accepts_tensors_arrays_uint8_and_datasets() -> None:
    x = torch.rand(6, 1, 8, 8)
    assert torch.equal(check_images(x), x)
    assert tuple(check_images(x[:, 0]).shape) == (6, 1, 8, 8)
    assert torch.equal(check_images(x.numpy()), x)
    raw = (x * 255).round().to(torch.uint8)
    torch.testing.assert_close(check_images(raw), raw.float() / 255)
    assert torch.equal(check_images(PairDataset(x)), x)


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (torch.rand(6, 256), ValueError, "reshape"),
        (torch.rand(1, 1, 8, 8), ValueError, "at least 2"),
        (torch.rand(4, 1, 8, 8) * 255, ValueError, r"\[0, 1\]"),
        (torch.full((4, 1, 8, 8), float("nan")), ValueError, "NaN"),
        (torch.ones(4, 1, 8, 8, dtype=torch.int32), ValueError, "uint8"),
        (42, TypeError, "indexable"),
        (Data(x=torch.rand(4, 64)), TypeError, "load_images"),
    ],
)
def test_check_images_refuses_bad_input(bad: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        check_images(bad)


def test_check_images_refuses_images_of_different_sizes() -> None:
    with pytest.raises(ValueError, match="different shapes"):
        check_images([torch.rand(1, 8, 8), torch.rand(1, 9, 9)])


def test_batches_cover_every_image_once_per_epoch() -> None:
    adapter = ImageGraphAdapter(
        torch.rand(50, 1, 8, 8),
        MultiCrop(n_local=2, local_size=4),
        batch_size=16,
        drop_last=False,
        generator=torch.Generator().manual_seed(0),
    )
    batches = list(adapter)
    assert len(adapter) == len(batches) == 4
    seen = torch.cat([b.index for b in batches])
    assert sorted(seen.tolist()) == list(range(50))
    first = batches[0]
    assert len(first.views) == 4
    assert tuple(first.views[0].shape) == (16, 1, 8, 8)
    assert tuple(first.views[3].shape) == (16, 1, 4, 4)


def test_drop_last_keeps_equal_batches() -> None:
    adapter = ImageGraphAdapter(torch.rand(50, 1, 8, 8), batch_size=16)
    assert len(adapter) == 3
    assert all(b.index.numel() == 16 for b in adapter)
    with pytest.raises(ValueError, match="batch_size"):
        ImageGraphAdapter(torch.rand(5, 1, 8, 8), batch_size=16)


def test_labels_of_a_pair_dataset_never_reach_the_batches() -> None:
    images = torch.rand(20, 1, 8, 8)
    a = ImageGraphAdapter(PairDataset(images), batch_size=10, generator=torch.Generator())
    b = ImageGraphAdapter(images, batch_size=10, generator=torch.Generator())
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.index, y.index)
        assert all(torch.equal(u, v) for u, v in zip(x.views, y.views, strict=True))


def test_graph_is_the_symmetrised_knn_graph_of_the_embeddings() -> None:
    """Reference: scikit-learn's exact cosine nearest neighbours, symmetrised by hand."""
    z = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    adapter = ImageGraphAdapter(torch.rand(40, 1, 8, 8), batch_size=40, k=4)
    data = adapter.graph(z, index=torch.arange(40))
    nn_ = NearestNeighbors(n_neighbors=5, metric="cosine").fit(z.numpy())
    neighbours = nn_.kneighbors(z.numpy(), return_distance=False)[:, 1:]
    expected = set()
    for i, row in enumerate(neighbours):
        for j in row:
            expected |= {(i, int(j)), (int(j), i)}
    got = set(map(tuple, data.edge_index.t().tolist()))
    assert got == expected
    assert data.num_nodes == 40 and torch.equal(data.index, torch.arange(40))
    assert not bool((data.edge_index[0] == data.edge_index[1]).any())


def test_graph_of_a_small_batch_lowers_k() -> None:
    adapter = ImageGraphAdapter(torch.rand(8, 1, 8, 8), batch_size=4, k=10)
    embeddings = torch.randn(3, 5)
    data = adapter.graph(embeddings)
    assert data.edge_index.shape[1] == 6  # complete graph on 3 nodes, both directions
    # k = 10 falls to B - 1 = 2: every other node once, no self-loop
    pairs = sorted(map(tuple, data.edge_index.t().tolist()))
    assert pairs == [(i, j) for i in range(3) for j in range(3) if i != j]
    assert torch.equal(data.x, embeddings) and data.num_nodes == 3


def test_load_digits_matches_scikit_learn() -> None:
    images = load_images("digits")
    bunch = load_digits()
    assert tuple(images.images.shape) == (1797, 1, 8, 8)
    np.testing.assert_allclose(images.images[:, 0].numpy(), bunch.images / 16.0, atol=1e-6)
    assert images.labels.tolist() == bunch.target.tolist()
    image, label = images[3]
    assert tuple(image.shape) == (1, 8, 8) and label == bunch.target[3]


def test_load_usps_images(data_root) -> None:
    usps = load_images("usps", root=data_root)
    assert tuple(usps.images.shape) == (9298, 1, 16, 16)
    assert usps.labels[:2].tolist() == [6, 5]  # as in zip.train
    with np.load(data_root / "USPS" / "usps.npz") as raw:
        np.testing.assert_array_equal(usps.images[0, 0].numpy(), raw["train_x"][0].reshape(16, 16))


def test_unknown_image_set_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        load_images("cora")


@requires_cuda
def test_views_and_graph_are_built_on_the_training_device() -> None:
    adapter = ImageGraphAdapter(torch.rand(32, 1, 8, 8), batch_size=16, device="cuda")
    batch = next(iter(adapter))
    assert batch.views[0].is_cuda
    assert adapter.graph(torch.randn(16, 4, device="cuda")).edge_index.is_cuda
