"""The estimator contract and validation at the door, through public entry points."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch_geometric.data import Data

from graphclust.data.validation import GraphWarning, check_graph
from graphclust.methods import KMeans, Louvain, NotFittedError, SpectralClustering
from graphclust.methods.base import BaseClusterer, check_finite, renumber_clusters


def _two_blobs(n_per: int = 10) -> Data:
    gen = torch.Generator().manual_seed(0)
    x = torch.cat(
        [torch.randn(n_per, 3, generator=gen) - 4, torch.randn(n_per, 3, generator=gen) + 4]
    )
    ring = torch.arange(2 * n_per)
    edge_index = torch.stack([ring, (ring + 1) % (2 * n_per)])
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    return Data(x=x, edge_index=edge_index, y=torch.arange(2 * n_per) // n_per)


def test_params_roundtrip_and_clone() -> None:
    model = KMeans(n_clusters=3, seed=4)
    assert model.get_params() == {
        "n_clusters": 3,
        "n_init": 10,
        "max_iter": 300,
        "seed": 4,
        "device": "auto",
    }
    model.set_params(n_clusters=5)
    assert model.n_clusters == 5
    twin = model.clone()
    assert twin.get_params() == model.get_params() and twin is not model
    with pytest.raises(ValueError, match="has no parameter 'k'"):
        model.set_params(k=2)
    assert repr(model).startswith("KMeans(n_clusters=5")


def test_fit_sets_contract_attributes_and_leaves_input_untouched() -> None:
    data = _two_blobs()
    before = data.edge_index.clone(), data.x.clone()
    model = KMeans(n_clusters=2, seed=0).fit(data)
    assert model.labels_.dtype == torch.long and model.labels_.shape == (20,)
    assert model.n_clusters_ == 2
    assert model.config_["method"] == "KMeans" and model.config_["params"]["n_clusters"] == 2
    assert isinstance(model.history_, dict) and model.fit_time_ >= 0
    assert torch.equal(data.edge_index, before[0]) and torch.equal(data.x, before[1])
    assert torch.equal(model.fit_predict(data), model.labels_)


def test_labels_never_reach_fit() -> None:
    class Spy(BaseClusterer):
        def __init__(self, seed: int = 0, device: str = "auto") -> None:
            self.seed = seed
            self.device = device

        def _fit(self, data: Data, device: torch.device) -> None:
            self.saw = sorted(data.keys())
            self.labels_ = torch.zeros(data.num_nodes, dtype=torch.long)

    spy = Spy().fit(_two_blobs())
    assert "y" not in spy.saw


def test_same_seed_same_result() -> None:
    data = _two_blobs()
    a = SpectralClustering(n_clusters=2, seed=3).fit_predict(data)
    b = SpectralClustering(n_clusters=2, seed=3).fit_predict(data)
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda d: d.__delattr__("x"), ValueError, "data.x is missing"),
        (lambda d: setattr(d, "x", d.x.long()), TypeError, r"data.x.float\(\)"),
        (lambda d: d.x.__setitem__((3, 1), float("nan")), ValueError, "NaN or inf in 1 rows"),
        (lambda d: d.x.__setitem__((2, 0), float("inf")), ValueError, "NaN or inf"),
        (
            lambda d: setattr(d, "edge_index", d.edge_index.t().contiguous()),
            ValueError,
            r"looks like \[E, 2\]",
        ),
        (lambda d: setattr(d, "edge_index", d.edge_index.float()), TypeError, "edge_index.long"),
        (lambda d: d.edge_index.__setitem__((0, 0), 99), ValueError, "refers to node 99"),
        (lambda d: d.edge_index.__setitem__((0, 0), -1), ValueError, "negative node index"),
        (lambda d: setattr(d, "edge_index", None), ValueError, "edge_index is missing"),
    ],
)
def test_bad_input_is_refused_with_a_fix(mutate, error, match) -> None:
    data = _two_blobs()
    mutate(data)
    with pytest.raises(error, match=match):
        KMeans(n_clusters=2).fit(data)


def test_not_a_data_object() -> None:
    with pytest.raises(TypeError, match="expected a torch_geometric.data.Data"):
        KMeans(n_clusters=2).fit(torch.randn(5, 2))


def test_empty_graph() -> None:
    data = Data(x=torch.zeros(0, 3), edge_index=torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        KMeans(n_clusters=2).fit(data)


@pytest.mark.parametrize(
    ("k", "match"),
    [(1, "at least 2"), (21, "exceeds the number of nodes"), (2.5, "must be an integer")],
)
def test_n_clusters_range(k, match) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        KMeans(n_clusters=k).fit(_two_blobs())


def test_directed_and_duplicate_edges_are_repaired_with_warnings() -> None:
    data = _two_blobs()
    directed = data.edge_index[:, :20]  # one direction only
    data.edge_index = torch.cat([directed, directed[:, :3], torch.tensor([[5], [5]])], dim=1)
    with pytest.warns(GraphWarning) as caught:
        clean = check_graph(data)
    messages = " ".join(str(w.message) for w in caught)
    assert "self-loops" in messages and "duplicate" in messages and "directed" in messages
    assert clean.edge_index.size(1) == 40
    with pytest.warns(GraphWarning):
        KMeans(n_clusters=2).fit(data)


def test_isolated_nodes_are_kept() -> None:
    data = _two_blobs()
    data.x = torch.cat([data.x, torch.zeros(2, 3)])  # nodes 20, 21 without edges
    labels = Louvain().fit_predict(data)
    assert labels.shape == (22,)
    assert labels[20] != labels[21]  # isolated nodes are their own communities
    assert int((labels == labels[20]).sum()) == int((labels == labels[21]).sum()) == 1
    # and they change nothing for the others: the ring is cut as without them
    ring, alone = labels[:20], Louvain().fit_predict(_two_blobs())
    assert torch.equal(ring[:, None] == ring[None, :], alone[:, None] == alone[None, :])


def test_structure_only_methods_accept_missing_features() -> None:
    """Without features they give the labels they give with them (the features are not
    read), and on the 20-node ring spectral clustering cuts two contiguous arcs (2 of
    the 20 ring edges: the minimum cut into two parts)."""
    with_x = _two_blobs()
    data = _two_blobs()
    del data.x
    data.num_nodes = 20
    labels = SpectralClustering(n_clusters=2).fit_predict(data)
    assert labels.shape == (20,)
    assert torch.equal(labels, SpectralClustering(n_clusters=2).fit_predict(with_x))
    assert int((labels != labels.roll(1)).sum()) == 2
    assert torch.equal(Louvain(seed=0).fit_predict(data), Louvain(seed=0).fit_predict(with_x))


def test_unfitted_and_nan_guards() -> None:
    model = KMeans()
    with pytest.raises(NotFittedError):
        model._require_fitted()
    with pytest.raises(FloatingPointError, match="at step 7"):
        check_finite(torch.tensor([1.0, float("nan")]), "loss", 7)


def test_bad_seed_and_device() -> None:
    with pytest.raises(ValueError, match="seed"):
        KMeans(n_clusters=2, seed=-1).fit(_two_blobs())
    with pytest.raises(ValueError, match="device"):
        KMeans(n_clusters=2, device="tpu").fit(_two_blobs())


def test_renumber_clusters_against_a_loop() -> None:
    g = torch.Generator().manual_seed(0)
    soft = torch.softmax(torch.randn(9, 5, generator=g), dim=1)
    soft[:, [1, 3]] = 0.0  # clusters 1 and 3 lose every sample
    raw = soft.argmax(dim=1)
    with pytest.warns(UserWarning, match="M: only 3 of the 5 clusters") as caught:
        found = renumber_clusters(raw, soft, n_trained=5, method="M")
    assert caught[0].filename == __file__  # points at the caller outside graphclust
    used = sorted(set(raw.tolist()))
    assert found.cluster_ids.tolist() == used
    assert found.labels.tolist() == [used.index(int(r)) for r in raw]
    rows = soft[:, used] / soft[:, used].sum(dim=1, keepdim=True)
    torch.testing.assert_close(found.soft, rows)
    assert torch.equal(found.soft.argmax(dim=1), found.labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every trained cluster used: no warning
        renumber_clusters(torch.tensor([2, 0, 1]), n_trained=3, method="M")


def test_divergence_guard_names_the_step_of_a_finite_blow_up():
    from graphclust.methods.base import DivergenceGuard

    guard = DivergenceGuard("toy embeddings", factor=1e3)
    guard.check(torch.tensor([0.5, -2.0]), 0)  # reference 2.0
    guard.check(torch.tensor([1500.0]), 1)  # 750x: still inside 1e3 x max(2, 1)
    grew = r"toy embeddings diverged at step 2: .*2 to 3e\+03"
    with pytest.raises(FloatingPointError, match=grew):
        guard.check(torch.tensor([3000.0]), 2)
    with pytest.raises(FloatingPointError, match="became NaN or inf at step 3"):
        guard.check(torch.tensor([float("nan")]), 3)
