"""Supervised clustering scores: they compare a partition with ground-truth classes.

All functions take two label vectors [N] (torch tensors, numpy arrays or sequences of
integers) with any label values; both are relabelled to 0.. internally. The number of
clusters K may differ from the number of classes C: accuracy and macro-F1 then use a
rectangular one-to-one matching (Hungarian algorithm) of min(C, K) cluster/class
pairs, so a cluster left without a class counts as errors and a class left without a
cluster gets F1 0.

These scores need labels and are for benchmark reports only; model selection in
graphclust is label-free (see :mod:`graphclust.metrics.graph`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from graphclust.metrics._inputs import as_labels, check_pair_lengths, relabel

_AVERAGES = ("arithmetic", "geometric", "min", "max")


def _codes(y_true: Any, y_pred: Any) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Validate both label vectors; return (true codes, C, predicted codes, K)."""
    true = as_labels(y_true, "y_true")
    pred = as_labels(y_pred, "y_pred")
    check_pair_lengths(true, pred)
    true_codes, n_classes = relabel(true)
    pred_codes, n_clusters = relabel(pred)
    return true_codes.numpy(), n_classes, pred_codes.numpy(), n_clusters


def _contingency(true: np.ndarray, n_classes: int, pred: np.ndarray, n_clusters: int):
    """Counts [C, K]: entry (c, k) is the number of samples of class c in cluster k."""
    flat = np.bincount(true * n_clusters + pred, minlength=n_classes * n_clusters)
    return flat.reshape(n_classes, n_clusters)


def _matched_codes(true: np.ndarray, n_classes: int, pred: np.ndarray, n_clusters: int):
    """Predicted class codes [N] after the best one-to-one matching; -1 where unmatched.

    The matching maximises the number of samples whose cluster is matched to their
    class (Hungarian algorithm on the contingency table); with K != C only min(C, K)
    pairs are formed. Among matchings with that maximum, it takes one with the largest
    sum of per-pair F1, so that macro-F1 does not depend on how ties happen to break
    (which would make it change when clusters are renamed).
    """
    table = _contingency(true, n_classes, pred, n_clusters).astype(np.float64)
    pair_f1 = 2.0 * table / (table.sum(axis=1, keepdims=True) + table.sum(axis=0))
    # The F1 sum of a matching is below min(C, K) + 1, so one more matched sample always
    # outweighs any F1 difference: the order is (accuracy, then F1).
    weight = table * (min(n_classes, n_clusters) + 1) + pair_f1
    class_ids, cluster_ids = linear_sum_assignment(weight, maximize=True)
    cluster_to_class = np.full(n_clusters, -1, dtype=np.int64)
    cluster_to_class[cluster_ids] = class_ids
    return cluster_to_class[pred]


def match_labels(y_true: Any, y_pred: Any, unmatched: int = -1) -> torch.Tensor | np.ndarray:
    """Map each predicted cluster to the ground-truth class it is matched to.

    Args:
        y_true: class labels [N], any integer values.
        y_pred: cluster labels [N], any integer values; any number of clusters.
        unmatched: the value given to samples whose cluster has no matched class
            (only when there are more clusters than classes). Must not be a class label.

    Returns:
        ``y_pred`` rewritten in the class labels of ``y_true`` [N]: a LongTensor when
        ``y_pred`` is a tensor, else an int64 numpy array.
    """
    true_raw = as_labels(y_true, "y_true")
    pred_raw = as_labels(y_pred, "y_pred")
    check_pair_lengths(true_raw, pred_raw)
    class_values, true_codes = torch.unique(true_raw, return_inverse=True)
    pred_codes, n_clusters = relabel(pred_raw)
    if bool((class_values == unmatched).any()):
        raise ValueError(
            f"unmatched={unmatched} is also a class label in y_true; pass another value"
        )
    codes = _matched_codes(true_codes.numpy(), class_values.numel(), pred_codes.numpy(), n_clusters)
    lookup = np.append(class_values.numpy(), unmatched)  # code -1 reads the last entry
    mapped = lookup[codes]
    return torch.from_numpy(mapped) if isinstance(y_pred, torch.Tensor) else mapped


def clustering_accuracy(y_true: Any, y_pred: Any) -> float:
    """Share of samples whose cluster is matched to their class, in [0, 1].

    Uses the best one-to-one cluster/class matching (:func:`match_labels`); with more
    clusters than classes the unmatched clusters count as errors.
    """
    true, n_classes, pred, n_clusters = _codes(y_true, y_pred)
    matched = _matched_codes(true, n_classes, pred, n_clusters)
    return float(np.mean(matched == true))


def macro_f1(y_true: Any, y_pred: Any) -> float:
    """Mean over the classes of y_true of the per-class F1 after matching, in [0, 1].

    Each class's F1 is 2PR / (P + R) for the cluster matched to it (:func:`match_labels`);
    a class without a matched cluster (fewer clusters than classes) has F1 0, and a
    precision or recall with an empty denominator counts as 0.
    """
    true, n_classes, pred, n_clusters = _codes(y_true, y_pred)
    matched = _matched_codes(true, n_classes, pred, n_clusters)
    hits = matched[matched == true]
    true_pos = np.bincount(hits, minlength=n_classes).astype(np.float64)
    predicted = np.bincount(matched[matched >= 0], minlength=n_classes).astype(np.float64)
    actual = np.bincount(true, minlength=n_classes).astype(np.float64)
    # 2PR/(P+R) equals 2 TP / (predicted + actual); actual > 0 for every class of y_true.
    f1 = 2.0 * true_pos / (predicted + actual)
    return float(f1.mean())


def _entropy(counts: np.ndarray, total: int) -> float:
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())


def nmi(y_true: Any, y_pred: Any, average_method: str = "arithmetic") -> float:
    """Normalised mutual information MI / mean(H(y_true), H(y_pred)), in [0, 1].

    Same definition and conventions as scikit-learn's ``normalized_mutual_info_score``:
    ``average_method`` in {"arithmetic" (default), "geometric", "min", "max"}; two
    one-cluster labellings score 1.0; a zero mutual information scores 0.0.
    """
    if average_method not in _AVERAGES:
        raise ValueError(f"average_method must be one of {_AVERAGES}, got {average_method!r}")
    true, n_classes, pred, n_clusters = _codes(y_true, y_pred)
    if n_classes == n_clusters == 1:
        return 1.0
    n = true.size
    table = _contingency(true, n_classes, pred, n_clusters).astype(np.float64)
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    nz_r, nz_c = np.nonzero(table)
    joint = table[nz_r, nz_c]
    mutual = float((joint / n * np.log(joint * n / (rows[nz_r] * cols[nz_c]))).sum())
    if mutual <= 0.0:
        return 0.0
    h_true, h_pred = _entropy(rows, n), _entropy(cols, n)
    if average_method == "arithmetic":
        norm = (h_true + h_pred) / 2.0
    elif average_method == "geometric":
        norm = float(np.sqrt(h_true * h_pred))
    elif average_method == "min":
        norm = min(h_true, h_pred)
    else:
        norm = max(h_true, h_pred)
    return float(min(mutual / norm, 1.0))


def ari(y_true: Any, y_pred: Any) -> float:
    """Adjusted Rand index over all sample pairs, in [-0.5, 1]; 0 for random labels.

    Same conventions as scikit-learn's ``adjusted_rand_score``: two labellings that
    agree on every pair (e.g. both one cluster, or both all singletons) score 1.0.
    """
    true, n_classes, pred, n_clusters = _codes(y_true, y_pred)
    table = _contingency(true, n_classes, pred, n_clusters)
    n = int(true.size)
    # Python integers: the products of pair counts below grow like N^4 and would
    # overflow int64 from N of about 78,000.
    same_both = int((table.astype(object) * (table - 1)).sum()) // 2
    same_true = sum(int(c) * (int(c) - 1) for c in table.sum(axis=1)) // 2
    same_pred = sum(int(c) * (int(c) - 1) for c in table.sum(axis=0)) // 2
    total = n * (n - 1) // 2
    tp = same_both
    fn = same_true - same_both
    fp = same_pred - same_both
    tn = total - tp - fn - fp
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
