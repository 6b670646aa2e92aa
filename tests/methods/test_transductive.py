"""TransductiveClustering against a dense re-derivation of its objective and updates."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from graphclust.methods.transductive import (
    TransductiveClustering,
    affinity_matrix,
    assignment_costs,
    bound_step,
    draw_labelled_rows,
    objective,
)

torch.set_num_threads(1)


def _graph(n_per: int = 12, k: int = 3, seed: int = 0) -> tuple[Data, torch.Tensor]:
    """Three noisy feature blobs with a planted graph (dense in-block, a few cross edges)."""
    gen = torch.Generator().manual_seed(seed)
    truth = torch.arange(k).repeat_interleave(n_per)
    n = truth.numel()
    x = torch.randn(n, 5, generator=gen) + 1.5 * torch.eye(k, 5)[truth]
    same = truth[:, None] == truth[None, :]
    prob = torch.where(same, 0.4, 0.03)
    upper = torch.triu(torch.rand(n, n, generator=gen) < prob, diagonal=1)
    edge_index = to_undirected(upper.nonzero().t())
    return Data(x=x, edge_index=edge_index, num_nodes=n), truth


def _dense_w(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    adjacency = torch.zeros(n, n, dtype=torch.float64)
    adjacency[edge_index[0], edge_index[1]] = 1.0
    degree = adjacency.sum(1)
    inv = torch.where(degree > 0, degree.rsqrt(), torch.zeros_like(degree))
    return 0.5 * (torch.eye(n, dtype=torch.float64) + inv[:, None] * adjacency * inv[None, :])


def _dense_objective(x, m, y, w, labelled, lam, temp) -> float:
    costs = ((x[:, None, :] - m[None, :, :]) ** 2).sum(-1)
    free = y[~labelled]
    entropy = (free * torch.log(free.clamp_min(1e-300))).sum()
    return float((y * costs).sum() - 0.5 * lam * torch.trace(y.t() @ w @ y) + temp * entropy)


def test_affinity_is_the_dense_psd_matrix() -> None:
    data, _ = _graph()
    w = affinity_matrix(data.edge_index, data.num_nodes, "normalized").to_dense().double()
    assert torch.allclose(w, _dense_w(data.edge_index, data.num_nodes), atol=1e-6)
    assert float(torch.linalg.eigvalsh(w).min()) > -1e-6
    binary = affinity_matrix(data.edge_index, data.num_nodes, "binary").to_dense()
    assert binary.sum() == data.edge_index.size(1) and binary.diagonal().sum() == 0


def test_bound_steps_and_prototype_steps_never_raise_the_dense_objective() -> None:
    data, truth = _graph()
    n, k, lam, temp = data.num_nodes, 3, 0.7, 0.1
    x = torch.nn.functional.normalize(data.x.double(), dim=1)
    w_dense = _dense_w(data.edge_index, n)
    w = affinity_matrix(data.edge_index, n, "normalized").double()
    labelled = torch.zeros(n, dtype=torch.bool)
    labelled[[0, 12, 24]] = True
    y = torch.full((n, k), 1.0 / k, dtype=torch.float64)
    y[labelled] = torch.eye(k, dtype=torch.float64)
    m = x[labelled]
    values = []
    for _ in range(4):
        costs = assignment_costs(x, m, "kmeans", 1.0)
        for _ in range(15):
            y_next = bound_step(costs, w, y, labelled, lam, temp)
            # The sparse step is the dense formula.
            dense = torch.softmax((-costs + lam * w_dense @ y) / temp, dim=1)
            assert torch.allclose(y_next[~labelled], dense[~labelled], atol=1e-10)
            y = y_next
            values.append(_dense_objective(x, m, y, w_dense, labelled, lam, temp))
            assert values[-1] == pytest.approx(
                objective(costs, w, y, labelled, lam, temp), rel=1e-6
            )
        m = (y.t() @ x) / y.sum(0)[:, None]  # the K-means prototype step
        values.append(_dense_objective(x, m, y, w_dense, labelled, lam, temp))
    diffs = torch.tensor(values).diff()
    assert float(diffs.max()) <= 1e-9 * abs(values[0])
    assert values[-1] < values[0]
    assert torch.equal(y[labelled], torch.eye(k, dtype=torch.float64))


@pytest.mark.parametrize("variant", ["kmeans", "modes"])
def test_fit_history_is_monotone_and_labelled_rows_stay_fixed(variant: str) -> None:
    data, truth = _graph()
    mask = torch.zeros(data.num_nodes, dtype=torch.bool)
    mask[[0, 1, 12, 13, 24, 25]] = True
    model = TransductiveClustering(variant=variant).fit(data, y=truth, labeled_mask=mask)
    history = torch.tensor(model.history_["objective"], dtype=torch.float64)
    assert float(history.diff().max()) <= 1e-6 * float(history.abs().max())
    assert torch.equal(model.labels_[mask], truth[mask])
    assert torch.equal(model.soft_assignments_[mask], torch.eye(3)[truth[mask]])
    assert torch.equal(model.labeled_mask_, mask)
    assert (model.labels_ == truth).float().mean() > 0.9
    assert model.cluster_centers_.shape == (3, 5) and model.embeddings_.shape == (36, 5)
    assert (variant == "modes") == (model.bandwidth_ is not None)


def test_zero_lambda_is_nearest_prototype_assignment() -> None:
    data, truth = _graph()
    mask = torch.tensor([0, 12, 24])
    model = TransductiveClustering(laplacian_weight=0.0).fit(data, y=truth, labeled_mask=mask)
    distances = torch.cdist(model.embeddings_, model.cluster_centers_)
    free = torch.ones(data.num_nodes, dtype=torch.bool)
    free[mask] = False
    assert torch.equal(model.labels_[free], distances.argmin(1)[free])
    # The graph plays no part: without edges the fit is the same.
    bare = Data(x=data.x, edge_index=torch.empty(2, 0, dtype=torch.long))
    with pytest.warns(UserWarning, match="no edges"):
        again = TransductiveClustering(laplacian_weight=0.0).fit(bare, truth, mask)
    assert torch.allclose(again.soft_assignments_, model.soft_assignments_, atol=1e-6)


def test_label_draws_are_seeded_and_data_y_is_only_read_on_request() -> None:
    data, truth = _graph()
    drawn = draw_labelled_rows(truth, 2, seed=3)
    assert torch.equal(drawn, draw_labelled_rows(truth, 2, seed=3))
    assert torch.bincount(truth[drawn]).tolist() == [2, 2, 2]
    assert not torch.equal(drawn, draw_labelled_rows(truth, 2, seed=4))
    labelled = data.clone()
    labelled.y = truth
    by_param = TransductiveClustering(labels_per_class=2, label_seed=3).fit(labelled)
    explicit = TransductiveClustering().fit(data, y=truth, labeled_mask=drawn)
    assert torch.equal(by_param.labels_, explicit.labels_)
    assert torch.equal(by_param.labeled_mask_.nonzero().flatten(), drawn)
    # A wrong data.y is ignored when the labelled rows are given explicitly.
    labelled.y = torch.zeros_like(truth)
    ignored = TransductiveClustering().fit(labelled, y=truth, labeled_mask=drawn)
    assert torch.equal(ignored.soft_assignments_, explicit.soft_assignments_)
    # y with one entry per labelled row is the same as y per node.
    short = TransductiveClustering().fit(data, y=truth[drawn], labeled_mask=drawn)
    assert torch.equal(short.labels_, explicit.labels_)


def test_knn_affinity_runs_and_is_repeatable() -> None:
    data, truth = _graph()
    mask = torch.tensor([0, 12, 24])
    a = TransductiveClustering(affinity="knn", knn=4, seed=1).fit(data, truth, mask)
    b = TransductiveClustering(affinity="knn", knn=4, seed=1).fit(data, truth, mask)
    assert torch.equal(a.soft_assignments_, b.soft_assignments_)


@pytest.mark.parametrize(
    ("kwargs", "params", "match"),
    [
        ({}, {}, "is semi-supervised"),
        ({"y": "truth"}, {}, "pass both y and labeled_mask"),
        ({"y": "truth", "labeled_mask": "mask"}, {"labels_per_class": 1}, "not both"),
        ({"y": "truth", "labeled_mask": torch.tensor([0, 12])}, {"n_clusters": 3}, "no labelled"),
        ({"y": "truth", "labeled_mask": torch.ones(5, dtype=torch.bool)}, {}, "has 5 entries"),
        ({"y": "truth", "labeled_mask": torch.tensor([0.0, 1.0])}, {}, "floating point"),
        ({"y": "truth", "labeled_mask": torch.tensor([0, 0, 12, 24])}, {}, "twice"),
        ({"y": "truth", "labeled_mask": torch.tensor([0, 99])}, {}, "outside"),
        ({"y": torch.tensor([0, 1]), "labeled_mask": "mask"}, {}, "y has 2 entries"),
        ({"y": "truth", "labeled_mask": "mask"}, {"n_clusters": 2}, "n_clusters=2"),
        ({"y": "truth", "labeled_mask": "mask"}, {"variant": "gmm"}, "variant must be"),
        ({"y": "truth", "labeled_mask": "mask"}, {"laplacian_weight": -1.0}, "laplacian_weight"),
        ({"y": "truth", "labeled_mask": "mask"}, {"temperature": 0}, "temperature"),
        ({"y": "truth", "labeled_mask": "mask"}, {"affinity": "knn", "knn": 36}, "knn=36"),
        ({"y": "truth", "labeled_mask": "mask"}, {"bound_iter": 0}, "bound_iter"),
    ],
)
def test_bad_inputs_fail_at_the_door(kwargs: dict, params: dict, match: str) -> None:
    data, truth = _graph()
    mask = torch.tensor([0, 12, 24])
    named = {"truth": truth, "mask": mask}
    kwargs = {key: named[v] if isinstance(v, str) else v for key, v in kwargs.items()}
    with pytest.raises((ValueError, TypeError), match=match):
        TransductiveClustering(**params).fit(data, **kwargs)


def test_labels_per_class_without_data_y_and_all_rows_labelled() -> None:
    data, truth = _graph()
    with pytest.raises(ValueError, match="data has no y"):
        TransductiveClustering(labels_per_class=1).fit(data)
    everything = torch.ones(data.num_nodes, dtype=torch.bool)
    with pytest.raises(ValueError, match="nothing to cluster"):
        TransductiveClustering().fit(data, y=truth, labeled_mask=everything)
