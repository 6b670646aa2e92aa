"""Semi-supervised k-means with split/merge moves: obvious cases, pinned rows."""

from __future__ import annotations

import torch

from graphclust.assign.niw import NIWPrior
from graphclust.assign.split_merge import (
    initial_prototypes,
    semi_supervised_kmeans,
    split_merge_kmeans,
)


def _blobs(centres, n=60, scale=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    parts = [
        torch.randn(n, 2, generator=g, dtype=torch.float64) * scale + torch.tensor(c)
        for c in centres
    ]
    return torch.cat(parts), torch.arange(len(centres)).repeat_interleave(n)


def test_pinned_rows_stay_in_their_cluster_whatever_the_distance():
    x, y = _blobs([[0.0, 0.0], [5.0, 0.0]])
    pinned = torch.full((120,), -1)
    pinned[0] = 1  # a point of blob 0 pinned to the cluster of blob 1
    pinned[60] = 1
    pinned[1] = 0
    labels, centres = semi_supervised_kmeans(
        x, torch.tensor([[0.0, 0.0], [5.0, 0.0]]).double(), pinned, 2
    )
    assert labels[0] == 1 and labels[60] == 1 and labels[1] == 0
    assert (labels[2:60] == 0).all() and (labels[61:] == 1).all()


def test_split_separates_two_far_blobs_in_one_free_cluster():
    x, y = _blobs([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    pinned = torch.full((180,), -1)
    pinned[:5] = 0  # blob 0 known; blobs 1 and 2 start in one free cluster
    start = torch.tensor([[0.0, 0.0], [2.0, 2.0]], dtype=torch.float64)
    prior = NIWPrior.isotropic(x.mean(0))
    result = split_merge_kmeans(x, pinned, 1, prior, start, split_accept_prob=0.0)
    assert result.centroids.size(0) == 3
    assert result.history["splits"][0] >= 1


def test_merge_joins_two_halves_of_one_blob():
    x, _ = _blobs([[0.0, 0.0], [6.0, 0.0]], n=100)
    pinned = torch.full((200,), -1)
    pinned[100:105] = 0  # blob 1 known; blob 0 starts cut in two free halves
    start = torch.tensor([[6.0, 0.0], [-0.1, 0.0], [0.1, 0.0]], dtype=torch.float64)
    prior = NIWPrior.isotropic(x.mean(0))
    result = split_merge_kmeans(x, pinned, 1, prior, start, split_accept_prob=0.0)
    assert result.centroids.size(0) == 2
    assert (result.labels[:100] == 1).all() and (result.labels[100:] == 0).all()


def test_small_clusters_are_never_split_and_known_ones_never_merged():
    x, _ = _blobs([[0.0, 0.0], [0.3, 0.0]], n=5, scale=0.5)
    pinned = torch.tensor([0] * 5 + [1] * 5)  # two overlapping known classes
    prior = NIWPrior.isotropic(x.mean(0))
    result = split_merge_kmeans(
        x,
        pinned,
        2,
        prior,
        initial_prototypes(x, pinned, 2, 2, torch.Generator()),
        split_accept_prob=1.0,
    )
    assert result.centroids.size(0) == 2
    assert torch.equal(result.labels, pinned)


def test_initial_prototypes_start_from_the_labelled_means():
    x, _ = _blobs([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    pinned = torch.full((180,), -1)
    pinned[:10] = 0
    start = initial_prototypes(x, pinned, 1, 3, torch.Generator().manual_seed(0))
    assert start.shape == (3, 2)
    assert torch.allclose(start[0], x[:10].mean(0))
