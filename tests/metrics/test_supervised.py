"""Supervised scores against scikit-learn, brute force and hand-worked cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score

from graphclust.metrics import ari, clustering_accuracy, macro_f1, match_labels, nmi


def _brute_force_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Best accuracy over every one-to-one map from clusters to classes (tiny cases)."""
    classes, clusters = np.unique(y_true), np.unique(y_pred)
    best = 0
    slots = list(classes) + [None] * len(clusters)  # None: cluster left unmatched
    for image in itertools.permutations(slots, len(clusters)):
        mapping = dict(zip(clusters, image, strict=True))
        hits = sum(mapping[p] == t for t, p in zip(y_true, y_pred, strict=True))
        best = max(best, hits)
    return best / len(y_true)


label_pairs = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(-3, 4), min_size=n, max_size=n),
        st.lists(st.integers(10, 15), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(label_pairs)
def test_nmi_and_ari_match_sklearn(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = np.array(pair[0]), np.array(pair[1])
    for method in ("arithmetic", "geometric", "min", "max"):
        expected = normalized_mutual_info_score(y_true, y_pred, average_method=method)
        assert nmi(y_true, y_pred, average_method=method) == pytest.approx(expected, abs=1e-12)
    assert ari(y_true, y_pred) == pytest.approx(adjusted_rand_score(y_true, y_pred), abs=1e-12)


def test_nmi_ari_accept_tensors_and_large_inputs() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 7, size=100_000)
    y_pred = np.where(rng.random(100_000) < 0.7, y_true, rng.integers(0, 9, size=100_000))
    # 100k samples: pair-count products exceed int64, which ari must survive.
    assert ari(torch.from_numpy(y_true), torch.from_numpy(y_pred)) == pytest.approx(
        adjusted_rand_score(y_true, y_pred), abs=1e-12
    )
    assert nmi(y_true, torch.from_numpy(y_pred)) == pytest.approx(
        normalized_mutual_info_score(y_true, y_pred), abs=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=9).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 3), min_size=n, max_size=n),
            st.lists(st.integers(0, 4), min_size=n, max_size=n),
        )
    )
)
def test_accuracy_matches_brute_force(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = np.array(pair[0]), np.array(pair[1])
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(
        _brute_force_accuracy(y_true, y_pred)
    )


def test_accuracy_more_clusters_than_classes() -> None:
    # Classes 0,0,0 | 1,1,1; clusters a,a,b | c,c,c. Best matching a->0, c->1; cluster b
    # has no class left and its one sample counts as an error: 5/6.
    y_true = [0, 0, 0, 1, 1, 1]
    y_pred = [7, 7, 8, 9, 9, 9]
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert match_labels(y_true, y_pred).tolist() == [0, 0, -1, 1, 1, 1]


def test_accuracy_fewer_clusters_than_classes() -> None:
    # Classes 0,0 | 1,1 | 2,2; clusters a,a,a,a | b,b. a takes class 0 (or 1, a tie),
    # b takes class 2; the other class gets no cluster: 4/6.
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [5, 5, 5, 5, 3, 3]
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(4 / 6)


def test_macro_f1_hand_worked() -> None:
    # Fewer clusters: after matching a->0, b->2, class 0 has P = 2/4, R = 1, F1 = 2/3;
    # class 1 has no cluster, F1 = 0; class 2 has F1 = 1. Mean = (2/3 + 0 + 1) / 3 = 5/9.
    assert macro_f1([0, 0, 1, 1, 2, 2], [5, 5, 5, 5, 3, 3]) == pytest.approx(5 / 9)
    # More clusters: matched [0, 0, -, 1, 1, 1]; class 0: P = 1, R = 2/3, F1 = 0.8;
    # class 1: F1 = 1. Mean 0.9.
    assert macro_f1([0, 0, 0, 1, 1, 1], [7, 7, 8, 9, 9, 9]) == pytest.approx(0.9)


@settings(max_examples=40, deadline=None)
@given(label_pairs)
def test_macro_f1_matches_sklearn_after_matching(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = np.array(pair[0]), np.array(pair[1])
    unmatched = -100
    matched = match_labels(y_true, y_pred, unmatched=unmatched)
    expected = f1_score(y_true, matched, labels=np.unique(y_true), average="macro", zero_division=0)
    assert macro_f1(y_true, y_pred) == pytest.approx(expected, abs=1e-12)
    # match_labels and accuracy share one matching.
    assert np.mean(matched == y_true) == pytest.approx(clustering_accuracy(y_true, y_pred))


@settings(max_examples=40, deadline=None)
@given(label_pairs, st.randoms(use_true_random=False))
def test_scores_invariant_to_renaming_labels(pair, rnd) -> None:
    y_true, y_pred = np.array(pair[0]), np.array(pair[1])
    values = list(range(50))
    rnd.shuffle(values)
    renamed_pred = np.array([values[p - 10] for p in y_pred])
    renamed_true = np.array([values[t + 3] * 3 for t in y_true])
    for score in (clustering_accuracy, macro_f1, nmi, ari):
        base = score(y_true, y_pred)
        assert score(y_true, renamed_pred) == pytest.approx(base, abs=1e-12)
        assert score(renamed_true, y_pred) == pytest.approx(base, abs=1e-12)


def test_perfect_and_one_cluster_values() -> None:
    y = torch.tensor([3, 3, 1, 1, 2, 2])
    for score in (clustering_accuracy, macro_f1, nmi, ari):
        assert score(y, y + 10) == pytest.approx(1.0)
    one = torch.zeros(6, dtype=torch.long)
    assert nmi(y, one) == 0.0
    assert ari(y, one) == 0.0
    assert clustering_accuracy(y, one) == pytest.approx(2 / 6)


def test_match_labels_keeps_type_and_class_values() -> None:
    y_true = torch.tensor([10, 10, 20, 20])
    out = match_labels(y_true, torch.tensor([1, 1, 0, 0]))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.long
    assert out.tolist() == [10, 10, 20, 20]
    out_np = match_labels(y_true.numpy(), np.array([1, 1, 0, 0]))
    assert isinstance(out_np, np.ndarray) and out_np.tolist() == [10, 10, 20, 20]
    with pytest.raises(ValueError, match="unmatched=10"):
        match_labels(y_true, torch.tensor([1, 1, 0, 2]), unmatched=10)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "error", "message"),
    [
        ([0, 1, 1], [0, 1], ValueError, "same samples"),
        ([], [], ValueError, "empty"),
        ([[0, 1], [1, 0]], [[0, 1], [1, 0]], ValueError, "1-D"),
        ([0, 1], [0.0, 1.0], TypeError, "integer labels"),
        (["a", "b"], [0, 1], TypeError, "encode string labels"),
    ],
)
def test_invalid_inputs_raise_clearly(y_true, y_pred, error, message) -> None:
    for score in (clustering_accuracy, macro_f1, nmi, ari, match_labels):
        with pytest.raises(error, match=message):
            score(y_true, y_pred)


def test_soft_assignment_passed_as_labels_gets_a_hint() -> None:
    with pytest.raises(TypeError, match="argmax"):
        nmi(torch.tensor([0, 1]), torch.rand(2, 3))
    with pytest.raises(ValueError, match="view"):
        nmi(torch.tensor([[0], [1]]), torch.tensor([0, 1]))


def test_nmi_rejects_unknown_average() -> None:
    with pytest.raises(ValueError, match="average_method"):
        nmi([0, 1], [0, 1], average_method="mean")
