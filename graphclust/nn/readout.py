"""Community affiliation readout, its edge model and the group-sparsity norm (DAG).

A 2-layer GCN maps embeddings H [N, d] to non-negative affiliations C [N, Kmax]; the
edge model is p(i, j) = sigmoid(C_i . C_j), trained with a BPR loss against one sampled
non-neighbour per edge (:func:`graphclust.losses.bpr_loss`). The last layer's weight
W [hidden, Kmax] carries a group-sparsity penalty sum_k ||W[:, k]||_2, which drives whole
columns (communities) to zero; a zero column gives C[:, k] = 0 for every node (the layer
has no bias), an empty community.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graphclust.graph.adjacency import normalized_adjacency


def group_sparsity(weight: torch.Tensor) -> torch.Tensor:
    """The group-lasso norm ``sum_k ||W[:, k]||_2`` of a weight W [in, K] (groups: columns).

    Returns a scalar; its subgradient pulls each column towards zero with unit strength,
    whatever the column's norm, which is what lets whole communities vanish.
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be a matrix [in, K], got shape {list(weight.shape)}")
    return weight.norm(dim=0).sum()


def gcn_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """GCN's ``Ahat = D^-1/2 (A + I) D^-1/2`` as a sparse CSR tensor [N, N]."""
    return normalized_adjacency(edge_index, num_nodes, add_self_loops=True, kind="sym")


class _SymmetricSpMM(torch.autograd.Function):
    """``Ahat @ X`` for a symmetric sparse ``Ahat``, differentiable in X only.

    The gradient ``Ahat^T G`` equals ``Ahat G``, so the backward pass is the same
    sparse-times-dense product as the forward one: no transposed (CSC) copy of Ahat is
    formed, and only the plain CSR product is needed on every device.
    """

    @staticmethod
    def forward(ctx: Any, adjacency: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        ctx.adjacency = adjacency
        return torch.sparse.mm(adjacency, dense)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, torch.sparse.mm(ctx.adjacency, grad)


def symmetric_propagate(adjacency: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``Ahat @ X`` [N, d] for a symmetric sparse Ahat [N, N] (e.g. :func:`gcn_adjacency`
    of an undirected graph); the adjacency itself gets no gradient."""
    return _SymmetricSpMM.apply(adjacency, dense)


class CommunityReadout(nn.Module):
    """``C = out(Ahat ReLU(Ahat H W1 + b1) W2)``: a 2-layer GCN from embeddings to
    affiliations.

    The propagation is a sparse matrix product with a precomputed ``Ahat`` (see
    :func:`gcn_adjacency`), and the second layer aggregates before it projects,
    ``(Ahat H1) W2``: the same numbers as a PyG ``GCNConv`` (which projects first), but
    no per-edge tensor of width ``k_max`` is ever formed, so memory stays O(E + N d) on
    graphs of millions of edges.

    Args:
        in_channels: embedding size d.
        hidden: width of the GCN's hidden layer.
        k_max: number of candidate communities (columns of C).
        output: "relu" (non-negative, unnormalised affiliations; the paper's main form
            and the default) or "softmax" (rows sum to 1; the paper's alternative).
        input_norm: "none" (the paper) or "layer": each row of H is standardised (zero
            mean, unit variance over its d entries, no learned scale) before the first
            layer, so C starts at unit scale whatever the encoder's output scale. With
            a small H (e.g. one-hot node features), ``C ~ 0`` at initialisation and the
            BPR gradient, which is proportional to C, stays near zero: the readout
            never leaves that saddle (experiments/dag/README.md).

    Shapes:
        ``forward(h [N, d], adjacency [N, N] sparse, symmetric) -> (C [N, k_max],
        scores [N, k_max])``,
        ``scores`` being the pre-activation ``Ahat ReLU(Ahat H W1 + b1) W2``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden: int,
        k_max: int,
        output: str = "relu",
        input_norm: str = "none",
    ) -> None:
        super().__init__()
        if output not in ("relu", "softmax"):
            raise ValueError(f"output must be 'relu' or 'softmax', got {output!r}")
        if input_norm not in ("none", "layer"):
            raise ValueError(f"input_norm must be 'none' or 'layer', got {input_norm!r}")
        self.input_norm = input_norm
        if k_max < 2:
            raise ValueError(f"k_max must be at least 2, got {k_max}")
        self.output = output
        self.lin1 = nn.Linear(in_channels, hidden, bias=False)
        self.bias1 = nn.Parameter(torch.zeros(hidden))  # added after propagation, as in GCN
        # no bias: a zeroed column of W must mean C[:, k] == 0 for every node
        self.lin2 = nn.Linear(hidden, k_max, bias=False)
        nn.init.xavier_uniform_(self.lin1.weight)
        nn.init.xavier_uniform_(self.lin2.weight)

    @property
    def weight(self) -> torch.Tensor:
        """The last layer's W [hidden, k_max] (columns = communities)."""
        return self.lin2.weight.t()

    def column_norms(self) -> torch.Tensor:
        """``||W[:, k]||_2`` for every k: FloatTensor [k_max]."""
        return self.weight.detach().norm(dim=0)

    def forward(
        self, h: torch.Tensor, adjacency: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.input_norm == "layer":
            h = F.layer_norm(h, h.shape[-1:])
        inner = F.relu(symmetric_propagate(adjacency, self.lin1(h)) + self.bias1)
        scores = self.lin2(symmetric_propagate(adjacency, inner))
        c = F.relu(scores) if self.output == "relu" else scores.softmax(dim=-1)
        return c, scores


# -- reading communities from the affiliations C ----------------------------------------


def affiliation_labels(c: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard labels I_i = argmax_k C_ik, relabelled to 0..K-1 (K non-empty communities).

    A node whose affiliation row is all zero (every pre-activation negative under ReLU)
    has no argmax in C; it takes the argmax of the pre-activation ``scores`` [N, k_max]
    (the community it is closest to joining) instead of an arbitrary column 0.

    Returns:
        labels: LongTensor [N] in 0..K-1.
        columns: LongTensor [K], the column of C that community j came from (ascending).
    """
    raw = c.argmax(dim=1)
    dead = c.max(dim=1).values <= 0
    if bool(dead.any()):
        raw = torch.where(dead, scores.argmax(dim=1), raw)
    columns, labels = torch.unique(raw, return_inverse=True)
    return labels, columns


def community_sizes(c: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Nodes per column of C [k_max] under the labels of :func:`affiliation_labels`, as
    a float tensor on C's device (no host synchronisation)."""
    raw = torch.where(c.max(dim=1).values > 0, c.argmax(dim=1), scores.argmax(dim=1))
    # scatter, not bincount: CUDA's bincount reads the maximum back to the host
    ones = torch.ones_like(raw, dtype=c.dtype)
    return torch.zeros(c.size(1), dtype=c.dtype, device=c.device).scatter_add_(0, raw, ones)


def count_communities(c: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """K, the number of non-empty communities of :func:`affiliation_labels`, as a float
    tensor on C's device (no host synchronisation)."""
    return (community_sizes(c, scores) > 0).sum().to(c.dtype)


def community_shares(c: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """Soft assignment [N, K]: the K used columns of C [N, k_max], rows normalised to 1.

    A row with no mass on those columns becomes uniform, so every row sums to 1.
    """
    shares = c[:, columns].float()
    totals = shares.sum(dim=1, keepdim=True)
    uniform = torch.full_like(shares, 1.0 / columns.numel())
    return torch.where(totals > 0, shares / totals.clamp_min(1e-12), uniform)


__all__ = [
    "CommunityReadout",
    "affiliation_labels",
    "community_shares",
    "community_sizes",
    "count_communities",
    "gcn_adjacency",
    "group_sparsity",
    "symmetric_propagate",
]
