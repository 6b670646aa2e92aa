"""GCD accuracy against a brute-force search over cluster-to-class matchings."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from graphclust.metrics import gcd_accuracy


def _brute_force(y, labels):
    """Best accuracy over every injective map of clusters to classes (or classes to
    clusters when there are fewer clusters), by enumeration."""
    classes, clusters = y.unique().tolist(), labels.unique().tolist()
    best, best_map = -1.0, None
    for perm in itertools.permutations(classes + [None] * len(clusters), len(clusters)):
        mapping = dict(zip(clusters, perm, strict=True))
        acc = sum(mapping[int(c)] == int(t) for c, t in zip(labels, y, strict=True)) / len(y)
        if acc > best:
            best, best_map = acc, mapping
    return best, best_map


def test_matches_brute_force_on_all_rows():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (30,), generator=g)
    labels = torch.randint(0, 5, (30,), generator=g)
    mask = torch.zeros(30, dtype=torch.bool)
    mask[:6] = True
    known = torch.tensor([0, 1])
    scores = gcd_accuracy(y, labels, mask, known)
    best, mapping = _brute_force(y[6:], labels[6:])
    assert abs(scores["acc_all"] - best) < 1e-6
    # old / new split the same hits
    hit = torch.tensor([mapping[int(c)] == int(t) for c, t in zip(labels[6:], y[6:], strict=True)])
    old = torch.isin(y[6:], known)
    n_old = int(old.sum())
    assert (
        abs(scores["acc_old"] * n_old + scores["acc_new"] * (24 - n_old) - float(hit.sum())) < 1e-4
    )


def test_perfect_partition_scores_one():
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    mask = torch.tensor([True, False, False, False, False, False])
    scores = gcd_accuracy(y, (y + 7) % 3, mask, torch.tensor([0]))
    assert scores == {"acc_all": 1.0, "acc_old": 1.0, "acc_new": 1.0}


def test_a_group_without_rows_is_nan_and_inputs_may_be_numpy():
    y = np.array([0, 0, 1, 1])
    scores = gcd_accuracy(y, np.array([1, 1, 0, 0]), np.zeros(4, dtype=bool), [0, 1])
    assert scores["acc_all"] == 1.0 and scores["acc_old"] == 1.0
    assert math.isnan(scores["acc_new"])


def test_refuses_a_mask_it_cannot_read():
    y = torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match="labeled_mask must be a boolean vector"):
        gcd_accuracy(y, y, torch.tensor([1, 0, 0, 0]), torch.tensor([0]))
    with pytest.raises(ValueError, match="labeled_mask must be a boolean vector"):
        gcd_accuracy(y, y, torch.zeros(3, dtype=torch.bool), torch.tensor([0]))
    with pytest.raises(ValueError, match="every row"):
        gcd_accuracy(y, y, torch.ones(4, dtype=torch.bool), torch.tensor([0]))
    with pytest.raises(ValueError, match="labels has 3 entries"):
        gcd_accuracy(y, y[:3], torch.zeros(4, dtype=torch.bool), torch.tensor([0]))
