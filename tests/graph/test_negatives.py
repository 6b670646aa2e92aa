"""NegativeSampler: negatives are never neighbours (brute-force adjacency sets), the
exact draw is uniform, PyG's stream is kept on ordinary graphs, and star and complete
graphs end at once instead of resampling forever."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.utils import erdos_renyi_graph, structured_negative_sampling

import graphclust.graph.negatives as negatives_module
from graphclust.graph.negatives import NegativeSampler


def _star(n: int) -> torch.Tensor:
    hub, leaves = torch.zeros(n - 1, dtype=torch.long), torch.arange(1, n)
    return torch.cat([torch.stack([hub, leaves]), torch.stack([leaves, hub])], dim=1)


def _complete(n: int) -> torch.Tensor:
    pairs = torch.ones(n, n).nonzero().t()
    return pairs[:, pairs[0] != pairs[1]]


def _neighbours(edge_index: torch.Tensor, n: int) -> list[set[int]]:
    """Out-neighbours of every node, by a loop over the edges."""
    sets = [set() for _ in range(n)]
    for i, j in edge_index.t().tolist():
        sets[i].add(j)
    return sets


def _check_against_brute_force(edge_index: torch.Tensor, n: int, draws: int = 20) -> None:
    neighbours = _neighbours(edge_index, n)
    sampler = NegativeSampler(edge_index, n)
    for i in range(n):
        assert int(sampler.free[i]) == n - 1 - len(neighbours[i] - {i})
    for _ in range(draws):
        neg = sampler.sample()
        for e, (i, u) in enumerate(zip(edge_index[0].tolist(), neg.tolist(), strict=True)):
            has_negative = len(neighbours[i] | {i}) < n
            assert bool(sampler.valid[e]) == has_negative
            if has_negative:
                assert u != i and u not in neighbours[i], (i, u)
        src, dst, neg = sampler.triples(edge_index)
        kept = sampler.valid
        assert torch.equal(src, edge_index[0][kept]) and torch.equal(dst, edge_index[1][kept])
        assert all(
            u != i and u not in neighbours[i]
            for i, u in zip(src.tolist(), neg.tolist(), strict=True)
        )


@pytest.mark.parametrize("rounds", [0, negatives_module.REJECTION_ROUNDS])
@pytest.mark.parametrize("p", [0.1, 0.6, 0.95])
def test_negatives_are_never_neighbours(monkeypatch: pytest.MonkeyPatch, p: float, rounds):
    # rounds=0: every rejected draw goes to the exact draw; duplicate edges and
    # self-loops included
    monkeypatch.setattr(negatives_module, "REJECTION_ROUNDS", rounds)
    torch.manual_seed(0)
    n = 24
    edge_index = erdos_renyi_graph(n, p, directed=True)
    extra = torch.tensor([[0, 0, 3, 5], [0, 1, 3, 5]])
    edge_index = torch.cat([edge_index, edge_index[:, :5], extra], dim=1)
    _check_against_brute_force(edge_index, n)


def test_star_and_complete_graphs_end_and_mark_the_hub() -> None:
    n = 12
    star = NegativeSampler(_star(n), n)
    # the hub's n - 1 edges have no negative; every leaf has n - 2 non-neighbours
    assert star.has_negatives
    assert star.valid.tolist() == [False] * (n - 1) + [True] * (n - 1)
    assert star.free.tolist() == [0] + [n - 2] * (n - 1)
    _check_against_brute_force(_star(n), n)
    complete = NegativeSampler(_complete(n), n)
    assert not complete.has_negatives and not bool(complete.valid.any())
    src, dst, neg = complete.triples(_complete(n))
    assert src.numel() == dst.numel() == neg.numel() == 0


def test_the_exact_draw_is_uniform_over_the_non_neighbours(monkeypatch) -> None:
    monkeypatch.setattr(negatives_module, "REJECTION_ROUNDS", 0)
    n = 10
    allowed = [2, 5, 9]  # node 0's non-neighbours
    targets = [u for u in range(1, n) if u not in allowed]
    edge_index = torch.tensor([[0] * len(targets), targets]).repeat(1, 500)
    torch.manual_seed(0)
    sampler = NegativeSampler(edge_index, n)
    draws = torch.cat([sampler.sample() for _ in range(4)])
    counts = torch.bincount(draws, minlength=n).float()
    assert set(torch.nonzero(counts).view(-1).tolist()) == set(allowed)
    shares = counts[allowed] / counts.sum()
    torch.testing.assert_close(shares, torch.full((3,), 1 / 3), atol=0.02, rtol=0)


def test_keeps_pygs_random_stream_on_ordinary_graphs() -> None:
    torch.manual_seed(1)
    edge_index = erdos_renyi_graph(300, 0.05)
    torch.manual_seed(7)
    _, _, expected = structured_negative_sampling(edge_index, 300, contains_neg_self_loops=False)
    torch.manual_seed(7)
    assert torch.equal(NegativeSampler(edge_index, 300).sample(), expected)
