"""DEPICT: target/prior math against hand-worked numbers, the cluster-size prior on
skewed data, both input kinds, seeds, bad input."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch_geometric.data import Data

from graphclust.assign import depict_target
from graphclust.methods.depict import DEPICT
from graphclust.metrics import ari


def _blobs(sizes: list[int], sep: float = 6.0, dim: int = 4, seed: int = 0):
    """Gaussian blobs along the first axis as a graph without edges; labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.full((s,), i) for i, s in enumerate(sizes)])
    centres = torch.zeros(len(sizes), dim)
    centres[:, 0] = sep * torch.arange(len(sizes), dtype=torch.float)
    x = centres[y] + torch.randn(len(y), dim, generator=g)
    return Data(x=x, edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=len(y)), y


def _fit_quiet(model: DEPICT, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the graph has no edges": intended here
        return model.fit(data)


SMALL = dict(hidden=(16,), latent_dim=4, pretrain_epochs=10, init_epochs=2, batch_size=64, lr=1e-2)


# -- target and prior math -------------------------------------------------------------
def test_depict_target_hand_worked_with_and_without_prior() -> None:
    p = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]]
    mass = [sum(row[k] for row in p) for k in range(2)]  # 1.7, 1.3
    for prior in (None, [0.75, 0.25]):
        u = prior or [0.5, 0.5]
        expected = []
        for row in p:
            w = [row[k] * math.sqrt(u[k] / mass[k]) for k in range(2)]
            expected.append([v / sum(w) for v in w])
        got = depict_target(torch.tensor(p, dtype=torch.float64), prior)
        torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))
    # first row, uniform prior, by hand: 0.9/sqrt(1.7) = 0.69027, 0.1/sqrt(1.3) = 0.08771
    first = depict_target(torch.tensor(p, dtype=torch.float64))[0]
    assert abs(float(first[0]) - 0.69027 / (0.69027 + 0.08771)) < 1e-4


def test_repeated_refreshes_drive_cluster_sizes_to_the_prior() -> None:
    """The fixed point of q <- target(q) has column means u (what self-training tracks)."""
    torch.manual_seed(0)
    q = torch.softmax(torch.randn(400, 3, dtype=torch.float64), dim=1)
    prior = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    for _ in range(200):
        q = depict_target(q, prior)
    torch.testing.assert_close(q.mean(dim=0), prior, atol=1e-4, rtol=0)


# -- the estimator ---------------------------------------------------------------------
def test_matching_prior_recovers_skew_uniform_forces_balance() -> None:
    data, y = _blobs([240, 60])
    uniform = _fit_quiet(DEPICT(n_clusters=2, encoder="mlp", epochs=25, **SMALL), data)
    skewed = _fit_quiet(
        DEPICT(n_clusters=2, encoder="mlp", epochs=25, prior=[0.8, 0.2], **SMALL), data
    )
    share = lambda m: float(torch.bincount(m.labels_, minlength=2).max()) / len(y)  # noqa: E731
    assert share(uniform) < 0.65  # split towards 50/50 although the blobs are 80/20
    assert abs(share(skewed) - 0.8) < 0.05
    assert ari(y, skewed.labels_) > 0.85 > ari(y, uniform.labels_)


def test_fitted_state_is_consistent_and_finite() -> None:
    data, _ = _blobs([60, 60, 60])
    model = _fit_quiet(DEPICT(n_clusters=3, encoder="mlp", epochs=5, **SMALL), data)
    k = model.n_clusters_
    assert model.labels_.shape == (180,) and model.soft_assignments_.shape == (180, k)
    assert model.embeddings_.shape == (180, 4)
    for name in ("soft_assignments_", "embeddings_", "target_"):
        assert torch.isfinite(getattr(model, name)).all()
    torch.testing.assert_close(model.soft_assignments_.sum(1), torch.ones(180))
    # the head's P on the fitted embeddings, restricted to the used clusters
    with torch.no_grad():
        p = torch.softmax(model.model_.head(model.embeddings_), dim=1)
    used = p[:, model.cluster_ids_]
    torch.testing.assert_close(model.soft_assignments_, used / used.sum(1, keepdim=True))
    assert torch.equal(model.cluster_ids_[model.labels_], p.argmax(dim=1))
    # the last target comes from the final network: no update after the last refresh
    torch.testing.assert_close(model.target_, depict_target(p))
    assert all(math.isfinite(v) for v in model.history_["loss"])
    assert model.n_epochs_ <= 5 and len(model.history_["pretrain_loss"]) == 10


def test_gcn_encoder_on_a_graph_and_seed_reproducibility() -> None:
    data, _ = _blobs([40, 40])
    src = torch.arange(79)
    data.edge_index = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], 1)
    fits = [DEPICT(n_clusters=2, epochs=3, seed=s, **SMALL).fit(data) for s in (1, 1, 2)]
    assert torch.equal(fits[0].soft_assignments_, fits[1].soft_assignments_)
    assert not torch.equal(fits[0].soft_assignments_, fits[2].soft_assignments_)


def test_images_input_and_dec_target() -> None:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(40, 1, 12, 12, generator=g)
    images[:20, :, :6] = 0.0  # two visibly different halves
    model = DEPICT(
        n_clusters=2,
        channels=(4, 4),
        pretrain_epochs=2,
        init_epochs=1,
        epochs=2,
        batch_size=16,
        target="dec",
    ).fit((images * 255).to(torch.uint8))
    assert model.labels_.shape == (40,) and model.embeddings_.shape == (40, 2)
    assert torch.isfinite(model.soft_assignments_).all()


def test_labels_of_an_emptied_head_cluster_are_renumbered() -> None:
    """Identical samples and a prior favouring cluster 2: every sample ends in head output
    2 (the target pulls each identical row to the prior's largest cluster). The contract
    still wants labels 0..n_clusters_-1; cluster_ids_ maps them back to the head."""
    data = Data(x=torch.ones(6, 2), edge_index=torch.empty(2, 0, dtype=torch.long))
    model = DEPICT(
        n_clusters=3,
        encoder="mlp",
        hidden=(8,),
        latent_dim=4,
        pretrain_epochs=1,
        init_epochs=0,
        epochs=20,
        tol=1e-9,
        lr=1e-2,
        prior=[0.05, 0.05, 0.9],
        n_init=1,
        device="cpu",
    )
    with pytest.warns(UserWarning, match="only 1 of the 3 clusters") as caught:
        model.fit(data)
    assert any(w.filename == __file__ for w in caught)  # the warning points at the fit call
    assert model.labels_.tolist() == [0] * 6 and model.n_clusters_ == 1
    assert model.cluster_ids_.tolist() == [2]
    # reference: the head's own argmax on the fitted embeddings, read through cluster_ids_
    raw = model.model_.head(model.embeddings_).argmax(dim=1)
    assert torch.equal(model.cluster_ids_[model.labels_], raw)
    torch.testing.assert_close(model.soft_assignments_, torch.ones(6, 1))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prior": [0.5, 0.6]}, "sum to 1"),
        ({"prior": [1.0]}, "n_clusters"),
        ({"prior": [1.2, -0.2]}, "positive"),
        ({"prior": [0.5, 0.5], "target": "dec"}, "target='depict'"),
        ({"target": "paper"}, "target must be one of"),
        ({"encoder": "gat"}, "encoder must be one of"),
        ({"noise": 1.0}, "noise"),
        ({"tol": 0}, "tol"),
        ({"epochs": -1}, "epochs"),
        ({"latent_dim": 0}, "latent_dim must be None or an integer"),
        ({"hidden_weight": float("nan")}, "hidden_weight"),
        ({"noise": -0.1}, r"noise must be a finite number in \[0, 1\)"),
        ({"progress": 1}, "progress must be True or False"),
        ({"input": "video"}, "input must be one of"),
    ],
)
def test_bad_parameters_are_refused_at_fit(params: dict, message: str) -> None:
    data, _ = _blobs([10, 10])
    with pytest.raises(ValueError, match=message):
        _fit_quiet(DEPICT(n_clusters=2, **params), data)


def test_bad_inputs_name_the_problem() -> None:
    data, _ = _blobs([10, 10])
    with pytest.raises(TypeError, match="got a graph"):
        DEPICT(n_clusters=2, input="images").fit(data)
    with pytest.raises(TypeError, match="Data"):
        DEPICT(n_clusters=2, input="graph").fit(torch.rand(20, 1, 8, 8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DEPICT(n_clusters=2).fit(torch.rand(20, 1, 8, 8) * 3)
    with pytest.raises(ValueError, match="exceeds"):
        DEPICT(n_clusters=30).fit(torch.rand(20, 1, 8, 8))
    with pytest.raises(ValueError, match="too small"):
        DEPICT(n_clusters=2).fit(torch.rand(20, 1, 3, 3))
