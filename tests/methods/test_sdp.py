"""SDPKMeans / iLA-SDP estimator: recovery, the heterogeneous-covariance case where
Lloyd and EM fail, the size limit and its sampling escape, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from torch_geometric.data import Data

from graphclust.methods.sdp import SDPKMeans, assign_to_clusters
from graphclust.metrics import clustering_accuracy


def _separated(n_per: int = 20, seed: int = 0) -> tuple[Data, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    y = np.repeat(np.arange(3), n_per)
    x = centres[y] + rng.normal(size=(len(y), 2))
    return Data(x=torch.tensor(x, dtype=torch.float32)), y


def _heterogeneous(seed: int = 5, m: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """A tight blob beside two long thin clusters crossing near it (fixed by seed):
    Lloyd cuts the long clusters in pieces, and EM from k-means starts stays there."""
    rng = np.random.default_rng(seed)
    xs = [
        rng.normal(size=(m, 2)) * [0.3, 0.3],
        rng.normal(size=(m, 2)) * [4.0, 0.3] + [0.0, 2.0],
        rng.normal(size=(m, 2)) * [0.3, 4.0] + [3.0, 0.0],
    ]
    return np.concatenate(xs).astype(np.float32), np.repeat([0, 1, 2], m)


@pytest.mark.parametrize("covariance", ["shared", "cluster"])
def test_exact_recovery_of_separated_mixture(covariance: str) -> None:
    data, y = _separated()
    model = SDPKMeans(3, covariance=covariance, ila_iter=2, tol=1e-3, seed=0).fit(data)
    assert adjusted_rand_score(y, model.labels_.numpy()) == 1.0
    soft = model.soft_assignments_
    assert soft.shape == (60, 3)
    assert torch.allclose(soft.sum(1), torch.ones(60), atol=1e-5)
    # the LA-SDP's block costs converge more slowly: a looser gap at the same tol
    assert model.history_["gap"][-1] < (1e-2 if covariance == "shared" else 5e-2)
    assert model.cluster_centers_.shape == (3, 2)


def test_ila_sdp_beats_kmeans_and_em_on_heterogeneous_mixture() -> None:
    x, y = _heterogeneous()

    def error(labels: np.ndarray) -> float:
        return 1.0 - clustering_accuracy(torch.from_numpy(y), torch.as_tensor(labels))

    km = error(KMeans(3, n_init=10, random_state=0).fit_predict(x))
    em = error(GaussianMixture(3, random_state=0).fit(x).predict(x))
    model = SDPKMeans(3, covariance="cluster", ila_iter=6, seed=0)
    ila = error(model.fit(Data(x=torch.from_numpy(x))).labels_.numpy())
    assert km > 0.3 and em > 0.2  # the bad local optima this case was built for
    assert ila < 0.05
    assert model.covariances_.shape == (3, 2, 2)
    assert model.history_["changed"][-1] == 0  # the alternation settled


def test_same_seed_same_labels() -> None:
    data, _ = _separated(seed=1)
    a = SDPKMeans(3, seed=3).fit_predict(data)
    b = SDPKMeans(3, seed=3).fit_predict(data)
    assert torch.equal(a, b)


def test_refuses_large_n_and_says_how_to_go_beyond() -> None:
    data, _ = _separated(n_per=20)
    with pytest.raises(ValueError, match=r"refuses N=60 > max_n=50.*max_samples"):
        SDPKMeans(3, max_n=50, device="cpu").fit(data)
    with pytest.raises(ValueError, match="max_samples=80 exceeds"):
        SDPKMeans(3, max_n=50, max_samples=80, device="cpu").fit(data)


def test_max_samples_solves_a_sample_and_assigns_the_rest() -> None:
    data, y = _separated(n_per=30)
    model = SDPKMeans(3, max_n=50, max_samples=45, seed=0, device="cpu").fit(data)
    assert model.sample_indices_.numel() == 45
    assert model.soft_assignments_ is None
    assert adjusted_rand_score(y, model.labels_.numpy()) == 1.0


def test_assign_to_clusters_by_likelihood() -> None:
    centres = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    covs = torch.stack([torch.eye(2) * 0.01, torch.eye(2) * 9.0])
    x = torch.tensor([[1.0, 0.0], [0.05, 0.0]])
    # nearest centre is 0 for both; the wide Gaussian is the likelier for (1, 0)
    assert assign_to_clusters(x, centres).tolist() == [0, 0]
    assert assign_to_clusters(x, centres, covs).tolist() == [1, 0]


def test_feature_only_data_needs_no_edge_index() -> None:
    """Two blobs 6 sigma apart are recovered without a graph, and a graph (here one that
    pairs the blobs up) changes nothing: the method reads the features only."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(12, 3, generator=gen)
    x[6:] += 6.0
    y = np.repeat([0, 1], 6)
    labels = SDPKMeans(2, seed=0).fit_predict(Data(x=x))
    assert labels.shape == (12,)
    assert adjusted_rand_score(y, labels.numpy()) == 1.0
    across = torch.stack([torch.arange(6), torch.arange(6, 12)])
    graph = Data(x=x, edge_index=torch.cat([across, across.flip(0)], dim=1))
    assert torch.equal(SDPKMeans(2, seed=0).fit_predict(graph), labels)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"covariance": "full"}, "covariance"),
        ({"eig": "lanczos"}, "eig"),
        ({"precision": "half"}, "precision"),
        ({"tol": -1.0}, "tol"),
        ({"ila_iter": 0}, "ila_iter"),
        ({"max_samples": 1}, "max_samples"),
        ({"n_clusters": 13}, "n_clusters"),
    ],
)
def test_bad_parameters(params: dict, match: str) -> None:
    args = {"n_clusters": 2, **params}
    with pytest.raises(ValueError, match=match):
        SDPKMeans(**args).fit(Data(x=torch.randn(12, 2)))


def test_bad_data() -> None:
    with pytest.raises(TypeError, match="Data"):
        SDPKMeans(2).fit(torch.randn(5, 2))
    with pytest.raises(ValueError, match="data.x is missing"):
        SDPKMeans(2).fit(Data(num_nodes=5))
    with pytest.raises(ValueError, match="NaN"):
        SDPKMeans(2).fit(Data(x=torch.full((5, 2), float("nan"))))
