"""Sampled inter pairs: never an edge or a known intra pair, uniform, seeded."""

from __future__ import annotations

import pytest
import torch

import graphclust.metrics.pair_sampling as module
from graphclust.metrics.pair_sampling import sample_inter_pairs


def _ring(n: int) -> torch.Tensor:
    i = torch.arange(n)
    return torch.stack([i, (i + 1) % n])


def test_sampled_inter_pairs_avoid_edges_and_intra() -> None:
    edges, intra = _ring(8), torch.tensor([[0, 5], [4, 1]])
    pairs, candidates = sample_inter_pairs(edges, 8, 10, exclude=intra, seed=3)
    assert candidates == 28 - 8 - 2
    keys = {tuple(p) for p in pairs.t().tolist()}
    assert len(keys) == 10 and all(i < j for i, j in keys)
    forbidden = {(min(i, j), max(i, j)) for i, j in torch.cat([edges, intra], 1).t().tolist()}
    assert not keys & forbidden
    again, _ = sample_inter_pairs(edges, 8, 10, exclude=intra, seed=3)
    assert torch.equal(pairs, again)
    with pytest.raises(ValueError, match="only 18 node pairs"):
        sample_inter_pairs(edges, 8, 19, exclude=intra)


@pytest.mark.parametrize("enumerate_limit", [10**9, 0])
def test_sampling_is_uniform(monkeypatch: pytest.MonkeyPatch, enumerate_limit: int) -> None:
    """The 14 non-adjacent pairs of a 7-ring are drawn equally often (chi-square), both by
    enumeration and by the rejection path used on large graphs."""
    monkeypatch.setattr(module, "ENUMERATE_LIMIT", enumerate_limit)
    edges = _ring(7)
    counts: dict[tuple[int, int], int] = {}
    draws = 600
    for seed in range(draws):
        pairs, candidates = sample_inter_pairs(edges, 7, 2, seed=seed)
        for pair in pairs.t().tolist():
            counts[tuple(pair)] = counts.get(tuple(pair), 0) + 1
    assert candidates == 14 and len(counts) == 14
    expected = draws * 2 / 14
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 36.0  # 13 degrees of freedom: p ~ 0.001
