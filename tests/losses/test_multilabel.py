"""MLCD's multi-label cluster loss against a hand-worked example and a naive loop."""

from __future__ import annotations

import math

import pytest
import torch

from graphclust.losses import (
    multilabel_cluster_loss,
    n_sampled_negatives,
    positive_centres,
    sample_negatives,
)


def naive_loss(scores, positives, negatives, margin=0.0):
    """log(1 + sum_pos e^{-(s - m)}) + log(1 + sum_neg e^{s}), row by row in float64."""
    out = []
    for i in range(scores.shape[0]):
        pos = [math.exp(-(float(scores[i, j]) - margin)) for j in positives[i].tolist()]
        if negatives is None:
            cols = [j for j in range(scores.shape[1]) if j not in positives[i].tolist()]
        else:
            cols = negatives[i].tolist()
        neg = [math.exp(float(scores[i, j])) for j in cols]
        out.append(math.log(1 + sum(pos)) + math.log(1 + sum(neg)))
    return out


def test_hand_worked_example():
    # s = [2, -1, 0], positive {0}, negatives {1, 2}:
    # log(1 + e^-2) + log(1 + e^-1 + e^0) = log(1.1353353) + log(2.3678794)
    #                                     = 0.1269280 + 0.8619948 = 0.9889228
    scores = torch.tensor([[2.0, -1.0, 0.0]])
    loss = multilabel_cluster_loss(scores, torch.tensor([[0]]), torch.tensor([[1, 2]]))
    assert float(loss) == pytest.approx(0.9889228, abs=1e-6)
    # negatives=None means all of them: the same here
    assert float(multilabel_cluster_loss(scores, torch.tensor([[0]]))) == pytest.approx(
        0.9889228, abs=1e-6
    )
    # margin 0.5 on the positive: log(1 + e^{-1.5}) = 0.2014133
    loss = multilabel_cluster_loss(scores, torch.tensor([[0]]), margin=0.5)
    assert float(loss) == pytest.approx(0.2014133 + 0.8619948, abs=1e-6)


@pytest.mark.parametrize("sampled", [False, True])
def test_matches_naive_reference(sampled):
    gen = torch.Generator().manual_seed(0)
    scores = 5 * torch.randn(6, 20, generator=gen, dtype=torch.float64)
    positives = torch.stack([torch.randperm(20, generator=gen)[:4] for _ in range(6)])
    negatives = sample_negatives(positives, 20, 0.3, gen) if sampled else None
    got = multilabel_cluster_loss(scores, positives, negatives, margin=0.2, reduction="none")
    want = torch.tensor(naive_loss(scores, positives, negatives, margin=0.2), dtype=torch.float64)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    mean = multilabel_cluster_loss(scores, positives, negatives, margin=0.2)
    assert float(mean) == pytest.approx(float(want.mean()))


def test_gradient_matches_dense_formula():
    # d/ds_i of log(1 + sum_pos e^{-s}) is -e^{-s_i} / (1 + sum_pos e^{-s})
    scores = torch.tensor([[1.0, 0.5, -2.0, 0.3]], dtype=torch.float64, requires_grad=True)
    multilabel_cluster_loss(scores, torch.tensor([[0, 1]])).backward()
    s = scores.detach()[0]
    zp = 1 + math.exp(-s[0]) + math.exp(-s[1])
    zn = 1 + math.exp(s[2]) + math.exp(s[3])
    want = [-math.exp(-s[0]) / zp, -math.exp(-s[1]) / zp, math.exp(s[2]) / zn, math.exp(s[3]) / zn]
    torch.testing.assert_close(scores.grad[0], torch.tensor(want, dtype=torch.float64))


def test_extreme_scores_stay_finite():
    scores = torch.tensor([[1e4, -1e4, 1e4, -1e4]], requires_grad=True)
    loss = multilabel_cluster_loss(scores, torch.tensor([[1]]), torch.tensor([[2]]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(scores.grad).all()
    assert float(loss.detach()) == pytest.approx(2e4)  # e^{1e4} twice: log ~ 1e4 + 1e4


def test_no_negatives_left_gives_zero_term_and_finite_grad():
    scores = torch.tensor([[3.0, 1.0]], requires_grad=True)
    loss = multilabel_cluster_loss(scores, torch.tensor([[0, 1]]))
    loss.backward()
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-3) + math.exp(-1)))
    assert torch.isfinite(scores.grad).all()


def test_positive_centres_are_the_l_nearest():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(30, 5, generator=gen)
    centres = torch.randn(12, 5, generator=gen)
    got = positive_centres(x, centres, 3, metric="euclidean")
    want = torch.cdist(x, centres).argsort(dim=1)[:, :3]
    assert torch.equal(got, want)
    cos = torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(centres, dim=1).T
    assert torch.equal(positive_centres(x, centres, 4), cos.argsort(dim=1, descending=True)[:, :4])


def test_negative_sampling_ratio_and_exclusion():
    gen = torch.Generator().manual_seed(2)
    positives = torch.stack([torch.randperm(50, generator=gen)[:8] for _ in range(200)])
    neg = sample_negatives(positives, 50, 0.1, gen)
    assert neg.shape == (200, round(0.1 * 42)) == (200, n_sampled_negatives(50, 8, 0.1))
    assert not (neg.unsqueeze(2) == positives.unsqueeze(1)).any()
    assert (neg.sort(dim=1).values.diff(dim=1) > 0).all()  # distinct
    # uniform over the negatives: every non-positive centre drawn about equally often
    counts = torch.zeros(50)
    for _ in range(20):
        fixed = torch.arange(8).expand(200, 8)
        counts += torch.bincount(sample_negatives(fixed, 50, 0.1, gen).flatten(), minlength=50)
    assert counts[:8].sum() == 0
    freq = counts[8:] / counts[8:].sum()
    assert float((freq - 1 / 42).abs().max()) < 0.3 / 42
    assert sample_negatives(positives, 50, 1.0, gen).shape[1] == 42
    assert n_sampled_negatives(10, 9, 0.01) == 1 and n_sampled_negatives(5, 5, 0.5) == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"positives": torch.tensor([[0, 0]])}, "repeats"),
        ({"positives": torch.tensor([[5]])}, "outside"),
        ({"positives": torch.tensor([0])}, "LongTensor"),
        ({"positives": torch.tensor([[0]]), "negatives": torch.tensor([[0, 1]])}, "positive"),
        ({"positives": torch.tensor([[0]]), "reduction": "max"}, "reduction"),
    ],
)
def test_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        multilabel_cluster_loss(torch.zeros(1, 3), **kwargs)


def test_bad_scores_and_sampler_args():
    with pytest.raises(ValueError, match="NaN"):
        multilabel_cluster_loss(torch.tensor([[float("nan"), 0.0]]), torch.tensor([[0]]))
    with pytest.raises(ValueError, match="ratio"):
        sample_negatives(torch.tensor([[0]]), 4, 0.0)
    with pytest.raises(ValueError, match="n_positive"):
        positive_centres(torch.randn(4, 2), torch.randn(3, 2), 4)
