"""PamC on a small attributed SBM: it clusters, repeats, survives empty clusters, keeps K,
and encodes and assigns new graphs as it did the training graph."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph, subgraph, to_undirected

from graphclust.methods.base import NotFittedError
from graphclust.methods.pamc import PamC
from graphclust.metrics import modularity

SIZES = (50, 50, 50)
K = len(SIZES)
# Small widths and few epochs keep each fit to about a second on two cores.
FAST = {
    "hidden": (32, 32, 64),
    "latent_dim": 8,
    "pretrain_epochs": 15,
    "pretrain_batch_size": 16,
    "epochs": 12,
    "n_init": 3,
}


def _sbm(
    seed: int = 0,
    sizes: tuple[int, ...] = SIZES,
    dim: int = 16,
    p_in: float = 0.2,
    p_out: float = 0.02,
    spread: float = 3.0,
) -> tuple[Data, np.ndarray]:
    k = len(sizes)
    torch.manual_seed(seed)
    probs = torch.full((k, k), p_out)
    probs.fill_diagonal_(p_in)
    edge_index = to_undirected(stochastic_blockmodel_graph(list(sizes), probs))
    truth = torch.arange(k).repeat_interleave(torch.tensor(sizes))
    gen = torch.Generator().manual_seed(seed)
    centres = spread * torch.randn(k, dim, generator=gen)
    x = centres[truth] + torch.randn(truth.numel(), dim, generator=gen)
    return Data(x=x, edge_index=edge_index, y=truth), truth.numpy()


@pytest.fixture(scope="module")
def sbm():
    return _sbm()


@pytest.fixture(scope="module")
def fitted(sbm):
    return PamC(n_clusters=K, seed=3, device="cpu", **FAST).fit(sbm[0])


@pytest.fixture(scope="module")
def fitted_gcn(sbm):
    return PamC(n_clusters=K, encoder="gcn", **FAST).fit(sbm[0])


def test_fit_recovers_planted_clusters_and_sets_outputs(sbm, fitted):
    data, truth = sbm
    model = fitted
    n = truth.size
    assert model.labels_.shape == (n,) and model.labels_.dtype == torch.long
    assert model.soft_assignments_.shape == (n, K)
    torch.testing.assert_close(model.soft_assignments_.sum(1), torch.ones(n))
    assert model.embeddings_.shape == (n, FAST["latent_dim"])
    assert model.final_labels_.shape == (n,)
    assert adjusted_rand_score(truth, model.labels_.numpy()) > 0.9
    for key in ("loss", "kl", "positive", "negative"):
        assert len(model.history_[key]) == FAST["epochs"]
        assert np.isfinite(model.history_[key]).all()
    # Every epoch and the final state are scored; the selected one has the top score.
    scores = model.history_["score"]
    assert len(scores) == FAST["epochs"] + 1
    assert model.history_["eval_epoch"][int(np.argmax(scores))] == model.selected_epoch_
    expected = modularity(data.edge_index, model.labels_)
    assert max(scores) == pytest.approx(expected)


def test_same_seed_gives_identical_results_and_labels_are_never_read(sbm, fitted):
    data, _ = sbm
    shuffled = data.clone()
    shuffled.y = torch.randperm(shuffled.num_nodes)
    again = PamC(n_clusters=K, seed=3, device="cpu", **FAST).fit(shuffled)
    assert torch.equal(again.labels_, fitted.labels_)
    assert torch.equal(again.soft_assignments_, fitted.soft_assignments_)
    assert again.history_["loss"] == fitted.history_["loss"]


def test_final_selection_returns_last_epoch(sbm):
    data, _ = sbm
    model = PamC(n_clusters=K, selection="final", meta_nodes="soft", **FAST).fit(data)
    assert model.selected_epoch_ == FAST["epochs"]
    assert torch.equal(model.labels_, model.final_labels_)


def _with_far_centroid(monkeypatch, index: int = -1) -> None:
    """The k-means centroid ``index`` far from every embedding: its cluster starts empty."""
    original = PamC._kmeans_centroids

    def with_far_centroid(self, z):
        centres = original(self, z)
        centres[index] = 1e4
        return centres

    monkeypatch.setattr(PamC, "_kmeans_centroids", with_far_centroid)


def test_empty_cluster_kept_empty_stays_finite_and_labels_are_renumbered(sbm, monkeypatch):
    data, _ = sbm
    _with_far_centroid(monkeypatch, index=0)
    model = PamC(n_clusters=K + 1, selection="final", empty_clusters="keep", **FAST)
    with pytest.warns(UserWarning, match=f"only {K} of the {K + 1} clusters"):
        model.fit(data)
    assert np.isfinite(model.history_["loss"]).all()
    assert model.n_clusters_ == K
    # the contract: labels 0..n_clusters_-1, one soft column and centre per label
    assert sorted(model.labels_.unique().tolist()) == list(range(K))
    assert model.soft_assignments_.shape == (data.num_nodes, K)
    assert model.cluster_centers_.shape[0] == K
    assert model.cluster_ids_.tolist() == list(range(1, K + 1))  # the far centroid 0 is unused
    assert torch.equal(model.soft_assignments_.argmax(dim=1), model.labels_)
    assert torch.equal(model.predict(data), model.labels_)  # same numbering


def test_emptied_cluster_is_restarted_at_the_farthest_embedding(sbm, monkeypatch):
    data, _ = sbm
    _with_far_centroid(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "only k of K clusters" warning
        model = PamC(n_clusters=K + 1, selection="final", **FAST).fit(data)
    # restarted in the first epoch (and counted), after which every cluster holds nodes
    assert model.history_["restarted"][0] == 1
    assert model.n_clusters_ == K + 1
    assert sorted(model.labels_.unique().tolist()) == list(range(K + 1))
    assert np.isfinite(model.history_["loss"]).all()


def test_soft_meta_nodes_with_empty_cluster_stay_finite(sbm, monkeypatch):
    data, _ = sbm
    original = PamC._kmeans_centroids
    monkeypatch.setattr(
        PamC,
        "_kmeans_centroids",
        lambda self, z: torch.cat([original(self, z)[:-1], torch.full((1, z.size(1)), 1e4)]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = PamC(n_clusters=K + 1, meta_nodes="soft", **FAST).fit(data)
    assert np.isfinite(model.history_["loss"]).all()
    assert torch.isfinite(model.soft_assignments_).all()


def test_minibatch_mode_runs_and_matches_full_batch_at_the_first_step(sbm):
    data, truth = sbm
    mini = PamC(n_clusters=K, batch_size=32, **FAST).fit(data)
    assert mini.labels_.shape == truth.shape
    assert np.isfinite(mini.history_["loss"]).all()
    assert adjusted_rand_score(truth, mini.labels_.numpy()) > 0.8
    torch.testing.assert_close(mini.transform(data), mini.embeddings_, rtol=1e-5, atol=1e-5)
    assert torch.equal(mini.predict(data), mini.labels_)
    # One batch holding every node sees exactly the full-batch loss at the first step.
    params = {**FAST, "epochs": 1}
    one_batch = PamC(n_clusters=K, batch_size=10_000, **params).fit(data)
    full = PamC(n_clusters=K, **params).fit(data)
    assert one_batch.history_["loss"][0] == pytest.approx(full.history_["loss"][0], rel=1e-5)


def test_minibatch_training_repeats_bit_for_bit_on_two_threads():
    """In-batch positives are gathered from the batch's embeddings; a getitem gather
    (backward: index_put_ with accumulate) summed in a thread-dependent order on CPU,
    so two-thread fits of one seed differed by ~1e-5. index_select repeats exactly."""
    # 1,000 nodes: big enough for the parallel CPU kernels (the small SBM is not)
    data, _ = _sbm(sizes=(250,) * 4, dim=64, p_in=0.04, p_out=0.002, spread=1.0)
    params = {
        **FAST,
        "hidden": (64, 64, 128),
        "latent_dim": 16,
        "pretrain_epochs": 5,
        "pretrain_batch_size": 256,
        "epochs": 6,
        "n_init": 2,
    }
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = [PamC(n_clusters=4, batch_size=256, seed=0, **params).fit(data) for _ in range(2)]
    finally:
        torch.set_num_threads(previous)
    torch.testing.assert_close(runs[0].embeddings_, runs[1].embeddings_, rtol=0, atol=0)


def test_gcn_encoder_runs(sbm, fitted_gcn):
    _, truth = sbm
    assert adjusted_rand_score(truth, fitted_gcn.labels_.numpy()) > 0.8


# -- transform / predict on new graphs -----------------------------------------------------
def _dense_encoding(model: PamC, data: Data) -> torch.Tensor:
    """The fitted encoder written out with dense float64 matrices: MLP layers
    ``x W^T + b``, or GCN layers ``D^-1/2 (A + I) D^-1/2 x W^T + b`` on ``data``'s edges."""
    state = {k: v.double() for k, v in model.encoder_.state_dict().items()}
    x, n = data.x.double(), data.num_nodes
    depth = range(len(FAST["hidden"]) + 1)
    if model.encoder == "gcn":
        a = torch.eye(n, dtype=torch.float64)
        a[data.edge_index[0], data.edge_index[1]] = 1.0
        norm = a.sum(dim=1).rsqrt()
        propagate = norm[:, None] * a * norm[None, :]
        layers = [(state[f"convs.{i}.lin.weight"], state[f"convs.{i}.bias"]) for i in depth]
    else:
        propagate = torch.eye(n, dtype=torch.float64)
        layers = [(state[f"layers.{i}.weight"], state[f"layers.{i}.bias"]) for i in depth]
    for i, (weight, bias) in enumerate(layers):
        x = propagate @ (x @ weight.T) + bias
        x = x if i == len(layers) - 1 else x.relu()
    return x


def _permuted(data: Data, perm: torch.Tensor) -> Data:
    """``data`` with node ``i`` of the copy being node ``perm[i]`` of ``data``."""
    position = torch.empty_like(perm)
    position[perm] = torch.arange(perm.numel())
    return Data(x=data.x[perm], edge_index=position[data.edge_index])


@pytest.mark.parametrize("name", ["fitted", "fitted_gcn"])
def test_transform_and_predict_on_the_training_graph_give_the_fitted_outputs(sbm, name, request):
    data, _ = sbm
    model = request.getfixturevalue(name)
    # The selected state precedes the last update: the kept weights are not the final ones.
    assert model.selected_epoch_ < FAST["epochs"]
    torch.testing.assert_close(model.transform(data), model.embeddings_, rtol=1e-5, atol=1e-5)
    assert torch.equal(model.predict(data), model.labels_)


@pytest.mark.parametrize("name", ["fitted", "fitted_gcn"])
def test_a_new_graph_is_encoded_on_its_own_edges_and_sent_to_the_nearest_centre(sbm, name, request):
    data, _ = sbm
    model = request.getfixturevalue(name)
    gen = torch.Generator().manual_seed(5)
    keep = torch.randperm(data.num_nodes, generator=gen)[:90]
    edges, _ = subgraph(keep, data.edge_index, relabel_nodes=True, num_nodes=data.num_nodes)
    noise = 0.3 * torch.randn(keep.numel(), data.x.size(1), generator=gen)
    new = Data(x=data.x[keep] + noise, edge_index=edges)
    z = model.transform(new)
    torch.testing.assert_close(z.double(), _dense_encoding(model, new), rtol=1e-4, atol=1e-4)
    nearest = torch.cdist(z, model.cluster_centers_).argmin(dim=1)
    assert torch.equal(model.predict(new), nearest)


@pytest.mark.parametrize("name", ["fitted", "fitted_gcn"])
def test_predict_on_a_node_permuted_graph_returns_the_permuted_labels(sbm, name, request):
    data, _ = sbm
    model = request.getfixturevalue(name)
    perm = torch.randperm(data.num_nodes, generator=torch.Generator().manual_seed(7))
    assert torch.equal(model.predict(_permuted(data, perm)), model.labels_[perm])


def test_transform_and_predict_refuse_other_widths_and_an_unfitted_model(sbm, fitted):
    data, _ = sbm
    narrow = Data(x=data.x[:, :5], edge_index=data.edge_index)
    for method in (fitted.transform, fitted.predict):
        with pytest.raises(ValueError, match="5 features per node.*fitted on 16"):
            method(narrow)
    with pytest.raises(ValueError, match="data.x is missing"):
        fitted.predict(Data(edge_index=data.edge_index, num_nodes=data.num_nodes))
    with pytest.raises(NotFittedError, match="call fit"):
        PamC(n_clusters=K).predict(data)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"meta_nodes": "mean"}, ValueError, "meta_nodes"),
        ({"encoder": "gcn", "batch_size": 16}, ValueError, "batch_size"),
        ({"order": 0}, ValueError, "order"),
        ({"tau": -1.0}, ValueError, "tau"),
        ({"epochs": -2}, ValueError, "epochs"),
        ({"n_clusters": 1000}, ValueError, "exceeds"),
        ({"selection": "best"}, ValueError, "selection"),
        ({"pretrain_epochs": ()}, ValueError, "non-empty"),
        ({"pretrain_epochs": (5, -1)}, ValueError, "pretrain_epochs"),
        ({"pretrain_epochs": (5, 10), "selection": "final"}, ValueError, "label_free"),
        ({"hidden": 32}, ValueError, "hidden must be a tuple"),
        ({"hidden": (32, 0)}, ValueError, "each width in hidden"),
        ({"batch_size": 0}, ValueError, "batch_size must be None or an integer"),
        ({"empty_clusters": "drop"}, ValueError, "empty_clusters must be one of"),
    ],
)
def test_bad_parameters_fail_at_validation(sbm, params, error, match):
    data, _ = sbm
    with pytest.raises(error, match=match):
        PamC(**{"n_clusters": K, **params}).fit(data)


def test_graph_without_features_is_refused():
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=4)
    with pytest.raises(ValueError, match="data.x is missing"):
        PamC(n_clusters=2).fit(data)


def test_graph_without_edges_falls_back_to_the_final_epoch():
    gen = torch.Generator().manual_seed(0)
    data = Data(x=torch.randn(40, 6, generator=gen), edge_index=torch.empty(2, 0, dtype=torch.long))
    with pytest.warns(UserWarning, match="no edges"):
        model = PamC(n_clusters=2, **{**FAST, "epochs": 3}).fit(data)
    assert model.selected_epoch_ == 3
    assert np.isfinite(model.history_["loss"]).all()


def test_candidate_pretraining_lengths_keep_the_best_scored_single_run(sbm):
    # One pre-training run snapshotted at 4 and 15 epochs gives the same two trainings
    # as two separate fits with those lengths; the label-free score picks between them.
    data, _ = sbm
    params = {**FAST, "epochs": 6}
    single = {
        n: PamC(n_clusters=K, seed=1, device="cpu", **{**params, "pretrain_epochs": n}).fit(data)
        for n in (4, 15)
    }
    both = PamC(n_clusters=K, seed=1, device="cpu", **{**params, "pretrain_epochs": (15, 4)})
    both.fit(data)
    best = max(single, key=lambda n: max(single[n].history_["score"]))
    assert both.selected_pretrain_epochs_ == best
    assert torch.equal(both.labels_, single[best].labels_)
    assert torch.equal(both.final_labels_, single[best].final_labels_)
    assert both.selected_epoch_ == single[best].selected_epoch_
    assert both.history_["candidate_pretrain_epochs"] == [4.0, 15.0]
    assert len(both.pretrain_history_) == 15
    assert both.pretrain_history_[:4] == pytest.approx(single[4].pretrain_history_)


def test_a_checkpoint_without_encoder_weights_is_refused_by_name(sbm, tmp_path):
    # Checkpoints written before transform/predict kept the best state as a tuple
    # without the encoder weights it was computed with.
    data, _ = sbm
    path = tmp_path / "pamc.pt"
    params = {**FAST, "epochs": 2, "checkpoint": str(path)}
    PamC(n_clusters=K, **params).fit(data)
    saved = torch.load(path, weights_only=False)
    best = saved["extra"]["best"]
    saved["extra"]["best"] = tuple(best[k] for k in ("pretrain_epochs", "epoch", "q", "z"))
    torch.save(saved, path)
    with pytest.raises(ValueError, match="earlier PamC.*delete it"):
        PamC(n_clusters=K, **params).fit(data)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_a_diverging_fit_says_so_with_its_epoch(batch_size):
    """lr 1e6 drives the embeddings up by orders of magnitude while they stay finite;
    the fit must stop with the epoch instead of returning a collapsed partition."""
    from graphclust.data.synthetic import load_sbm

    data = load_sbm(60, 3, 0.3, 0.02, 8, seed=0)
    model = PamC(
        n_clusters=3,
        encoder="mlp",
        hidden=(16,),
        latent_dim=4,
        pretrain_epochs=2,
        epochs=10,
        lr=1e6,
        batch_size=batch_size,
        progress=False,
    )
    with pytest.raises(FloatingPointError, match=r"PamC embeddings diverged at step \d+"):
        model.fit(data)
