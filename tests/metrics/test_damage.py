"""Label-damage partitions (graphclust.metrics.damage) on hand-made graphs: each does
the damage it names, and EDGE responds as the metric's definition says."""

from __future__ import annotations

import pytest
import torch

from graphclust.metrics import ball_damage, edge_score, merge_damage, random_damage, split_damage


def _path(n: int) -> torch.Tensor:
    """A path 0-1-...-(n-1), both directions."""
    src = torch.arange(n - 1)
    return torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], 1)


def _balls_by_hand(y: torch.Tensor, fraction: float, seed: int, edges: torch.Tensor):
    """ball_damage with Python sets and lists, drawing the same random numbers."""
    g = torch.Generator().manual_seed(seed)
    n, k = y.numel(), int(y.max()) + 1
    neighbours: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in edges.t().tolist():
        neighbours[a].add(b)
    out, moved = y.tolist(), set()
    for centre in torch.randperm(n, generator=g).tolist():
        if len(moved) >= int(fraction * n):
            break
        ball = ({centre} | neighbours[centre]) - moved
        if ball:
            new = int(torch.randint(0, k, (1,), generator=g))
            for node in ball:
                out[node] = new
            moved |= ball
    return torch.tensor(out)


def test_merge_keeps_recall_and_split_keeps_precision() -> None:
    n = 40
    ei = _path(n)
    y = torch.arange(n) // 10  # 4 classes of 10 consecutive nodes: 3 inter edges
    merged = merge_damage(y, 1, torch.Generator().manual_seed(0))
    assert merged.unique().numel() == 3
    report = edge_score(merged, edge_index=ei, y=y)
    assert report.recall == 1.0 and report.precision == 36 / 37  # one inter edge joined
    assert merge_damage(y, 2, torch.Generator().manual_seed(0)).unique().numel() == 2
    split = split_damage(y, 1, torch.Generator().manual_seed(0))
    assert torch.equal(split % 4, y)  # every part inside one class
    assert split.unique().numel() == 8
    assert edge_score(split, edge_index=ei, y=y).precision == 1.0
    assert torch.equal(split_damage(y, 0, torch.Generator()), y)


def test_random_damage_redraws_the_asked_share() -> None:
    y = torch.arange(2000) // 500
    g = torch.Generator().manual_seed(1)
    assert torch.equal(random_damage(y, 0.0, g), y)
    moved = (random_damage(y, 1.0, g) != y).double().mean()
    assert abs(moved - 0.75) < 0.03  # every node redrawn, 3/4 of them to another class
    moved = (random_damage(y, 0.4, g) != y).double().mean()
    assert abs(moved - 0.4 * 0.75) < 0.03


def test_ball_damage_moves_whole_neighbourhoods_as_a_reference_does() -> None:
    n = 200
    y = torch.arange(n) // 50
    ei = _path(n)
    extra = torch.tensor([[0, 100, 5, 150], [100, 0, 150, 5]])  # two chords
    for edges in (ei, torch.cat([ei, extra], 1)):
        for seed in range(3):
            got = ball_damage(y, 0.3, torch.Generator().manual_seed(seed), edges)
            assert torch.equal(got, _balls_by_hand(y, 0.3, seed, edges))
    balls = ball_damage(y, 0.3, torch.Generator().manual_seed(2), ei)
    changed = (balls != y).nonzero().flatten()
    # stops once 30% moved (a ball on a path adds <= 3); a ball redrawn to its own
    # class changes nothing, so fewer change, but most do
    assert int(0.3 * n) // 2 < changed.numel() <= int(0.3 * n) + 2
    assert torch.equal(y, torch.arange(n) // 50)  # the input is left as it was


def test_refusals_name_the_argument() -> None:
    y, g = torch.tensor([0, 1, 2, 1]), torch.Generator()
    with pytest.raises(ValueError, match="fraction"):
        random_damage(y, 1.5, g)
    with pytest.raises(ValueError, match="n_merges must be at most C // 2 = 1"):
        merge_damage(y, 2, g)
    with pytest.raises(ValueError, match="n_splits"):
        split_damage(y, -1, g)
    with pytest.raises(ValueError, match="negative"):
        split_damage(torch.tensor([0, -1]), 1, g)
    with pytest.raises(TypeError, match="generator"):
        random_damage(y, 0.5, 0)
    with pytest.raises(ValueError, match="refers to node 9"):
        ball_damage(y, 0.5, g, torch.tensor([[0, 9], [9, 0]]))
