"""Inter-community pairs for EDGE when only intra pairs are known: uniform samples of
node pairs with no edge between them (and not among the known intra pairs).

Exhaustive enumeration of the candidate pairs below ``ENUMERATE_LIMIT`` node pairs,
rejection sampling above it (where almost every pair is a candidate); both give a
uniform sample without replacement, and the same seed gives the same pairs.
"""

from __future__ import annotations

import numpy as np
import torch

#: Candidate pairs are enumerated below this many node pairs, else rejection-sampled.
ENUMERATE_LIMIT = 5_000_000


def undirected_pair_keys(pairs: torch.Tensor, num_nodes: int) -> np.ndarray:
    """Sorted unique keys ``min(i, j) * N + max(i, j)`` of pairs [2, M], self-pairs
    dropped: one key per unordered pair."""
    low = torch.minimum(pairs[0], pairs[1])
    high = torch.maximum(pairs[0], pairs[1])
    keep = low != high
    return np.unique((low[keep] * num_nodes + high[keep]).numpy())


def sample_inter_pairs(
    edge_index: torch.Tensor,
    num_nodes: int,
    n_samples: int,
    exclude: torch.Tensor | None = None,
    seed: int = 0,
) -> tuple[torch.Tensor, int]:
    """Draw distinct unordered node pairs uniformly among pairs with no edge between them.

    Args:
        edge_index: [2, E] (either direction counts as an edge).
        num_nodes: N.
        n_samples: how many pairs to draw (without replacement).
        exclude: further pairs [2, M] that must not be drawn (e.g. the known intra pairs).
        seed: seed of the NumPy generator; the same seed gives the same pairs.

    Returns:
        pairs: LongTensor [2, n_samples] with i < j in each column.
        n_candidates: the number of pairs the sample was drawn from.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    taken = undirected_pair_keys(edge_index.cpu().long(), num_nodes)
    if exclude is not None and exclude.numel() > 0:
        taken = np.union1d(taken, undirected_pair_keys(exclude.cpu().long(), num_nodes))
    total = num_nodes * (num_nodes - 1) // 2
    n_candidates = total - taken.size
    if n_samples > n_candidates:
        raise ValueError(
            f"cannot sample {n_samples} inter pairs: only {n_candidates} node pairs have "
            "no edge and are not known intra pairs; ask for fewer"
        )
    rng = np.random.default_rng(seed)
    if total <= ENUMERATE_LIMIT:
        low, high = np.triu_indices(num_nodes, k=1)
        keys = low.astype(np.int64) * num_nodes + high
        keys = keys[~np.isin(keys, taken, assume_unique=True)]
        chosen = rng.choice(keys, size=n_samples, replace=False)
    else:
        chosen = _rejection_sample(rng, num_nodes, n_samples, taken)
    pairs = torch.from_numpy(np.stack([chosen // num_nodes, chosen % num_nodes]))
    return pairs, n_candidates


def _rejection_sample(
    rng: np.random.Generator, num_nodes: int, n_samples: int, taken: np.ndarray
) -> np.ndarray:
    """Uniform distinct keys outside ``taken`` for large N, where almost every pair is free."""
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < n_samples:
        need = n_samples - chosen.size
        i = rng.integers(0, num_nodes, size=2 * need + 16)
        j = rng.integers(0, num_nodes, size=2 * need + 16)
        keep = i != j
        keys = np.minimum(i, j)[keep] * num_nodes + np.maximum(i, j)[keep]
        keys = keys[~np.isin(keys, taken)]
        # keep first occurrences only, in draw order, so the result is a uniform sample
        _, first = np.unique(np.concatenate([chosen, keys]), return_index=True)
        merged = np.concatenate([chosen, keys])[np.sort(first)]
        chosen = merged[:n_samples]
    return chosen


__all__ = ["ENUMERATE_LIMIT", "sample_inter_pairs", "undirected_pair_keys"]
