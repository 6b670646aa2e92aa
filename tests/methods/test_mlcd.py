"""MLCD: positives are the l nearest centres, sampled negatives, seeds, inputs, no NaN."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from graphclust.losses import positive_centres
from graphclust.methods.mlcd import MLCD
from graphclust.metrics import clustering_accuracy

torch.set_num_threads(1)


def _graph(n_per: int = 30, k: int = 3, seed: int = 0) -> Data:
    """Attributed SBM: k dense blocks, block-shifted Gaussian features."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(k).repeat_interleave(n_per)
    x = torch.randn(n_per * k, 8, generator=gen) + 3 * torch.eye(k, 8)[y]
    same = y[:, None] == y[None, :]
    p = torch.where(same, 0.3, 0.01)
    adj = torch.rand(len(y), len(y), generator=gen) < p
    adj = torch.triu(adj, 1)
    edge_index = torch.cat([adj.nonzero().T, adj.nonzero().T.flip(0)], dim=1)
    return Data(x=x, edge_index=edge_index, y=y)


def _images(n: int = 48) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    img = torch.zeros(n, 1, 8, 8)
    img[: n // 2, :, 2:6, 1:3] = 1.0  # vertical bars
    img[n // 2 :, :, 1:3, 2:6] = 1.0  # horizontal bars
    return (img + 0.1 * torch.rand(img.shape, generator=gen)).clamp(0, 1)


SMALL = dict(n_clusters=3, n_centres=12, n_positive=2, rounds=2, epochs=2, progress=False)


@pytest.mark.parametrize("encoder", ["mlp", "gcn"])
def test_graph_fit_outputs(encoder):
    data = _graph()
    model = MLCD(encoder=encoder, hidden=(16,), embedding_dim=8, batch_size=32, **SMALL)
    labels = model.fit_predict(data)
    assert labels.shape == (90,) and model.embeddings_.shape == (90, 8)
    assert torch.isfinite(model.embeddings_).all()
    assert torch.isfinite(torch.tensor(model.history_["loss"])).all()
    assert model.positives_.shape == (90, 2) and model.centres_.shape == (12, 8)
    assert torch.allclose(model.embeddings_.norm(dim=1), torch.ones(90), atol=1e-5)
    assert len(model.history_["loss"]) == 4  # rounds x epochs
    assert "y" in data  # caller's data untouched


def test_positives_are_the_l_nearest_centres_of_the_clustered_embeddings():
    data = _graph()
    model = MLCD(encoder="mlp", hidden=(16,), embedding_dim=8, batch_size=32, **SMALL)
    seen = {}
    original = MLCD._train_round

    def spy(self, net, head, inputs, positives, sampler, round_):
        seen[round_] = (self._embed(net, inputs).clone(), positives.clone())
        return original(self, net, head, inputs, positives, sampler, round_)

    MLCD._train_round = spy
    try:
        model.fit(data)
    finally:
        MLCD._train_round = original
    z, positives = seen[1]  # round 1 clusters the embeddings the round-0 training left
    cos = z @ model.centres_.T
    want = cos.argsort(dim=1, descending=True)[:, :2]
    assert torch.equal(positives, want)
    assert torch.equal(positives, positive_centres(z, model.centres_, 2))
    # round 0 clusters the input features: its targets index the same 12 centres
    assert int(seen[0][1].max()) < 12


def test_negative_ratio_reaches_the_loss():
    data = _graph()
    counts = []
    import graphclust.methods.mlcd as mod

    original = mod.multilabel_cluster_loss

    def spy(scores, positives, negatives=None, margin=0.0):
        counts.append(None if negatives is None else negatives.shape[1])
        return original(scores, positives, negatives, margin)

    mod.multilabel_cluster_loss = spy
    try:
        MLCD(encoder="mlp", hidden=(16,), embedding_dim=8, negative_ratio=0.5, **SMALL).fit(data)
        MLCD(encoder="mlp", hidden=(16,), embedding_dim=8, negative_ratio=1.0, **SMALL).fit(data)
    finally:
        mod.multilabel_cluster_loss = original
    half, full = counts[: len(counts) // 2], counts[len(counts) // 2 :]
    assert set(half) == {5}  # round(0.5 * (12 - 2))
    assert set(full) == {None}  # all 10 negatives, no sampling


def test_seed_reproducible_and_seed_matters():
    data = _graph()
    kw = dict(encoder="gcn", hidden=(16,), embedding_dim=8, **SMALL)
    a = MLCD(seed=1, **kw).fit(data)
    b = MLCD(seed=1, **kw).fit(data)
    c = MLCD(seed=2, **kw).fit(data)
    assert torch.equal(a.embeddings_, b.embeddings_) and torch.equal(a.labels_, b.labels_)
    assert not torch.equal(a.embeddings_, c.embeddings_)


def test_images_fit_and_learn_the_two_shapes():
    images = _images()
    model = MLCD(
        n_clusters=2,
        n_centres=8,
        n_positive=2,
        rounds=2,
        epochs=3,
        width=4,
        hidden_dim=16,
        embedding_dim=8,
        batch_size=16,
        lr=1e-2,
        progress=False,
        prototypes="fixed",
        init_features="encoder",
    ).fit(images)
    assert model.embeddings_.shape == (48, 8) and torch.isfinite(model.embeddings_).all()
    truth = (torch.arange(48) >= 24).long()
    assert clustering_accuracy(truth, model.labels_) >= 0.9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_centres": 3}, "n_centres"),
        ({"n_centres": 1000}, "n_centres"),
        ({"n_positive": 12}, "n_positive"),
        ({"negative_ratio": 0.0}, "negative_ratio"),
        ({"negative_ratio": 1.5}, "negative_ratio"),
        ({"scale": -1.0}, "scale"),
        ({"encoder": "cnn"}, "encoder"),
        ({"prototypes": "fixed"}, "init_features"),
        ({"prototypes": "frozen"}, "prototypes"),
        ({"rounds": 0}, "rounds"),
    ],
)
def test_bad_parameters(kwargs, match):
    params = {**SMALL, **kwargs}
    with pytest.raises(ValueError, match=match):
        MLCD(**params).fit(_graph())


def test_bad_inputs():
    with pytest.raises(ValueError, match="encoder"):
        MLCD(encoder="mlp", **SMALL).fit(_images())
    with pytest.raises((TypeError, ValueError)):
        MLCD(**SMALL).fit("not data")
    with pytest.raises(ValueError, match="x is missing"):
        MLCD(**SMALL).fit(Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2))
