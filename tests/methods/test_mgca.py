"""MGCA: the cross-view loss by hand, frozen prototypes, single-view ablations, contract."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data

from graphclust.data.synthetic import load_sbm
from graphclust.methods.mgca import MGCA
from graphclust.metrics import nmi

TINY = dict(
    embedding_dim=8,
    hidden=(16,),
    epochs=3,
    warmup_epochs=0,
    kmeans_n_init=2,
    progress=False,
    device="cpu",
)


def _graph(n: int = 24, seed: int = 0) -> Data:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 6, generator=gen)
    ring = torch.arange(n)
    edge_index = torch.stack([ring, (ring + 1) % n])
    return Data(x=x, edge_index=torch.cat([edge_index, edge_index.flip(0)], dim=1))


class MeanNeighbourLinear(nn.Module):
    """``x -> (mean over {i} and i's neighbours of x_j) W``: a structure encoder whose
    output the test recomputes densely."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.lin = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.lin(_mean_neighbours(x, edge_index))


def _mean_neighbours(x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    a = torch.eye(x.shape[0])
    a[edge_index[0], edge_index[1]] = 1.0
    return (a / a.sum(dim=1, keepdim=True)) @ x


def _swav_sinkhorn(scores: torch.Tensor, eps: float, n_iters: int) -> torch.Tensor:
    """SwAV's released ``distributed_sinkhorn`` (plain exponent), in float64."""
    q = torch.exp(scores.double() / eps).t()  # [K, B]
    k, b = q.shape
    q /= q.sum()
    for _ in range(n_iters):
        q /= q.sum(dim=1, keepdim=True)
        q /= k
        q /= q.sum(dim=0, keepdim=True)
        q /= b
    return (q * b).t()


def test_loss_is_the_hand_written_cross_view_cross_entropy() -> None:
    """Epoch 0's loss = 1/2 [CE(q_v, softmax(C t / 0.2)) + CE(q_t, softmax(C v / 0.2))]."""
    data = _graph(12)
    torch.manual_seed(1)
    enc_a, enc_b = nn.Linear(6, 4), MeanNeighbourLinear(6, 4)
    params = dict(TINY, embedding_dim=4, epochs=1, feature_mask=0.0, edge_drop=0.0)
    model = MGCA(n_clusters=3, encoder_a=enc_a, encoder_b=enc_b, **params).fit(data)
    # The prototypes are frozen in epoch 0, so model_ holds the ones that scored it;
    # the user's encoders were copied, so enc_a / enc_b are the untrained weights.
    c = model.model_.prototypes.heads[0].weight.detach().double()
    with torch.no_grad():
        v = F.normalize(enc_a(data.x).double(), dim=1)
        t = F.normalize(enc_b.lin(_mean_neighbours(data.x, data.edge_index)).double(), dim=1)
    s_v, s_t = v @ c.t(), t @ c.t()
    q_v, q_t = _swav_sinkhorn(s_v, 0.05, 3), _swav_sinkhorn(s_t, 0.05, 3)
    ce_v_from_t = -(q_v * F.log_softmax(s_t / 0.2, dim=1)).sum(dim=1).mean()
    ce_t_from_v = -(q_t * F.log_softmax(s_v / 0.2, dim=1)).sum(dim=1).mean()
    expected = 0.5 * (ce_v_from_t + ce_t_from_v)
    assert model.history_["loss"][0] == pytest.approx(float(expected), rel=1e-5)


def test_prototypes_frozen_in_the_first_epoch_and_unit_norm_after() -> None:
    data = _graph()
    fits = {e: MGCA(n_clusters=3, seed=0, **{**TINY, "epochs": e}).fit(data) for e in (0, 1, 3)}
    protos = {e: m.model_.prototypes.heads[0].weight.detach() for e, m in fits.items()}
    # Frozen during epoch 0: only the re-normalisation after the step touches them.
    torch.testing.assert_close(protos[0], protos[1], rtol=0, atol=1e-6)
    enc = {e: m.model_.encoders["attribute"].layers[0].weight for e, m in fits.items()}
    assert not torch.equal(enc[0], enc[1])  # while the encoders did train
    assert not torch.allclose(protos[1], protos[3])  # free afterwards
    torch.testing.assert_close(protos[3].norm(dim=1), torch.ones(500))


def test_images_freeze_prototypes_for_all_steps_of_the_first_epoch() -> None:
    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    kw = dict(TINY, cnn_width=2, batch_size=8)  # 4 steps per epoch
    p0, p1, p2 = (
        MGCA(n_clusters=2, **{**kw, "epochs": e}).fit(images).model_.prototypes.heads[0].weight
        for e in (0, 1, 2)
    )
    torch.testing.assert_close(p0, p1, rtol=0, atol=1e-6)
    assert not torch.allclose(p1, p2)
    torch.testing.assert_close(p2.detach().norm(dim=1), torch.ones(p2.shape[0]))


def test_single_view_ablations_train_only_that_view() -> None:
    data = _graph()
    rewired = data.clone()
    half = data.edge_index[:, : data.num_nodes : 2]  # every other edge of the ring
    rewired.edge_index = torch.cat([half, half.flip(0)], dim=1)
    attr = [MGCA(n_clusters=3, views="attribute", **TINY).fit(g) for g in (data, rewired)]
    assert list(attr[0].model_.encoders) == ["attribute"]
    torch.testing.assert_close(attr[0].embeddings_, attr[1].embeddings_)  # graph unused
    struct = [MGCA(n_clusters=3, views="structure", **TINY).fit(g) for g in (data, rewired)]
    assert list(struct[0].model_.encoders) == ["structure"]
    assert not torch.allclose(struct[0].embeddings_, struct[1].embeddings_)
    both = MGCA(n_clusters=3, **TINY).fit(data)
    assert list(both.model_.encoders) == ["attribute", "structure"]


def test_fitted_attributes_and_readouts() -> None:
    data = _graph()
    model = MGCA(n_clusters=3, n_prototypes=None, **TINY).fit(data)
    n = data.num_nodes
    torch.testing.assert_close(model.embeddings_.norm(dim=1), torch.ones(n))
    assert model.labels_.shape == (n,) and int(model.labels_.max()) < model.n_clusters_
    torch.testing.assert_close(model.soft_assignments_.sum(dim=1), torch.ones(n))
    assert torch.equal(model.cluster_ids_[model.labels_], model.sinkhorn_labels_)  # "auto"
    assert all(torch.isfinite(torch.tensor(model.history_["loss"])))
    over = MGCA(n_clusters=3, **TINY).fit(data)  # default: 500 prototypes, k-means
    assert over.model_.prototypes.sizes == [500] and over.sinkhorn_labels_ is None
    assert torch.equal(over.cluster_ids_[over.labels_], over.kmeans_labels_)
    assert over.soft_assignments_ is None
    plain = MGCA(n_clusters=3, n_prototypes=None, readout="prototypes", **TINY).fit(data)
    assert torch.equal(plain.cluster_ids_[plain.labels_], plain.prototype_labels_)


def test_images_with_two_user_encoders() -> None:
    images = torch.rand(16, 1, 6, 6, generator=torch.Generator().manual_seed(0))

    def encoder() -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(36, 8))

    first, second = encoder(), encoder()
    before = first[1].weight.clone()
    model = MGCA(n_clusters=2, encoder_a=first, encoder_b=second, batch_size=8, **TINY)
    model.fit(images)
    assert list(model.model_.encoders) == ["first", "second"]
    assert torch.equal(first[1].weight, before)  # the user's module is not trained in place
    assert model.embeddings_.shape == (16, 8)


def test_same_seed_same_result_other_seed_other_result() -> None:
    data = _graph()
    a, b, c = (MGCA(n_clusters=3, seed=s, **TINY).fit(data) for s in (0, 0, 1))
    assert torch.equal(a.embeddings_, b.embeddings_) and torch.equal(a.labels_, b.labels_)
    assert not torch.allclose(a.embeddings_, c.embeddings_)


def test_recovers_a_clear_block_structure() -> None:
    data = load_sbm(n_nodes=150, n_clusters=3, p_in=0.15, p_out=0.01, feature_dim=8, seed=0)
    params = {**TINY, "epochs": 40, "warmup_epochs": 5, "lr": 1e-2}
    model = MGCA(n_clusters=3, **params).fit(data)
    assert nmi(data.y, model.labels_) > 0.9  # 0.94 measured; k-means on x: 0.91


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"views": "text"}, "views must be one of"),
        ({"readout": "argmax"}, "readout must be one of"),
        ({"n_prototypes": 5, "readout": "sinkhorn"}, "n_prototypes .* must equal n_clusters"),
        ({"feature_mask": 1.0}, "feature_mask must be a rate"),
        ({"edge_drop": -0.1}, "edge_drop must be a rate"),
        ({"temperature": 0.0}, "temperature"),
        ({"epochs": -1}, "epochs must be an integer"),
        ({"hidden": ()}, "hidden must be"),
        ({"views": "attribute", "encoder_b": nn.Linear(6, 8)}, "encoder_b encodes the structure"),
        ({"embedding_dim": 5, "encoder_a": nn.Linear(6, 8)}, "returned shape"),
    ],
)
def test_bad_parameters_raise_clear_errors(params: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MGCA(n_clusters=3, **{**TINY, **params}).fit(_graph())


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match="encoder_a must be a torch.nn.Module"):
        MGCA(n_clusters=3, encoder_a="mlp", **TINY).fit(_graph())
    with pytest.raises(ValueError, match="views='attribute' is for graphs"):
        MGCA(n_clusters=2, views="attribute", **TINY).fit(torch.rand(8, 1, 4, 4))
    with pytest.raises(ValueError, match="n_clusters=30 exceeds"):
        MGCA(n_clusters=30, **TINY).fit(_graph())
    with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]"):
        MGCA(n_clusters=2, **TINY).fit(torch.full((8, 1, 4, 4), 3.0))


def _mean_prototype_cosine(model: MGCA) -> float:
    c = F.normalize(model.model_.prototypes.heads[0].weight.detach(), dim=1)
    k = c.size(0)
    return float(((c @ c.t()).sum() - k) / (k * (k - 1)))


def test_uniformity_weight_spreads_the_prototypes_and_is_logged() -> None:
    data = _graph(n=48)
    settings = {**TINY, "n_prototypes": 8, "n_clusters": 2, "epochs": 30}
    plain = MGCA(**settings).fit(data)
    spread = MGCA(**settings, uniformity_weight=5.0).fit(data)
    assert "uniformity" not in plain.history_
    assert len(spread.history_["uniformity"]) == 30
    # the regulariser is minimal for prototypes spread over the sphere: on average they
    # end up less similar to each other than without it
    assert _mean_prototype_cosine(spread) < _mean_prototype_cosine(plain) - 0.05
    with pytest.raises(ValueError, match="uniformity_weight"):
        MGCA(**TINY, uniformity_weight=-1.0).fit(data)
