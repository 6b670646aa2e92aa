"""OOD scores and metrics against scikit-learn and hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from torch_geometric.data import Data

from graphclust.methods.baselines import KMeans
from graphclust.methods.transductive import TransductiveClustering
from graphclust.metrics.ood import (
    aupr,
    auroc,
    cluster_centres,
    fpr_at_tpr,
    knn_distance_scores,
    maxquery_scores,
    msp_scores,
    ood_report,
)

torch.set_num_threads(1)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_auroc_and_aupr_match_scikit_learn(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    is_ood = rng.random(200) < 0.3
    scores = rng.normal(size=200) + is_ood
    if ties:
        scores = np.round(scores, 1)  # many tied scores
    assert auroc(scores, is_ood) == pytest.approx(roc_auc_score(is_ood, scores), abs=1e-12)
    expected = average_precision_score(is_ood, scores)
    assert aupr(torch.tensor(scores), torch.tensor(is_ood)) == pytest.approx(expected, abs=1e-12)


def test_fpr95_hand_worked_and_against_roc_curve() -> None:
    # 20 OOD rows scoring 1..20: flagging 95% of them (19) needs threshold 2.
    ood = np.arange(1, 21, dtype=float)
    ind = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 30.0])  # 4 of 8 are >= 2
    scores = np.concatenate([ood, ind])
    is_ood = np.r_[np.ones(20, bool), np.zeros(8, bool)]
    assert fpr_at_tpr(scores, is_ood) == pytest.approx(0.5)
    assert fpr_at_tpr(scores, is_ood, tpr=1.0) == pytest.approx(6 / 8)  # threshold 1
    rng = np.random.default_rng(0)
    for _ in range(5):
        is_ood = rng.random(300) < 0.4
        scores = np.round(rng.normal(size=300) + is_ood, 2)
        fpr, tpr, _ = roc_curve(is_ood, scores)
        expected = fpr[np.argmax(tpr >= 0.95)]
        assert fpr_at_tpr(scores, is_ood) == pytest.approx(expected)
    report = ood_report(scores, is_ood)
    assert set(report) == {"auroc", "aupr", "fpr95"}


@pytest.mark.parametrize(
    ("scores", "is_ood", "match"),
    [
        ([0.1, 0.2], [True, True], "both in- and out"),
        ([0.1, 0.2], [0.5, 1.0], "boolean"),
        ([0.1, float("nan")], [True, False], "NaN"),
        ([0.1, 0.2, 0.3], [True, False], "one length"),
    ],
)
def test_metric_inputs_are_checked(scores, is_ood, match) -> None:
    with pytest.raises(ValueError, match=match):
        auroc(scores, is_ood)


def _blobs(seed: int = 0) -> tuple[Data, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    truth = torch.arange(3).repeat_interleave(20)
    centres = torch.tensor([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]])
    x = centres[truth] + 0.3 * torch.randn(60, 3, generator=gen)
    return Data(x=x, edge_index=torch.empty(2, 0, dtype=torch.long)), truth


def test_maxquery_scores_are_minus_the_best_cosine_to_the_centres() -> None:
    data, truth = _blobs()
    with pytest.warns(UserWarning, match="no edges"):
        model = KMeans(n_clusters=3, seed=0).fit(data)
    with pytest.raises(ValueError, match="pass data"):
        maxquery_scores(model)
    scores = maxquery_scores(model, data)
    centres = model.cluster_centers_.float()
    expected = torch.stack(
        [
            torch.stack([torch.cosine_similarity(row, c, dim=0) for c in centres]).max().neg()
            for row in data.x
        ]
    )
    assert torch.allclose(scores, expected, atol=1e-6)
    # A point between the blobs (cosine ~0.58 to each axis) is farther than any inlier.
    outlier = torch.tensor([[3.0, 3.0, 3.0]])
    assert float(maxquery_scores(model, outlier)) > float(scores.max())


def test_msp_and_maxquery_from_a_fitted_transductive_model() -> None:
    data, truth = _blobs()
    mask = torch.tensor([0, 20, 40])
    with pytest.warns(UserWarning, match="no edges"):
        model = TransductiveClustering().fit(data, y=truth, labeled_mask=mask)
    assert torch.equal(msp_scores(model), -model.soft_assignments_.max(1).values)
    assert torch.equal(cluster_centres(model), model.cluster_centers_)
    scores = maxquery_scores(model)
    assert scores.shape == (60,) and bool((scores >= -1 - 1e-6).all() and (scores <= 1).all())
    with pytest.raises(ValueError, match="cannot embed new data"):
        maxquery_scores(model, data)
    with pytest.raises(ValueError, match="no fitted cluster centres"):
        maxquery_scores(object())


def test_knn_distance_scores_against_brute_force() -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(30, 4, generator=gen)
    unit = torch.nn.functional.normalize(z, dim=1)
    distance = 1 - unit @ unit.t()
    reference = torch.zeros(30, dtype=torch.bool)
    reference[:18] = True
    for k in (1, 3):
        d = distance.clone().fill_diagonal_(float("inf"))
        every = d.sort(dim=1).values[:, k - 1]
        assert torch.allclose(knn_distance_scores(z, k=k), every, atol=1e-5)
        expected = d[:, reference].sort(dim=1).values[:, k - 1]
        got = knn_distance_scores(z, reference=reference, k=k, chunk_size=7)
        assert torch.allclose(got, expected, atol=1e-5)
    with pytest.raises(ValueError, match="k must be"):
        knn_distance_scores(z, reference=reference, k=18)
    with pytest.raises(ValueError, match="BoolTensor"):
        knn_distance_scores(z, reference=torch.arange(5))


def test_swav_style_prototypes_are_read_from_the_cluster_head() -> None:
    from types import SimpleNamespace

    from graphclust.assign import Prototypes

    torch.manual_seed(0)
    prototypes = Prototypes(4, [3, 8])  # cluster head first, an over-clustering head second
    z = torch.randn(10, 4)
    fitted = SimpleNamespace(model_=SimpleNamespace(prototypes=prototypes), embeddings_=z)
    expected = -prototypes(z)[0].max(dim=1).values.detach()
    assert torch.allclose(maxquery_scores(fitted), expected, atol=1e-6)
