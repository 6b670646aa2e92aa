"""The label-damage partitions of experiments/dag/edge_ceiling.py, on a hand-made graph:
each does the damage it names, and EDGE responds as the metric's definition says."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "dag"))
from edge_ceiling import ball_damage, merge_damage, random_damage, split_damage  # noqa: E402

from graphclust.metrics import edge_score  # noqa: E402


def _path_csr(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A path 0-1-...-(n-1), both directions, with CSR neighbour lists."""
    src = torch.arange(n - 1)
    ei = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], 1)
    order = torch.argsort(ei[0], stable=True)
    ptr = torch.zeros(n + 1, dtype=torch.long)
    ptr[1:] = torch.cumsum(torch.bincount(ei[0], minlength=n), 0)
    return ei, ptr, ei[1][order]


def test_merge_keeps_recall_and_split_keeps_precision() -> None:
    n = 40
    ei, _, _ = _path_csr(n)
    y = torch.arange(n) // 10  # 4 classes of 10 consecutive nodes: 3 inter edges
    g = torch.Generator().manual_seed(0)
    merged = merge_damage(y, 1, g)
    assert merged.unique().numel() == 3
    report = edge_score(merged, edge_index=ei, y=y)
    assert report.recall == 1.0 and report.precision == 36 / 37  # one inter edge joined
    split = split_damage(y, 4, 1, torch.Generator().manual_seed(0))
    assert torch.equal(split % 4, y)  # every part inside one class
    assert edge_score(split, edge_index=ei, y=y).precision == 1.0


def test_random_and_ball_damage_move_the_asked_share() -> None:
    n = 200
    _, ptr, nbr = _path_csr(n)
    y = torch.arange(n) // 50
    g = torch.Generator().manual_seed(1)
    assert torch.equal(random_damage(y, 4, 0.0, g), y)
    moved = (random_damage(y, 4, 1.0, g) != y).float().mean()
    assert 0.6 < moved < 0.9  # every node redrawn, 3/4 of them to another class
    balls = ball_damage(y, 4, 0.3, torch.Generator().manual_seed(2), ptr, nbr)
    changed = (balls != y).nonzero().flatten()
    # stops once 30% moved (a ball on a path adds <= 3); a ball redrawn to its own
    # class changes nothing, so fewer change, but most do
    assert int(0.3 * n) // 2 < changed.numel() <= int(0.3 * n) + 3
