"""GPC: K recovery on a Gaussian mixture with unlabelled classes, pinned labelled rows,
seed reproducibility, the label_fraction door, and bad-input errors."""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import make_blobs
from torch_geometric.data import Data

from graphclust.graph import knn_graph
from graphclust.methods.gpc import GPC, draw_labeled_rows
from graphclust.metrics import nmi

FAST = {"pretrain_epochs": 3, "rounds": 1, "epochs_per_round": 2, "hidden": (16,)}


def _mixture(seed: int, k: int = 6, n: int = 600):
    x, y = make_blobs(n, n_features=6, centers=k, cluster_std=1.0, random_state=seed)
    x = torch.tensor(x, dtype=torch.float32)
    return Data(x=x, edge_index=knn_graph(x, 5)), torch.tensor(y)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("initial_k", ["auto", 9])
def test_recovers_k_with_unlabelled_classes_and_keeps_labelled_rows(seed, initial_k):
    data, y = _mixture(seed)
    mask, known = draw_labeled_rows(y, 0.5, 0.5, seed)  # 3 known classes, 3 new ones
    assert known.numel() == 3
    # merge_known: the free prototypes that the over-clustered start puts inside known
    # classes are absorbed by them (Gaussian classes: the NIW ratio is the right model)
    model = GPC(
        train_encoder=False, normalize=False, initial_k=initial_k, merge_known=True, seed=seed
    )
    model.fit(data, y=y, labeled_mask=mask)
    assert abs(model.n_clusters_ - 6) <= 1
    # clusters 0..n_known-1 are the known classes: labelled rows keep their class
    assert torch.equal(model.known_classes_[model.labels_[mask]], y[mask])
    assert nmi(y, model.labels_) > 0.9
    assert model.soft_assignments_.shape == (600, model.n_clusters_)


@pytest.mark.parametrize("seed", [0, 1])
def test_default_moves_lose_no_new_class(seed):
    """Without merge_known, free clusters inside known classes stay (K may be
    over-counted), but every new class keeps a cluster of its own."""
    data, y = _mixture(seed)
    mask, known = draw_labeled_rows(y, 0.5, 0.5, seed)
    model = GPC(train_encoder=False, normalize=False, seed=seed).fit(data, y, mask)
    assert 6 <= model.n_clusters_ <= 9
    assert torch.equal(model.known_classes_[model.labels_[mask]], y[mask])
    for c in set(range(6)) - set(known.tolist()):
        share = torch.bincount(model.labels_[y == c]).max() / int((y == c).sum())
        assert share > 0.95 and model.labels_[y == c].mode().values >= known.numel()


def test_trained_encoder_runs_and_keeps_labelled_rows():
    data, y = _mixture(2, k=4, n=300)
    mask, _ = draw_labeled_rows(y, 0.5, 0.5, 0)
    for encoder in ("mlp", "gcn"):
        model = GPC(encoder=encoder, latent_dim=8, seed=0, **FAST).fit(data, y, mask)
        assert torch.equal(model.known_classes_[model.labels_[mask]], y[mask])
        assert model.embeddings_.shape == (300, 8)
        assert len(model.history_["loss"]) == 2
        # the trained embeddings still separate the 4 blobs (unlabelled rows included)
        assert nmi(y, model.labels_) > 0.85
        assert nmi(y[~mask], model.labels_[~mask]) > 0.8
        soft = model.soft_assignments_
        assert soft.shape == (300, model.n_clusters_)
        torch.testing.assert_close(soft.sum(1), torch.ones(300))


def test_seed_reproducibility():
    data, y = _mixture(3, k=4, n=300)
    mask, _ = draw_labeled_rows(y, 0.5, 0.5, 0)
    runs = [GPC(latent_dim=8, seed=5, **FAST).fit(data, y, mask) for _ in range(2)]
    assert torch.equal(runs[0].labels_, runs[1].labels_)
    assert torch.equal(runs[0].embeddings_, runs[1].embeddings_)


def test_label_fraction_draws_from_data_y_only_when_asked():
    data, y = _mixture(4, k=4, n=300)
    data.y = y
    with pytest.raises(ValueError, match="semi-supervised"):
        GPC(train_encoder=False).fit(data)
    model = GPC(train_encoder=False, label_fraction=0.5, label_seed=1).fit(data)
    mask, known = draw_labeled_rows(y, 0.5, 0.5, 1)
    assert torch.equal(model.labeled_mask_, mask)
    assert torch.equal(model.known_classes_, known)
    assert int(mask.sum()) == sum(round(0.5 * int((y == c).sum())) for c in known.tolist())


def test_draw_labeled_rows_protocol():
    y = torch.arange(10).repeat_interleave(20)
    mask, known = draw_labeled_rows(y, 0.5, 0.5, 0)
    assert known.numel() == 5
    assert set(y[mask].unique().tolist()) == set(known.tolist())
    assert int(mask.sum()) == 5 * 10
    with pytest.raises(ValueError, match="label_fraction"):
        draw_labeled_rows(y, 0.5, 0.0)


def test_labelled_rows_as_a_mask_or_as_indices_give_one_fit():
    data, y = _mixture(5, k=3, n=60)
    mask = torch.zeros(60, dtype=torch.bool)
    mask[::6] = True
    by_mask = GPC(train_encoder=False, seed=0).fit(data, y, mask)
    index = mask.nonzero().flatten()
    by_index = GPC(train_encoder=False, seed=0).fit(data, y[index], index)
    assert torch.equal(by_mask.labels_, by_index.labels_)
    assert torch.equal(by_index.labeled_mask_, mask)


def test_bad_inputs_name_the_argument():
    data, y = _mixture(5, k=3, n=60)
    mask = torch.zeros(60, dtype=torch.bool)
    mask[:10] = True
    model = GPC(train_encoder=False)
    with pytest.raises(ValueError, match="labeled_mask has 50 entries, the graph 60"):
        model.fit(data, y, mask[:50])
    with pytest.raises(ValueError, match="lists a row twice"):
        model.fit(data, y, mask.long())  # 0/1 values read as row indices
    with pytest.raises(ValueError, match="no row"):
        model.fit(data, y, torch.zeros(60, dtype=torch.bool))
    with pytest.raises(ValueError, match="class ids >= 0"):
        model.fit(data, torch.full((60,), -1), mask)
    with pytest.raises(TypeError, match="y must be an integer tensor"):
        model.fit(data, y.float(), mask)
    with pytest.raises(ValueError, match="both y and labeled_mask"):
        model.fit(data, y=y)
    with pytest.raises(ValueError, match="GPC is semi-supervised"):
        model.fit(data)
    with pytest.raises(ValueError, match="either to fit or by label_fraction"):
        GPC(train_encoder=False, label_fraction=0.5).fit(data, y, mask)
    with pytest.raises(ValueError, match="split_accept_prob"):
        GPC(train_encoder=False, split_accept_prob=2.0).fit(data, y, mask)
    with pytest.raises(ValueError, match="initial_k"):
        GPC(train_encoder=False, initial_k=1).fit(data, y, mask)
    with pytest.raises(ValueError, match="encoder"):
        GPC(encoder="gat").fit(data, y, mask)
