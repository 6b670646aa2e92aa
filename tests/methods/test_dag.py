"""DAG: fits a small SBM, is deterministic, never reads labels, and keeps the checkpoint
with the best modularity x Calinski-Harabasz; its pieces against hand computations."""

from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph

from graphclust.methods.dag import (
    AUTO_CHECK_EPOCH,
    DAG,
    DEAD_TOP_SHARE,
    PRESETS,
    CheckpointSelector,
    affiliation_labels,
    community_shares,
    community_sizes,
    count_communities,
    dead_readout,
    selection_score,
)
from graphclust.methods.ksearch import default_k_max, kmeans_k_search
from graphclust.metrics import calinski_harabasz, modularity, nmi
from tests.property.cases import Hang, hang_guard

# the paper's model (joint training, argmax read-out) at a tiny width; tests of the
# presets say which preset they use
SMALL = {"preset": "paper", "k_max": 8, "hidden": 16, "heads": 2, "weight_decay": 0.0}


def stochastic_sbm_features(n_blocks: int, size: int) -> Data:
    """A larger planted graph (p_in 0.05, p_out 0.002) with 64 noisy block-mean features:
    enough edges (~40k directed for 8 x 250) for CPU kernels to split work over threads."""
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    probs = torch.full((n_blocks, n_blocks), 0.002)
    probs.fill_diagonal_(0.05)
    edge_index = stochastic_blockmodel_graph([size] * n_blocks, probs)
    y = torch.arange(n_blocks).repeat_interleave(size)
    x = torch.randn(n_blocks, 64, generator=g)[y] + torch.randn(n_blocks * size, 64, generator=g)
    return Data(x=x, edge_index=edge_index, y=y)


def _sbm(seed: int = 0, k: int = 4, n: int = 30) -> Data:
    """k planted blocks of n nodes (p_in 0.3, p_out 0.02) with noisy block-mean features."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    probs = torch.full((k, k), 0.02)
    probs.fill_diagonal_(0.3)
    edge_index = stochastic_blockmodel_graph([n] * k, probs)
    y = torch.arange(k).repeat_interleave(n)
    x = torch.randn(k, 8, generator=g)[y] + 0.8 * torch.randn(n * k, 8, generator=g)
    return Data(x=x, edge_index=edge_index, y=y)


@pytest.fixture(scope="module")
def fitted() -> tuple[DAG, Data]:
    data = _sbm()
    return DAG(**SMALL, lr=1e-2, epochs=200, eval_every=25, seed=0).fit(data), data


def test_finds_the_planted_communities(fitted: tuple[DAG, Data]) -> None:
    model, data = fitted
    # 4 planted blocks; on so small a graph two of them are sometimes merged
    assert 3 <= model.n_clusters_ <= 5
    assert nmi(data.y, model.labels_) >= 0.75
    assert model.labels_.unique().tolist() == list(range(model.n_clusters_))


def test_fitted_attributes(fitted: tuple[DAG, Data]) -> None:
    model, data = fitted
    n, k = data.num_nodes, model.n_clusters_
    assert model.soft_assignments_.shape == (n, k)
    torch.testing.assert_close(model.soft_assignments_.sum(1), torch.ones(n))
    assert bool((model.soft_assignments_ >= 0).all())
    assert model.embeddings_.shape == (n, SMALL["hidden"])
    h = model.history_
    assert len(h["loss"]) == len(h["k_train"]) == len(h["w_col_norms"]) == 200
    assert all(len(norms) == SMALL["k_max"] for norms in h["w_col_norms"])
    assert h["eval_epoch"] == [float(e) for e in range(25, 201, 25)]
    assert len(h["k"]) == len(h["modularity"]) == len(h["selection_score"]) == 8


def test_selected_checkpoint_is_the_best_evaluated(fitted: tuple[DAG, Data]) -> None:
    model, data = fitted
    scores = model.history_["selection_score"]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))  # first maximum
    assert model.selected_epoch_ == int(model.history_["eval_epoch"][best])
    assert model.n_clusters_ == int(model.history_["k"][best])
    # the stored score is what the metrics give for the kept partition
    q = modularity(data.edge_index, model.labels_)
    ch = calinski_harabasz(data.x, model.labels_)
    assert scores[best] == pytest.approx(q * ch, rel=1e-5)


def test_deterministic_by_seed() -> None:
    data = _sbm(seed=1)
    first = DAG(**SMALL, epochs=10, eval_every=5, seed=5).fit(data)
    second = DAG(**SMALL, epochs=10, eval_every=5, seed=5).fit(data)
    assert torch.equal(first.labels_, second.labels_)
    assert first.history_["loss"] == second.history_["loss"]
    other = DAG(**SMALL, epochs=10, eval_every=5, seed=6).fit(data)
    assert other.history_["loss"] != first.history_["loss"]


def test_labels_are_never_read() -> None:
    data = _sbm(seed=1)
    without_y = Data(x=data.x, edge_index=data.edge_index)
    shuffled = Data(x=data.x, edge_index=data.edge_index, y=data.y[torch.randperm(120)])
    runs = [
        DAG(**SMALL, epochs=10, eval_every=5, seed=0).fit(d) for d in (data, without_y, shuffled)
    ]
    for run in runs[1:]:
        assert torch.equal(run.labels_, runs[0].labels_)
        assert run.history_["loss"] == runs[0].history_["loss"]


def test_sampled_subgraph_mode_trains() -> None:
    data = _sbm(seed=0)
    model = DAG(**SMALL, epochs=5, eval_every=5, batch_size=40, seed=0).fit(data)
    assert model.labels_.shape == (120,)
    assert len(model.history_["loss"]) == 5


def test_chunked_evaluation_gives_the_same_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sampled mode encodes large graphs in destination chunks at evaluation; forcing
    chunks of a few edges on a small graph must not change the result."""
    import graphclust.methods.dag_selection as selection_module

    data = _sbm(seed=0)
    settings = {**SMALL, "epochs": 4, "eval_every": 2, "batch_size": 40, "seed": 0}
    whole = DAG(**settings).fit(data)
    monkeypatch.setattr(selection_module, "EVAL_CHUNK_EDGES", 16)
    chunked = DAG(**settings).fit(data)
    assert torch.equal(whole.labels_, chunked.labels_)
    torch.testing.assert_close(whole.embeddings_, chunked.embeddings_, atol=1e-5, rtol=1e-5)


def test_time_limit_stops_training_and_keeps_a_checkpoint() -> None:
    model = DAG(**SMALL, epochs=10_000, eval_every=5_000, max_time_s=0.5, seed=0).fit(_sbm())
    assert model.epochs_run_ < 10_000
    assert model.history_["eval_epoch"] == [float(model.epochs_run_)]
    assert model.labels_.shape == (120,)


def test_sparsity_warmup_ramps_beta() -> None:
    model = DAG(**SMALL, epochs=6, eval_every=6, beta=0.4, sparsity_warmup=4).fit(_sbm())
    assert model.history_["beta"] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4, 0.4])


def test_detached_readout_leaves_the_encoder_to_the_reconstruction() -> None:
    """With ``detach_readout`` the encoder's update does not depend on alpha (BPR)."""
    data = _sbm()

    def encoder_after_one_epoch(alpha: float, detach: bool) -> torch.Tensor:
        model = DAG(**SMALL, epochs=1, alpha=alpha, detach_readout=detach, seed=3).fit(data)
        return torch.cat([p.detach().flatten() for p in model._mae.encoder.parameters()])

    torch.testing.assert_close(
        encoder_after_one_epoch(0.0, True), encoder_after_one_epoch(1.0, True)
    )
    assert not torch.allclose(
        encoder_after_one_epoch(0.0, False), encoder_after_one_epoch(1.0, False)
    )


def test_detached_encoder_does_not_depend_on_the_readout_norm() -> None:
    """With ``detach_readout`` the encoder trains identically whatever the readout's
    normalisation, over several epochs: readout_norm="auto" (a restart with "layer")
    can change the kept checkpoint and C, never the embeddings of an epoch (the
    claim behind experiments/dag's "detachauto" suite)."""
    data = _sbm()

    def fit(norm: str) -> DAG:
        return DAG(
            **SMALL, epochs=5, eval_every=5, detach_readout=True, readout_norm=norm, seed=3
        ).fit(data)

    plain, layer = fit("none"), fit("layer")
    torch.testing.assert_close(plain.embeddings_, layer.embeddings_, rtol=0, atol=0)
    # the readouts themselves did train differently
    assert plain.history_["bpr"] != pytest.approx(layer.history_["bpr"])


def test_joint_training_repeats_bit_for_bit_on_two_threads() -> None:
    """The BPR gradient reaches the encoder through gathers of C; a getitem gather
    (backward: index_put_ with accumulate) summed in a thread-dependent order on CPU,
    so two-thread fits of one seed differed by ~1e-6 after 20 epochs and training
    amplified it. With index_select (backward: index_add_) they repeat exactly."""
    data = stochastic_sbm_features(n_blocks=8, size=250)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = [
            DAG(hidden=32, heads=2, k_max=16, epochs=15, eval_every=15, seed=0).fit(data)
            for _ in range(2)
        ]
    finally:
        torch.set_num_threads(previous)
    torch.testing.assert_close(runs[0].embeddings_, runs[1].embeddings_, rtol=0, atol=0)


def _star(n: int) -> torch.Tensor:
    hub, leaves = torch.zeros(n - 1, dtype=torch.long), torch.arange(1, n)
    return torch.cat([torch.stack([hub, leaves]), torch.stack([leaves, hub])], dim=1)


def _complete(n: int) -> torch.Tensor:
    pairs = torch.ones(n, n).nonzero().t()
    return pairs[:, pairs[0] != pairs[1]]


@pytest.mark.parametrize("batch_size", [None, 4])
@pytest.mark.parametrize("graph", ["star", "complete but one pair"])
def test_fits_graphs_with_a_node_linked_to_every_other_one(graph: str, batch_size) -> None:
    """Issue 24: PyG's negative sampler drew again forever for a node without a
    non-neighbour (a star's hub), so fit never returned. Its triples now leave the BPR
    loss; the leaves' triples still train it."""
    n = 10
    if graph == "star":
        edge_index = _star(n)
    else:
        edge_index = _complete(n)
        edge_index = edge_index[:, ~((edge_index[0] < 2) & (edge_index[1] < 2))]
    x = torch.randn(n, 4, generator=torch.Generator().manual_seed(0))
    settings = {**SMALL, "k_max": 4, "epochs": 3, "eval_every": 3, "progress": False}
    model = DAG(**settings, batch_size=batch_size)
    try:
        with hang_guard(f"DAG.fit ({graph})", seconds=30):
            model.fit(Data(x=x, edge_index=edge_index))
    except Hang as hang:
        pytest.fail(str(hang))
    assert model.labels_.shape == (n,) and len(model.history_["bpr"]) == 3
    if batch_size is None:  # the whole graph: some triple exists, its loss is > 0
        assert all(math.isfinite(v) and v > 0 for v in model.history_["bpr"])


def test_a_complete_graph_is_refused_by_name() -> None:
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="needs two nodes that are not linked"):
        DAG(**{**SMALL, "k_max": 4}, epochs=1).fit(Data(x=x, edge_index=_complete(6)))


def test_sparse_features_train_in_both_modes() -> None:
    """Bag-of-words-like features (under 10% non-zero) take the sparse path."""
    data = _sbm(seed=0)
    g = torch.Generator().manual_seed(0)
    sparse_x = (torch.rand(120, 200, generator=g) < 0.03).float()
    sparse_x[torch.arange(120), data.y] = 1.0  # every row non-empty
    graph = Data(x=sparse_x, edge_index=data.edge_index)
    for batch_size in (None, 40):
        model = DAG(**SMALL, epochs=3, eval_every=3, batch_size=batch_size).fit(graph)
        assert model.labels_.shape == (120,)


def test_selection_score_guards_degenerate_partitions() -> None:
    assert selection_score(0.5, 10.0, 3) == pytest.approx(5.0)
    assert selection_score(0.0, 0.0, 1) == -math.inf
    assert selection_score(float("nan"), 2.0, 3) == -math.inf
    assert selection_score(-0.1, 10.0, 2) == pytest.approx(-1.0)


def test_checkpoint_selector_keeps_the_maximum() -> None:
    selector = CheckpointSelector()
    kept = [
        selector.offer(s, step, f"p{step}")
        for step, s in enumerate([-math.inf, 1.0, 3.0, 2.0, 3.0, -1.0])
    ]
    assert kept == [True, True, True, False, False, False]
    assert (selector.best_step, selector.best_score, selector.best) == (2, 3.0, "p2")
    only_degenerate = CheckpointSelector()
    only_degenerate.offer(-math.inf, 7, "first")
    only_degenerate.offer(-math.inf, 8, "second")
    assert only_degenerate.best == "first"


def test_affiliation_labels_and_shares() -> None:
    c = torch.tensor([[0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 3.0]])
    scores = torch.tensor(
        [[-1.0, 2.0, -3.0, 1.0], [-2.0, -0.5, -1.0, -3.0], [-1.0, 0.5, -2.0, 3.0]]
    )
    labels, columns = affiliation_labels(c, scores)
    # row 1 is all zero: its label comes from the pre-activation argmax (column 1)
    assert columns.tolist() == [1, 3]
    assert labels.tolist() == [0, 0, 1]
    assert count_communities(c, scores).item() == 2.0  # same K, computed without a sync
    sizes = community_sizes(c, scores)
    assert sizes.sum().item() == c.size(0) and int((sizes > 0).sum()) == 2
    shares = community_shares(c, columns)
    torch.testing.assert_close(
        shares, torch.tensor([[2 / 3, 1 / 3], [0.5, 0.5], [0.5 / 3.5, 3.0 / 3.5]])
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k_max": 1}, "k_max"),
        ({"k_max": 500}, "k_max"),
        ({"hidden": 10, "heads": 3}, "multiple of heads"),
        ({"mask_rate": 0.0}, "mask_rate"),
        ({"readout": "sigmoid"}, "readout"),
        ({"readout_norm": "batch"}, "readout_norm"),
        ({"batch_size": 1}, "batch_size"),
        ({"bpr_scale": "max"}, "bpr_scale"),
        ({"sparsity_warmup": -1}, "sparsity_warmup"),
        ({"max_time_s": 0.0}, "max_time_s"),
        ({"decoder_layers": 3}, "decoder_layers"),
        ({"decoder_factorized": "no"}, "decoder_factorized"),
        ({"k_readout": "spectral"}, "k_readout"),
        ({"k_readout": "kmeans", "k_max": 120}, "k_max <= N - 1"),
        ({"selection": "best"}, "selection must be one of 'argmax', 'readout'"),
        ({"remask": "one"}, "remask"),
        ({"progress": 1}, "progress must be True or False"),
        ({"max_features": 1}, "max_features must be None or an integer >= 2"),
        ({"hidden": 0}, "hidden must be an integer >= 1"),
        ({"input_dropout": 1.0}, "input_dropout"),
        ({"preset": "tpu"}, "preset must be one of 'auto', 'cpu', 'gpu', 'paper'"),
    ],
)
def test_bad_parameters_are_refused(params: dict, message: str) -> None:
    settings = {**SMALL, "epochs": 1, **params}
    with pytest.raises(ValueError, match=message):
        DAG(**settings).fit(_sbm())


def test_layer_norm_readout_leaves_the_zero_saddle_of_one_hot_features() -> None:
    # One-hot features give a small H, so C ~ 0 and the BPR gradient (proportional to
    # C) vanishes: with the paper's readout the per-edge BPR stays near ln 2 and one
    # community takes every node; standardising H's rows lets the readout learn, and
    # "auto" sees the dead readout at its check and restarts as "layer".
    data = _sbm(seed=0)
    data.x = torch.eye(data.num_nodes)
    edges = data.edge_index.size(1)
    runs = {
        norm: DAG(
            preset="paper",
            k_max=8,
            hidden=16,
            heads=2,
            epochs=100,
            eval_every=25,
            readout_norm=norm,
            seed=0,
        ).fit(data)
        for norm in ("none", "layer", "auto")
    }
    assert min(runs["none"].history_["bpr"]) / edges > 0.65
    assert runs["none"].n_clusters_ == 1
    assert runs["layer"].history_["bpr"][-1] / edges < 0.5
    assert nmi(data.y, runs["layer"].labels_) > 0.7
    auto = runs["auto"]
    assert auto.readout_norm_ == "layer" and runs["none"].readout_norm_ == "none"
    assert auto.readout_check_["dead"] and "ln 2" in auto.readout_check_["reason"]
    assert auto.readout_check_["epoch"] == AUTO_CHECK_EPOCH
    assert torch.equal(auto.labels_, runs["layer"].labels_)
    assert auto.history_ == runs["layer"].history_


def test_auto_readout_norm_keeps_a_readout_that_learns(fitted: tuple[DAG, Data]) -> None:
    paper, data = fitted
    auto = DAG(**SMALL, lr=1e-2, epochs=200, eval_every=25, readout_norm="auto", seed=0)
    auto.fit(data)
    check = auto.readout_check_
    assert not check["dead"] and check["reason"] is None
    assert check["per_edge_bpr"] < 0.6 and check["top_share"] < DEAD_TOP_SHARE
    assert auto.readout_norm_ == "none"
    assert torch.equal(auto.labels_, paper.labels_)
    assert auto.history_ == paper.history_


def test_auto_readout_norm_does_not_check_short_runs() -> None:
    data = _sbm()
    data.x = torch.eye(data.num_nodes)  # dead readout, but the run ends before the check
    short = {**SMALL, "epochs": AUTO_CHECK_EPOCH, "eval_every": 10, "seed": 0}
    auto = DAG(**short, readout_norm="auto").fit(data)
    paper = DAG(**short).fit(data)
    assert auto.readout_check_ is None and auto.readout_norm_ == "none"
    assert torch.equal(auto.labels_, paper.labels_)


def test_dead_readout_against_hand_cases() -> None:
    ln2 = math.log(2.0)
    assert dead_readout([ln2] * 3, [0.3] * 3).startswith("per-edge BPR 0.6931")
    assert dead_readout([0.99 * ln2, ln2], [0.3, 0.3]) is not None  # mean 0.995 ln 2
    assert dead_readout([0.97 * ln2], [0.3]) is None  # just under the 0.98 ln 2 line
    assert dead_readout([0.5, 0.4], [1.0, 0.9]) == (
        "the largest community holds 95.0% of the nodes (>= 80%)"
    )
    assert dead_readout([0.5, 0.4], [0.9, 0.6]) is None  # mean 0.75
    with pytest.raises(ValueError, match="one BPR value and one top share"):
        dead_readout([0.5], [1.0, 0.5])
    with pytest.raises(ValueError, match="at least one"):
        dead_readout([], [])


def test_is_k_free_and_has_no_n_clusters() -> None:
    assert DAG.k_free
    assert "n_clusters" not in DAG().get_params()


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("factorized", [True, False])
def test_decoder_choice_reaches_the_model_and_fits(layers: int, factorized: bool) -> None:
    model = DAG(
        **SMALL,
        epochs=3,
        eval_every=3,
        decoder_layers=layers,
        decoder_factorized=factorized,
        seed=0,
    ).fit(_sbm())
    convs = model._mae.decoder.gat.convs
    assert len(convs) == layers
    # plain: the last GATConv itself maps to the D features; factorised: to hidden
    d = _sbm().num_features
    assert convs[-1].out_channels == (SMALL["hidden"] if factorized else d)
    assert model.get_params()["decoder_factorized"] == factorized
    assert all(math.isfinite(v) for v in model.history_["sce"])


def test_kmeans_k_readout_reads_the_partition_from_the_embeddings() -> None:
    data = _sbm()
    settings = {**SMALL, "lr": 1e-2, "epochs": 100, "eval_every": 25, "seed": 0}
    model = DAG(**settings, k_readout="kmeans").fit(data)
    paper = DAG(**settings).fit(data)
    # the same training and selection; only the read-out differs
    assert model.history_["loss"] == paper.history_["loss"]
    assert model.selected_epoch_ == paper.selected_epoch_
    torch.testing.assert_close(model.embeddings_, paper.embeddings_)
    assert model.k_argmax_ == paper.n_clusters_ == paper.k_argmax_
    # one fit gives both read-outs: the paper's partition is kept beside the k-means one
    assert torch.equal(model.labels_argmax_, paper.labels_)
    assert torch.equal(paper.labels_argmax_, paper.labels_)
    assert paper.k_search_ is None
    # the partition is the search's best K on the kept embeddings
    found = kmeans_k_search(model.embeddings_, data.edge_index, range(2, 9), seed=0)
    assert sorted(model.k_search_) == list(range(2, 9))
    assert model.k_search_ == found.scores
    assert torch.equal(model.labels_, found.labels)
    assert model.n_clusters_ == found.n_clusters
    assert 3 <= model.n_clusters_ <= 5
    assert nmi(data.y, model.labels_) >= 0.75
    n, k = data.num_nodes, model.n_clusters_
    assert model.soft_assignments_.shape == (n, k)
    torch.testing.assert_close(model.soft_assignments_.sum(1), torch.ones(n))


def test_readout_selection_scores_the_kmeans_partition_of_every_checkpoint() -> None:
    data = _sbm()
    settings = {**SMALL, "lr": 1e-2, "epochs": 100, "eval_every": 25, "seed": 0}
    model = DAG(**settings, k_readout="kmeans", selection="readout").fit(data)
    paper_selection = DAG(**settings, k_readout="kmeans").fit(data)
    # the selection never changes the training
    assert model.history_["loss"] == paper_selection.history_["loss"]
    h = model.history_
    assert len(h["readout_k"]) == len(h["readout_selection_score"]) == len(h["eval_epoch"]) == 4
    # the kept checkpoint is the first maximum of the k-means partitions' scores
    scores = h["readout_selection_score"]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    assert model.selected_epoch_ == int(h["eval_epoch"][best])
    assert model.n_clusters_ == int(h["readout_k"][best])
    # its score is modularity x CH on the input features of the returned partition,
    # recomputed here from the metrics
    q = modularity(data.edge_index, model.labels_)
    ch = calinski_harabasz(data.x, model.labels_)
    assert scores[best] == pytest.approx(q * ch, rel=1e-5)
    assert h["readout_modularity"][best] == pytest.approx(q, rel=1e-5)
    # the returned partition is the search on the kept embeddings, not searched again
    found = kmeans_k_search(model.embeddings_, data.edge_index, range(2, 9), seed=0)
    assert torch.equal(model.labels_, found.labels)
    assert model.k_search_ == found.scores
    assert nmi(data.y, model.labels_) >= 0.75
    # the argmax partitions are still logged and kept beside
    assert len(h["selection_score"]) == 4
    assert model.k_argmax_ == int(h["k"][best])


def test_readout_selection_with_the_argmax_readout_is_the_papers() -> None:
    data = _sbm()
    settings = {**SMALL, "lr": 1e-2, "epochs": 50, "eval_every": 25, "seed": 0}
    model = DAG(**settings, selection="readout").fit(data)
    paper = DAG(**settings).fit(data)
    assert model.selected_epoch_ == paper.selected_epoch_
    assert torch.equal(model.labels_, paper.labels_)
    assert "readout_k" not in model.history_


def test_presets_fill_what_is_left_at_none_and_auto_follows_the_device():
    cpu = DAG().settings(2708, "cpu")
    assert cpu["preset"] == "cpu" and cpu == {"preset": "cpu", **PRESETS["cpu"], "k_max": 105}
    assert DAG().settings(2708, "cuda")["preset"] == "gpu"
    paper = DAG(preset="paper", hidden=32, k_max=10).settings(500)
    assert paper["hidden"] == 32 and paper["heads"] == 4 and paper["epochs"] == 1500
    assert paper["k_max"] == 10 and paper["detach_readout"] is False
    assert paper["k_readout"] == "argmax"
    with pytest.raises(ValueError, match="preset must be"):
        DAG(preset="laptop").fit(_sbm())


def test_cpu_preset_fit_records_its_settings_and_reduces_wide_features():
    data = _sbm()
    data.x = torch.cat([data.x, torch.zeros(data.num_nodes, 300)], dim=1)  # 308 columns
    model = DAG(preset="cpu", hidden=16, epochs=4, eval_every=2, progress=False, seed=0).fit(data)
    assert model.settings_["max_features"] == 256 and model.settings_["k_readout"] == "kmeans"
    assert model.config_["settings"] == model.settings_
    # the encoder saw at most 256 SVD components (N - 1 = 119 here), not the 308 columns
    shapes = [tuple(param.shape) for param in model._mae.parameters()]
    assert not any(308 in shape for shape in shapes)
    assert any(119 in shape for shape in shapes)
    assert model.settings_["k_max"] == default_k_max(data.num_nodes)
    assert 2 <= model.n_clusters_ <= model.settings_["k_max"]


def test_progress_bar_goes_to_stderr_and_can_be_silenced(capsys):
    data = _sbm()
    DAG(**SMALL, epochs=3, eval_every=3, progress=True).fit(data)
    assert "DAG" in capsys.readouterr().err
    DAG(**SMALL, epochs=3, eval_every=3, progress=False).fit(data)
    assert "DAG" not in capsys.readouterr().err
