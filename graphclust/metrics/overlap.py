"""Scores against overlapping ground truth (covers): overlapping NMI, F1, Jaccard.

A *cover* is an [N, C] 0/1 membership matrix: node i is in community c when entry
(i, c) is 1; a node may be in several communities or in none. Hard labels [N] are the
special case of one community per node (a negative label: in none).

* :func:`overlapping_nmi`: McDaid, Greene & Hurley (2011), "Normalized mutual
  information to evaluate overlapping community finding algorithms", arXiv:1110.2515,
  the ``NMI_max`` variant used by NOCD (Shchur & Günnemann 2019). Each community is a
  binary random variable over nodes; with a = |not X_k, not Y_l|, b = |not X_k, Y_l|,
  c = |X_k, not Y_l|, d = |X_k, Y_l| and h(w) = -w log2(w / N),

      H*(X_k | Y_l) = h(a) + h(b) + h(c) + h(d) - h(b + d) - h(a + c)
                      if h(a) + h(d) >= h(b) + h(c), else H(X_k) = h(c + d) + h(a + b)

  (the constraint keeps a complementary community from counting as informative),
  H(X | Y) = sum_k min_l H*(X_k | Y_l), H(X) = sum_k H(X_k),
  I(X : Y) = [H(X) - H(X | Y) + H(Y) - H(Y | X)] / 2 and
  NMI_max = I(X : Y) / max(H(X), H(Y)). Symmetric, 1 for identical covers, ~0 for
  independent ones. Not equal to the usual NMI on partitions.
* :func:`overlapping_f1`: the average best-match F1 of Yang & Leskovec (2013),
  ``[mean_i max_j F1(C_i, P_j) + mean_j max_i F1(C_i, P_j)] / 2`` with
  ``F1(C, P) = 2 |C & P| / (|C| + |P|)``.
* :func:`symmetric_jaccard`: the same with Jaccard ``|C & P| / |C | P|`` (NOCD's
  ``symmetric_jaccard``).

Empty communities (columns without members) are dropped first: they carry no
information for NMI and would only dilute the F1/Jaccard averages. Everything is
computed from the C1 x C2 intersection counts (one sparse product), so large covers
are cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import xlogy


def as_membership(cover: Any, name: str = "cover", num_nodes: int | None = None) -> sp.csr_matrix:
    """An [N, C] 0/1 membership (tensor, numpy, scipy sparse) or hard labels [N] as CSR.

    Hard labels become one column per distinct non-negative label (sorted); a negative
    label leaves the node in no community. Empty columns are dropped.

    Raises:
        ValueError: not 1-D/2-D, wrong N, values other than 0/1, or no community at all.
    """
    if isinstance(cover, torch.Tensor):
        cover = cover.detach().cpu()
        cover = cover.to_dense().numpy() if cover.is_sparse else cover.numpy()
    if sp.issparse(cover):
        m = sp.csr_matrix(cover)
    else:
        arr = np.asarray(cover)
        if arr.ndim == 1:
            if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
                raise TypeError(f"{name}: hard labels must be integers, got dtype {arr.dtype}")
            rows = np.flatnonzero(arr >= 0)
            _, cols = np.unique(arr[rows], return_inverse=True)
            shape = (arr.size, int(cols.max()) + 1 if cols.size else 0)
            m = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=shape)
        elif arr.ndim == 2:
            m = sp.csr_matrix(arr.astype(np.float64))
        else:
            raise ValueError(
                f"{name} must be hard labels [N] or a membership matrix [N, C], got shape "
                f"{list(arr.shape)}"
            )
    if num_nodes is not None and m.shape[0] != num_nodes:
        raise ValueError(
            f"{name} has {m.shape[0]} rows but {num_nodes} nodes were expected; both covers "
            "must describe the same nodes in the same order"
        )
    m.eliminate_zeros()
    if m.nnz and not np.all(m.data == 1):
        raise ValueError(
            f"{name} must be a 0/1 membership matrix; threshold soft memberships first, "
            "e.g. (assignment > 0.5)"
        )
    m = m[:, np.flatnonzero(np.diff(m.tocsc().indptr))]  # drop empty communities
    if m.shape[1] == 0:
        raise ValueError(f"{name} has no non-empty community; nothing to compare")
    return m.astype(np.float64).tocsr()


def _pair_counts(x: sp.csr_matrix, y: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"the covers describe {x.shape[0]} and {y.shape[0]} nodes; both must cover the "
            "same nodes in the same order"
        )
    inter = np.asarray((x.T @ y).todense())  # [C1, C2] |X_k & Y_l|
    return inter, np.asarray(x.sum(axis=0)).ravel(), np.asarray(y.sum(axis=0)).ravel()


def _h(w: np.ndarray, n: int) -> np.ndarray:
    """h(w) = -w log2(w / n), with h(0) = 0."""
    return -(xlogy(w, w) - xlogy(w, n)) / np.log(2)


def _conditional(d: np.ndarray, size_x: np.ndarray, size_y: np.ndarray, n: int) -> float:
    """H(X | Y) = sum_k min_l H*(X_k | Y_l), from d = |X_k & Y_l| [Kx, Ky]."""
    c = size_x[:, None] - d  # in X_k, not in Y_l
    b = size_y[None, :] - d  # in Y_l, not in X_k
    a = n - b - c - d
    ha, hb, hc, hd = _h(a, n), _h(b, n), _h(c, n), _h(d, n)
    joint_minus_y = ha + hb + hc + hd - _h(b + d, n) - _h(a + c, n)
    h_x = np.broadcast_to((_h(size_x, n) + _h(n - size_x, n))[:, None], d.shape)
    cond = np.where(ha + hd >= hb + hc, joint_minus_y, h_x)
    return float(cond.min(axis=1).sum())


def overlapping_nmi(cover_true: Any, cover_pred: Any) -> float:
    """McDaid et al.'s overlapping NMI (``NMI_max``) between two covers.

    Args:
        cover_true, cover_pred: [N, C] 0/1 memberships or hard labels [N] (see
            :func:`as_membership`); the column counts may differ.

    Returns:
        a float in [0, 1]; 1.0 when both covers have zero entropy (every community is
        all nodes), where the ratio is 0/0.
    """
    x = as_membership(cover_true, "cover_true")
    y = as_membership(cover_pred, "cover_pred", num_nodes=x.shape[0])
    n = x.shape[0]
    d, size_x, size_y = _pair_counts(x, y)
    h_x = float((_h(size_x, n) + _h(n - size_x, n)).sum())
    h_y = float((_h(size_y, n) + _h(n - size_y, n)).sum())
    if max(h_x, h_y) <= 0:
        return 1.0
    mutual = 0.5 * (h_x + h_y - _conditional(d, size_x, size_y, n))
    mutual -= 0.5 * _conditional(d.T, size_y, size_x, n)
    return float(np.clip(mutual / max(h_x, h_y), 0.0, 1.0))


def _best_match(similarity: np.ndarray) -> float:
    return 0.5 * float(similarity.max(axis=1).mean() + similarity.max(axis=0).mean())


def overlapping_f1(cover_true: Any, cover_pred: Any) -> float:
    """Average best-match F1 between two covers, both directions (Yang & Leskovec 2013).

    Args:
        cover_true, cover_pred: [N, C] 0/1 memberships or hard labels [N].

    Returns:
        a float in [0, 1].
    """
    x = as_membership(cover_true, "cover_true")
    y = as_membership(cover_pred, "cover_pred", num_nodes=x.shape[0])
    inter, size_x, size_y = _pair_counts(x, y)
    return _best_match(2.0 * inter / (size_x[:, None] + size_y[None, :]))


def symmetric_jaccard(cover_true: Any, cover_pred: Any) -> float:
    """Average best-match Jaccard similarity, both directions (NOCD's metric)."""
    x = as_membership(cover_true, "cover_true")
    y = as_membership(cover_pred, "cover_pred", num_nodes=x.shape[0])
    inter, size_x, size_y = _pair_counts(x, y)
    return _best_match(inter / (size_x[:, None] + size_y[None, :] - inter))
