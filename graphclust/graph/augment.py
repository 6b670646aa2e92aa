"""Stochastic views of an attributed graph: feature-column masking and edge dropping.

The two augmentations of GRACE (Zhu et al. 2020) and most graph contrastive methods,
drawn from a caller's CPU generator so that a seed gives the same views on any device.
Both return new tensors and never modify their input.
"""

from __future__ import annotations

import torch


def _check_rate(p: float, name: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be a rate in [0, 1), got {p!r}")
    return float(p)


def mask_feature_columns(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero a random subset of feature columns, the same columns for every node.

    Each of the ``D`` columns is dropped independently with probability ``p`` (GRACE's
    feature masking: one mask per view, shared by all nodes, so the view hides whole
    attributes rather than noise per entry).

    Args:
        x: ``[N, D]`` node features.
        p: drop rate in ``[0, 1)``; 0 returns ``x`` itself.
        generator: CPU generator for the mask.

    Returns:
        ``[N, D]`` features with the dropped columns set to 0.
    """
    p = _check_rate(p, "p")
    if p == 0.0:
        return x
    keep = torch.rand(x.shape[1], generator=generator) >= p
    return x * keep.to(device=x.device, dtype=x.dtype)


def drop_edges(
    edge_index: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Remove each directed edge independently with probability ``p``.

    The two directions of an undirected edge are dropped independently (as GRACE and
    PyG's ``dropout_edge`` do); a GCN normalises whatever in-degrees remain.

    Args:
        edge_index: ``[2, E]`` edges.
        p: drop rate in ``[0, 1)``; 0 returns ``edge_index`` itself.
        generator: CPU generator for the draw.

    Returns:
        ``[2, E']`` the kept edges, in their original order.
    """
    p = _check_rate(p, "p")
    if p == 0.0:
        return edge_index
    keep = torch.rand(edge_index.shape[1], generator=generator) >= p
    return edge_index[:, keep.to(edge_index.device)]


__all__ = ["drop_edges", "mask_feature_columns"]
