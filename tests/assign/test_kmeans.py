"""graphclust.assign.kmeans against scikit-learn's KMeans and hand-made cases, and
fit_kmeans, the methods' entry point, against the two k-means it dispatches to."""

from __future__ import annotations

import pytest
import torch
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.metrics import adjusted_rand_score

from graphclust.assign import fit_kmeans, kmeans
from tests.markers import requires_cuda


def _blobs(seed: int, k: int = 4, n: int = 50, d: int = 8, spread: float = 0.3) -> tuple:
    g = torch.Generator().manual_seed(seed)
    centres = 5.0 * torch.randn(k, d, generator=g)
    y = torch.arange(k).repeat_interleave(n)
    return centres[y] + spread * torch.randn(k * n, d, generator=g), y


def test_hand_worked_two_clusters() -> None:
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    out = kmeans(x, 2, seed=0)
    assert out.labels[0] == out.labels[1] != out.labels[2] == out.labels[3]
    centres = out.centroids[out.centroids[:, 0].argsort()]
    torch.testing.assert_close(centres, torch.tensor([[0.0, 0.5], [10.0, 0.5]]))
    assert out.inertia == pytest.approx(4 * 0.25)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_separated_blobs_match_sklearn(seed: int) -> None:
    x, y = _blobs(seed)
    ours = kmeans(x, 4, n_init=5, seed=seed)
    ref = SklearnKMeans(4, n_init=5, random_state=seed).fit(x.double().numpy())
    assert adjusted_rand_score(ref.labels_, ours.labels.numpy()) == pytest.approx(1.0)
    assert adjusted_rand_score(y.numpy(), ours.labels.numpy()) == pytest.approx(1.0)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-4)


@pytest.mark.parametrize("k", [3, 8, 15])
def test_inertia_comparable_to_sklearn_on_unstructured_data(k: int) -> None:
    # no cluster structure: local optima differ, the best of 5 restarts should not
    g = torch.Generator().manual_seed(k)
    x = torch.randn(600, 16, generator=g)
    ours = kmeans(x, k, n_init=5, seed=0)
    ref = SklearnKMeans(k, n_init=5, random_state=0).fit(x.double().numpy())
    assert ours.inertia <= 1.02 * ref.inertia_
    # the reported inertia is the partition's, recomputed here
    recomputed = float(((x - ours.centroids[ours.labels]) ** 2).sum())
    assert ours.inertia == pytest.approx(recomputed, rel=1e-4)
    assert ours.labels.unique().numel() == k


def test_seeded_and_reproducible() -> None:
    x, _ = _blobs(0, spread=2.5)
    a, b = kmeans(x, 4, seed=3), kmeans(x, 4, seed=3)
    assert torch.equal(a.labels, b.labels)
    assert torch.equal(a.centroids, b.centroids)


def test_duplicated_points_leave_no_cluster_empty() -> None:
    # 3 distinct points, K = 3: k-means++ must pick each once; with K = 4 on them one
    # cluster is necessarily empty or duplicated, and the labels stay in range
    x = torch.tensor([[0.0], [0.0], [5.0], [5.0], [9.0], [9.0]])
    out = kmeans(x, 3, seed=0)
    assert out.labels.unique().numel() == 3
    assert out.inertia == pytest.approx(0.0)
    out4 = kmeans(x, 4, seed=0)
    assert int(out4.labels.max()) < 4


@pytest.mark.parametrize(
    ("x", "k", "message"),
    [
        (torch.zeros(5), 2, r"\[N, d\]"),
        (torch.zeros(5, 2, dtype=torch.long), 2, "floating point"),
        (torch.zeros(5, 2), 6, r"n_clusters must be an integer in \[1, 5\]"),
        (torch.zeros(5, 2), 0, "n_clusters"),
        (torch.tensor([[0.0], [float("nan")]]), 1, "NaN"),
    ],
)
def test_bad_input_is_refused(x: torch.Tensor, k: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kmeans(x, k)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fit_kmeans_on_a_cpu_is_sklearn(dtype: torch.dtype) -> None:
    # "auto" on a CPU tensor: scikit-learn, in the tensor's dtype, exactly as a direct
    # call (the results the CPU benchmarks recorded before the methods shared it)
    x, _ = _blobs(3, spread=2.0)
    x = x.to(dtype)
    ours = fit_kmeans(x, 4, n_init=3, seed=7, max_iter=50)
    ref = SklearnKMeans(n_clusters=4, n_init=3, random_state=7, max_iter=50).fit(x.numpy())
    assert ours.labels.dtype == torch.long
    assert torch.equal(ours.labels, torch.from_numpy(ref.labels_).long())
    assert torch.equal(ours.centroids, torch.from_numpy(ref.cluster_centers_).float())
    assert ours.inertia == pytest.approx(ref.inertia_) and ours.n_iter == ref.n_iter_


def test_fit_kmeans_torch_backend_is_kmeans() -> None:
    x, _ = _blobs(4, spread=2.0)
    ours = fit_kmeans(x, 4, n_init=2, seed=1, backend="torch")
    ref = kmeans(x, 4, n_init=2, seed=1)
    assert torch.equal(ours.labels, ref.labels) and torch.equal(ours.centroids, ref.centroids)
    with pytest.raises(ValueError, match="backend must be one of"):
        fit_kmeans(x, 4, backend="faiss")


@requires_cuda
@pytest.mark.parametrize("cluster", [kmeans, fit_kmeans], ids=["kmeans", "fit_kmeans-auto"])
def test_runs_on_the_gpu_and_agrees_with_the_cpu(cluster) -> None:
    # fit_kmeans with backend "auto" on a GPU tensor: the torch k-means, on the device
    x, y = _blobs(0)
    out = cluster(x.cuda(), 4, seed=0)
    assert out.labels.device.type == "cuda"
    assert adjusted_rand_score(y.numpy(), out.labels.cpu().numpy()) == pytest.approx(1.0)


def test_restart_empty_clusters_moves_empty_centres_to_the_farthest_points():
    from graphclust.assign.kmeans import nearest_centroids, restart_empty_clusters

    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [0.0, 3.0]])
    centroids = torch.tensor([[0.0, 0.0], [100.0, 100.0], [200.0, 200.0]])
    labels, sq = nearest_centroids(x, centroids)
    # every point is nearest to centre 0; squared distances 0, 1, 100, 9
    assert labels.tolist() == [0, 0, 0, 0]
    assert sq.tolist() == [0.0, 1.0, 100.0, 9.0]
    moved, empty = restart_empty_clusters(centroids, x, labels, sq)
    assert empty.tolist() == [1, 2]
    # the two farthest points, (10, 0) then (0, 3), in order of distance
    assert moved.tolist() == [[0.0, 0.0], [10.0, 0.0], [0.0, 3.0]]
    assert centroids[1].tolist() == [100.0, 100.0]  # the input is not modified
    same, none = restart_empty_clusters(moved, x, nearest_centroids(x, moved)[0], sq)
    assert none.numel() == 0 and same is moved
