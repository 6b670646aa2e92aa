"""Distributed helpers: the single-process convention and log-sum-exp across ranks."""

from __future__ import annotations

import pytest
import torch

from graphclust.assign import sinkhorn
from graphclust.assign.dist import (
    all_reduce_logsumexp,
    any_rank,
    is_distributed,
    rank,
    world_size,
)
from graphclust.methods.base import check_finite
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


def _non_finite_on_rank_one(rank_: int, n_ranks: int, group: object) -> dict[str, str]:
    scores = torch.randn(4, 3, generator=torch.Generator().manual_seed(rank_))
    if rank_ == 1:
        scores[2, 0] = float("nan")
    messages = {}
    try:
        sinkhorn(scores, 0.05, 3, group=group)
    except ValueError as error:
        messages["sinkhorn"] = str(error)
    try:
        check_finite(scores, "scores", step=7, group=group)
    except FloatingPointError as error:
        messages["check_finite"] = str(error)
    # both ranks still reach this collective together: nobody was left waiting above
    messages["agree"] = str(any_rank(rank_ == 0, group))
    return messages


def test_a_non_finite_value_on_one_rank_stops_every_rank(tmp_path) -> None:
    first, second = run_distributed(_non_finite_on_rank_one, 2, tmp_path)
    assert "non-finite value(s) (first in row 2)" in second["sinkhorn"]
    assert "another process" in first["sinkhorn"]
    assert second["check_finite"] == (
        "scores became NaN or inf at step 7; lower the learning rate, check the input "
        "scale, or raise the Sinkhorn epsilon"
    )
    assert "became NaN or inf on another process at step 7" in first["check_finite"]
    assert first["agree"] == second["agree"] == "True"


def test_any_rank_alone_is_the_flag() -> None:
    assert any_rank(True, None) and not any_rank(False, None)
    assert any_rank(torch.tensor(True), None)
