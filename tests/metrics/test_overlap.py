"""Overlapping NMI / F1 / Jaccard: hand-worked values, a brute-force set implementation,
and known properties (identical -> 1, independent -> ~0, symmetry, invariances)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphclust.metrics.overlap import (
    as_membership,
    overlapping_f1,
    overlapping_nmi,
    symmetric_jaccard,
)


def _cover(sets: list[set[int]], n: int) -> np.ndarray:
    m = np.zeros((n, len(sets)), dtype=np.int64)
    for j, s in enumerate(sets):
        m[list(s), j] = 1
    return m


def _entropy(*probabilities: float) -> float:
    return -sum(p * math.log2(p) for p in probabilities if p > 0)


def _brute_nmi(xs: list[set[int]], ys: list[set[int]], n: int) -> float:
    """McDaid et al. written from the paper with probabilities and explicit loops."""
    xs = [s for s in xs if s]
    ys = [s for s in ys if s]

    def h_single(s: set[int]) -> float:
        return _entropy(len(s) / n, 1 - len(s) / n)

    def h_cond(xk: set[int], yl: set[int]) -> float:
        p = {}
        for in_x in (0, 1):
            for in_y in (0, 1):
                count = sum(1 for i in range(n) if (i in xk) == in_x and (i in yl) == in_y)
                p[in_x, in_y] = count / n
        hd, ha = _entropy(p[1, 1]), _entropy(p[0, 0])
        hb, hc = _entropy(p[0, 1]), _entropy(p[1, 0])
        if ha + hd >= hb + hc:
            return _entropy(*p.values()) - h_single(yl)
        return h_single(xk)

    def h_cover_cond(a: list[set[int]], b: list[set[int]]) -> float:
        return sum(min(h_cond(ak, bl) for bl in b) for ak in a)

    hx, hy = sum(map(h_single, xs)), sum(map(h_single, ys))
    mutual = 0.5 * (hx - h_cover_cond(xs, ys) + hy - h_cover_cond(ys, xs))
    return mutual / max(hx, hy)


def _brute_best_match(xs: list[set[int]], ys: list[set[int]], score) -> float:
    forward = sum(max(score(a, b) for b in ys) for a in xs) / len(xs)
    backward = sum(max(score(a, b) for a in xs) for b in ys) / len(ys)
    return (forward + backward) / 2


def _f1(a: set[int], b: set[int]) -> float:
    both = len(a & b)
    if both == 0:
        return 0.0
    precision, recall = both / len(b), both / len(a)
    return 2 * precision * recall / (precision + recall)


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b)


def test_hand_worked_nmi() -> None:
    # X = {0,1}, Y = {0,2} on 4 nodes: one node in each cell -> exactly independent.
    assert overlapping_nmi(_cover([{0, 1}], 4), _cover([{0, 2}], 4)) == pytest.approx(0.0)
    # X = {0,1}, Y = {0,1,2}: worked by hand, I = h(3) = 3 log2(4/3), H(X) = 4, so
    # NMI_max = (3/4) log2(4/3) = 0.311278.
    expected = 0.75 * math.log2(4 / 3)
    value = overlapping_nmi(_cover([{0, 1}], 4), _cover([{0, 1, 2}], 4))
    assert value == pytest.approx(expected, abs=1e-12)


def test_hand_worked_f1_and_jaccard() -> None:
    truth = _cover([{0, 1, 2}, {3, 4}], 5)
    pred = _cover([{0, 1}, {2, 3, 4}], 5)
    # Best F1 per community: 2*2/(3+2) = 0.8 both ways; Jaccard 2/3 both ways.
    assert overlapping_f1(truth, pred) == pytest.approx(0.8)
    assert symmetric_jaccard(truth, pred) == pytest.approx(2 / 3)


def _random_sets(rng: np.random.Generator, n: int, k: int) -> list[set[int]]:
    return [set(np.flatnonzero(rng.random(n) < rng.uniform(0.1, 0.6)).tolist()) for _ in range(k)]


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 30))
    xs, ys = _random_sets(rng, n, int(rng.integers(1, 5))), _random_sets(rng, n, 3)
    xs, ys = [s for s in xs if s] or [{0}], [s for s in ys if s] or [{1}]
    x, y = _cover(xs, n), _cover(ys, n)
    assert overlapping_nmi(x, y) == pytest.approx(_brute_nmi(xs, ys, n), abs=1e-10)
    assert overlapping_f1(x, y) == pytest.approx(_brute_best_match(xs, ys, _f1), abs=1e-12)
    assert symmetric_jaccard(x, y) == pytest.approx(_brute_best_match(xs, ys, _jaccard), abs=1e-12)


def test_properties() -> None:
    rng = np.random.default_rng(0)
    n = 400
    x = (rng.random((n, 5)) < 0.3).astype(int)
    y = (rng.random((n, 4)) < 0.3).astype(int)
    assert overlapping_nmi(x, x) == pytest.approx(1.0)
    assert overlapping_f1(x, x) == pytest.approx(1.0)
    assert overlapping_nmi(x, y) == pytest.approx(overlapping_nmi(y, x))
    assert overlapping_f1(x, y) == pytest.approx(overlapping_f1(y, x))
    assert overlapping_nmi(x, y) < 0.02  # independent covers
    # Column order, an added empty community and the input type do not matter.
    shuffled = np.concatenate([x[:, ::-1], np.zeros((n, 1), dtype=int)], axis=1)
    assert overlapping_nmi(shuffled, y) == pytest.approx(overlapping_nmi(x, y))
    assert overlapping_nmi(torch.from_numpy(x), sp.csr_matrix(y)) == pytest.approx(
        overlapping_nmi(x, y)
    )


def test_hard_labels_are_one_hot_covers() -> None:
    labels = np.array([2, 2, 0, 5, 5, -1])
    m = as_membership(labels).toarray()
    assert m.tolist() == [[0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0]]
    truth = _cover([{0, 1, 2}, {2, 3}, {4, 5}], 6)
    assert overlapping_nmi(truth, labels) == pytest.approx(overlapping_nmi(truth, m))
    # A partition against a relabelled copy of itself is a perfect match.
    assert overlapping_nmi(labels, np.array([7, 7, 1, 3, 3, -1])) == pytest.approx(1.0)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="0/1"):
        overlapping_nmi(np.array([[0.5, 1.0], [1.0, 0.0]]), np.eye(2))
    with pytest.raises(ValueError, match="same nodes"):
        overlapping_f1(np.eye(3), np.eye(4))
    with pytest.raises(ValueError, match="no non-empty community"):
        overlapping_nmi(np.zeros((3, 2)), np.eye(3))
    with pytest.raises(ValueError, match=r"\[N, C\]"):
        as_membership(np.zeros((2, 2, 2)))


def test_evaluate_partition_reports_overlap_scores() -> None:
    from torch_geometric.data import Data

    from graphclust.metrics import evaluate_partition

    # two triangles joined by 2-3; truth: {0,1,2}, {2,3,4,5} (node 2 in both)
    ei = torch.tensor(
        [[0, 1, 0, 2, 3, 4, 3, 1, 2, 2, 3, 4, 5, 5], [1, 0, 2, 0, 4, 3, 5, 2, 1, 3, 2, 5, 4, 3]]
    )
    cover = torch.from_numpy(_cover([{0, 1, 2}, {2, 3, 4, 5}], 6).astype(bool))
    pred = torch.tensor([0, 0, 0, 1, 1, 1])
    data = Data(edge_index=ei, num_nodes=6, y=torch.tensor([0, 0, 1, 1, 1, 1]), y_overlap=cover)
    scores = evaluate_partition(pred, data)
    assert scores["onmi"] == pytest.approx(overlapping_nmi(cover.numpy(), pred.numpy()))
    # F1: {0,1,2} vs {0,1,2} = 1; {2,3,4,5} vs {3,4,5} = 6/7; both directions alike
    assert scores["overlap_f1"] == pytest.approx((1 + 6 / 7) / 2)
    del data.y_overlap
    assert "onmi" not in evaluate_partition(pred, data)
