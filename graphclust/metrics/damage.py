"""Partitions made from the true classes by controlled damage, to calibrate a score.

What a score rewards shows in how it falls as a known partition is damaged in known
ways: EDGE (:mod:`~graphclust.metrics.edge`), the F1 of the intra class over the graph's
edges, depends on how many edges a partition cuts and which, so errors scattered over
the graph cost it more than the same number of errors that follow the graph. Four kinds
of damage, each of a strength the caller sets, each seeded by a ``torch.Generator``:

* :func:`random_damage`: each node, with probability ``fraction``, gets a class drawn
  uniformly (errors scattered over the graph, as a feature-space clustering makes them);
* :func:`ball_damage`: whole closed 1-hop neighbourhoods move to a random class until a
  ``fraction`` of the nodes has moved (errors that follow the graph);
* :func:`merge_damage`: pairs of classes merged (no edge is cut: EDGE's recall stays 1,
  its precision drops);
* :func:`split_damage`: every class cut into random parts (no pair of classes shares a
  part: precision stays 1, recall drops).

Classes are the values ``0..C-1`` of ``y``, ``C = y.max() + 1``. Every function returns
a new LongTensor [N] and leaves ``y`` as it was.
"""

from __future__ import annotations

from typing import Any

import torch

from graphclust.data.validation import check_edge_index
from graphclust.metrics._inputs import as_labels
from graphclust.utils.checks import positive_int, probability


def _classes(y: Any) -> tuple[torch.Tensor, int]:
    """``y`` as a LongTensor [N] of classes ``0..C-1``, and ``C``."""
    labels = as_labels(y, "y")
    if int(labels.min()) < 0:
        raise ValueError(f"y must hold classes 0..C-1, got a negative value {int(labels.min())}")
    return labels, int(labels.max()) + 1


def _generator(generator: Any) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
            f"got {type(generator).__name__}"
        )
    return generator


def random_damage(y: Any, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Redraw the class of each node with probability ``fraction``.

    A redrawn node gets a class uniform over ``0..C-1``, its own included, so the
    expected share of nodes whose class changes is ``fraction (C - 1) / C``.

    Args:
        y: true classes [N], values ``0..C-1``.
        fraction: probability in [0, 1] that a node is redrawn.
        generator: the source of randomness (CPU).

    Returns:
        The damaged partition, LongTensor [N].
    """
    labels, n_classes = _classes(y)
    fraction = probability(fraction, "fraction")
    generator = _generator(generator)
    out = labels.clone()
    moved = torch.rand(labels.numel(), generator=generator) < fraction
    out[moved] = torch.randint(0, n_classes, (int(moved.sum()),), generator=generator)
    return out


def ball_damage(
    y: Any, fraction: float, generator: torch.Generator, edge_index: torch.Tensor
) -> torch.Tensor:
    """Move whole closed 1-hop neighbourhoods to random classes until ``fraction N``
    nodes have moved.

    Centres are visited in a random order; each centre's ball is the centre and its
    neighbours (the targets of its edges) that have not moved yet, and it goes as one to
    a class uniform over ``0..C-1`` (possibly its own). It stops as soon as at least
    ``floor(fraction N)`` nodes have moved, so it overshoots by less than one ball.

    Args:
        y: true classes [N], values ``0..C-1``.
        fraction: share in [0, 1] of the nodes to move.
        generator: the source of randomness (CPU).
        edge_index: [2, E] the graph, each undirected edge in both directions.

    Returns:
        The damaged partition, LongTensor [N].
    """
    labels, n_classes = _classes(y)
    fraction = probability(fraction, "fraction")
    generator = _generator(generator)
    n = labels.numel()
    edges = check_edge_index(edge_index, n).cpu()
    neighbours = edges[1][torch.argsort(edges[0], stable=True)]
    ptr = torch.zeros(n + 1, dtype=torch.long)
    ptr[1:] = torch.cumsum(torch.bincount(edges[0], minlength=n), 0)
    out = labels.clone()
    moved = torch.zeros(n, dtype=torch.bool)
    n_moved, target = 0, int(fraction * n)
    for centre in torch.randperm(n, generator=generator).tolist():
        if n_moved >= target:
            break
        ball = torch.cat([torch.tensor([centre]), neighbours[ptr[centre] : ptr[centre + 1]]])
        ball = ball[~moved[ball]].unique()  # a repeated edge must not count a node twice
        if ball.numel() == 0:
            continue
        out[ball] = int(torch.randint(0, n_classes, (1,), generator=generator))
        moved[ball] = True
        n_moved += ball.numel()
    return out


def merge_damage(y: Any, n_merges: int, generator: torch.Generator) -> torch.Tensor:
    """Merge ``n_merges`` disjoint random pairs of classes.

    The classes are shuffled; class ``perm[2i + 1]`` joins class ``perm[2i]`` for
    ``i < n_merges``, so the result has ``C - n_merges`` classes and no two nodes of one
    class are ever separated.

    Args:
        y: true classes [N], values ``0..C-1``.
        n_merges: pairs to merge, 0 to ``C // 2``.
        generator: the source of randomness (CPU).

    Returns:
        The damaged partition, LongTensor [N], in the values of ``y``.
    """
    labels, n_classes = _classes(y)
    n_merges = positive_int(n_merges, "n_merges", minimum=0)
    generator = _generator(generator)
    if n_merges > n_classes // 2:
        raise ValueError(
            f"n_merges must be at most C // 2 = {n_classes // 2} (disjoint pairs of the "
            f"{n_classes} classes), got {n_merges}"
        )
    perm = torch.randperm(n_classes, generator=generator)
    mapping = torch.arange(n_classes)
    mapping[perm[1 : 2 * n_merges : 2]] = perm[0 : 2 * n_merges : 2]
    return mapping[labels]


def split_damage(y: Any, n_splits: int, generator: torch.Generator) -> torch.Tensor:
    """Cut every class into ``n_splits + 1`` parts, each node to a uniform random part.

    Node ``i`` gets ``y[i] + C r_i`` with ``r_i`` uniform over ``0..n_splits``, so
    ``result % C == y``: every part lies inside one class.

    Args:
        y: true classes [N], values ``0..C-1``.
        n_splits: extra parts per class, >= 0.
        generator: the source of randomness (CPU).

    Returns:
        The damaged partition, LongTensor [N], values ``0..C (n_splits + 1) - 1``.
    """
    labels, n_classes = _classes(y)
    n_splits = positive_int(n_splits, "n_splits", minimum=0)
    generator = _generator(generator)
    parts = torch.randint(0, n_splits + 1, (labels.numel(),), generator=generator)
    return labels + n_classes * parts


__all__ = ["ball_damage", "merge_damage", "random_damage", "split_damage"]
