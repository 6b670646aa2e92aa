"""Generalised category discovery scoring (Vaze et al., CVPR 2022; GPC's protocol).

ACC is computed on the unlabelled rows only: one Hungarian matching of clusters to
classes over all of them (``graphclust.metrics.match_labels``), then the share of rows
whose matched class is right, on all rows, on the rows of the known ("old") classes and
on the rows of the new classes. Any number of clusters; unmatched clusters count as
errors.
"""

from __future__ import annotations

import torch

from graphclust.metrics import match_labels


def gcd_accuracy(
    y: torch.Tensor, labels: torch.Tensor, labeled_mask: torch.Tensor, known: torch.Tensor
) -> dict[str, float]:
    """ACC all / old / new of ``labels`` [N] against ``y`` [N] on the unlabelled rows.

    Args:
        y: true classes [N].
        labels: predicted clusters [N].
        labeled_mask: BoolTensor [N], the rows whose labels the method was given.
        known: the known classes (LongTensor).

    Returns:
        {"acc_all", "acc_old", "acc_new"} (nan for an empty group).
    """
    unl = ~labeled_mask
    true, pred = y[unl].long(), labels[unl].long()
    hit = (match_labels(true, pred) == true).float()
    old = torch.isin(true, known)

    def mean(rows: torch.Tensor) -> float:
        return float(hit[rows].mean()) if bool(rows.any()) else float("nan")

    return {"acc_all": float(hit.mean()), "acc_old": mean(old), "acc_new": mean(~old)}


__all__ = ["gcd_accuracy"]
