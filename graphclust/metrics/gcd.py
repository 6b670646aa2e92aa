"""Generalised category discovery (GCD) accuracy (Vaze et al., CVPR 2022; GPC's protocol).

In GCD a method is given the labels of some rows of some classes (the "known" or "old"
classes) and must cluster the rest, which also hold rows of classes it never saw (the
"new" classes). Accuracy is computed on the unlabelled rows only: one Hungarian matching
of clusters to classes over all of them (:func:`~graphclust.metrics.match_labels`), then
the share of rows whose matched class is right, on all unlabelled rows, on those of the
known classes and on those of the new classes. Any number of clusters; a cluster left
without a class counts as errors.
"""

from __future__ import annotations

from typing import Any

import torch

from graphclust.metrics._inputs import as_labels
from graphclust.metrics.supervised import match_labels


def _as_mask(mask: Any, num_nodes: int) -> torch.Tensor:
    """``mask`` as a CPU BoolTensor [N], or a ValueError saying what is wrong."""
    tensor = torch.as_tensor(mask).detach().cpu()
    if tensor.dtype != torch.bool or tensor.shape != (num_nodes,):
        raise ValueError(
            f"labeled_mask must be a boolean vector [N] = [{num_nodes}], got dtype "
            f"{tensor.dtype} and shape {list(tensor.shape)}"
        )
    return tensor


def gcd_accuracy(y: Any, labels: Any, labeled_mask: Any, known: Any) -> dict[str, float]:
    """ACC all / old / new of a partition on the rows whose labels were not given.

    Args:
        y: true classes [N], any integer values.
        labels: predicted clusters [N], any integer values; any number of clusters.
        labeled_mask: boolean [N], True on the rows whose labels the method was given;
            they are left out of every score.
        known: the known ("old") classes, a 1-D integer vector in the values of ``y``;
            the other classes are the new ones.

    Returns:
        ``{"acc_all", "acc_old", "acc_new"}``, each in [0, 1]: the share of unlabelled
        rows whose cluster is matched to their class, over all of them, over those of a
        known class and over those of a new class (nan where that group has no row).
        The matching is one and the same for the three.

    Raises:
        ValueError: vectors of different lengths, a mask that is not boolean [N], or a
            mask with no unlabelled row.
        TypeError: labels that are not integers.
    """
    true = as_labels(y, "y")
    pred = as_labels(labels, "labels", num_nodes=true.numel())
    unlabelled = ~_as_mask(labeled_mask, true.numel())
    if not bool(unlabelled.any()):
        raise ValueError("labeled_mask is True on every row; GCD accuracy needs unlabelled rows")
    true, pred = true[unlabelled], pred[unlabelled]
    hit = (match_labels(true, pred) == true).double()
    old = torch.isin(true, as_labels(known, "known"))

    def mean(rows: torch.Tensor) -> float:
        return float(hit[rows].mean()) if bool(rows.any()) else float("nan")

    return {"acc_all": float(hit.mean()), "acc_old": mean(old), "acc_new": mean(~old)}


__all__ = ["gcd_accuracy"]
