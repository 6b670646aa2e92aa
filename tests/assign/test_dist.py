"""Distributed helpers: the single-process convention and log-sum-exp across ranks."""

from __future__ import annotations

import pytest
import torch

from graphclust.assign.dist import all_reduce_logsumexp, is_distributed, rank, world_size
from tests.assign.dist_utils import run_distributed


def test_group_none_means_this_process_only() -> None:
    assert not is_distributed(None)
    assert world_size(None) == 1 and rank(None) == 0
    lse = torch.tensor([0.5, -1.0])
    assert all_reduce_logsumexp(lse, None) is lse


def test_a_group_without_init_is_a_clear_error() -> None:
    if torch.distributed.is_initialized():
        pytest.skip("a process group is already initialised in this process")
    with pytest.raises(ValueError, match="init_process_group"):
        is_distributed(object())


def _logsumexp_rows(
    rank_: int, n_ranks: int, group: object, x: torch.Tensor, splits: list[list[int]]
) -> dict[str, object]:
    local = [x.split(sizes)[rank_] for sizes in splits]
    return {
        "lse": [all_reduce_logsumexp(torch.logsumexp(part, dim=0), group) for part in local],
        "rank": rank(group),
        "world_size": world_size(group),
    }


def test_logsumexp_over_ranks_equals_logsumexp_of_concatenation(tmp_path) -> None:
    x = torch.tensor(
        [
            [1.0, 900.0, float("-inf")],
            [2.0, -900.0, float("-inf")],
            [3.0, 0.0, float("-inf")],
        ]
    )  # large magnitudes (exp overflows) and a column that is -inf everywhere
    splits = [[1, 2], [2, 1], [3, 0]]  # the last leaves rank 1 without rows
    results = run_distributed(_logsumexp_rows, 2, tmp_path, x, splits)
    expected = torch.logsumexp(x, dim=0)
    for r, result in enumerate(results):
        assert result["rank"] == r and result["world_size"] == 2
        for lse in result["lse"]:
            torch.testing.assert_close(lse, expected)
