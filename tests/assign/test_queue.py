"""FeatureQueue: FIFO order, wrap-around, state; queued_sinkhorn."""

from __future__ import annotations

import pytest
import torch

from graphclust.assign import FeatureQueue, queued_sinkhorn, sinkhorn


def rows(start: int, stop: int, dim: int = 3) -> torch.Tensor:
    """Rows whose every entry is their id, so order is readable from the first column."""
    return torch.arange(start, stop, dtype=torch.float32)[:, None].repeat(1, dim)


def ids(queue: FeatureQueue) -> list[int]:
    return queue.features()[:, 0].long().tolist()


def test_fifo_order_and_wrap_around() -> None:
    queue = FeatureQueue(dim=3, size=5)
    assert len(queue) == 0 and ids(queue) == []
    queue.push(rows(0, 3))
    assert ids(queue) == [0, 1, 2] and not queue.is_full
    queue.push(rows(3, 7))  # wraps: 5 and 6 overwrite 0 and 1
    assert ids(queue) == [2, 3, 4, 5, 6] and queue.is_full
    queue.push(rows(7, 8))
    assert ids(queue) == [3, 4, 5, 6, 7]
    queue.push(rows(8, 12))  # wraps across the end of the buffer again
    assert ids(queue) == [7, 8, 9, 10, 11]
    queue.push(rows(12, 20))  # more than the capacity: only the last 5 are kept
    assert ids(queue) == [15, 16, 17, 18, 19]
    assert len(queue) == 5


def test_push_detaches_and_features_is_a_copy() -> None:
    queue = FeatureQueue(dim=2, size=4)
    z = torch.randn(3, 2, requires_grad=True)
    queue.push(z)
    features = queue.features()
    assert not features.requires_grad
    torch.testing.assert_close(features, z.detach())
    features.zero_()
    torch.testing.assert_close(queue.features(), z.detach())


def test_state_dict_round_trip_and_reset() -> None:
    queue = FeatureQueue(dim=3, size=4)
    queue.push(rows(0, 6))
    restored = FeatureQueue(dim=3, size=4)
    restored.load_state_dict(queue.state_dict())
    assert ids(restored) == ids(queue) == [2, 3, 4, 5]
    restored.push(rows(6, 7))
    assert ids(restored) == [3, 4, 5, 6]
    restored.reset()
    assert len(restored) == 0 and ids(restored) == []


def test_invalid_use_is_rejected() -> None:
    with pytest.raises(ValueError, match="size"):
        FeatureQueue(dim=3, size=0)
    with pytest.raises(ValueError, match=r"\[B, 3\]"):
        FeatureQueue(dim=3, size=4).push(torch.zeros(2, 4))


def test_queued_sinkhorn_is_the_batch_slice_of_the_joint_problem() -> None:
    g = torch.Generator().manual_seed(0)
    batch = torch.rand(4, 6, generator=g)
    queued = torch.rand(30, 6, generator=g)
    codes = queued_sinkhorn(batch, queued, epsilon=0.05, n_iters=3)
    joint = sinkhorn(torch.cat([queued, batch]), epsilon=0.05, n_iters=3)
    torch.testing.assert_close(codes, joint[-4:])
    torch.testing.assert_close(codes.sum(dim=1), torch.ones(4))
    # Without a queue (or with an empty one) it is plain sinkhorn on the batch.
    torch.testing.assert_close(queued_sinkhorn(batch, None), sinkhorn(batch))
    torch.testing.assert_close(queued_sinkhorn(batch, queued[:0]), sinkhorn(batch))
    with pytest.raises(ValueError, match="queue_scores"):
        queued_sinkhorn(batch, torch.rand(3, 5))
