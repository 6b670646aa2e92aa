"""A FIFO queue of past embeddings that enlarges the Sinkhorn batch (SwAV's queue)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from graphclust.assign.dist import ProcessGroup
from graphclust.assign.sinkhorn import sinkhorn
from graphclust.utils.checks import positive_int


class FeatureQueue(nn.Module):
    """Ring buffer of the last ``size`` embeddings, oldest first on read.

    It stores **embeddings, not scores**: the prototypes move every step, so queued
    items must be re-scored with the current prototypes before Sinkhorn (SwAV does the
    same; stale scores would balance against prototypes that no longer exist). SwAV
    uses 3840 items at batch 256 and starts using the queue at epoch 15. Usage::

        queue = FeatureQueue(dim=128, size=3840)
        ...
        with torch.no_grad():
            queue_scores = protos(queue.features()) if len(queue) else None
        codes = queued_sinkhorn(protos(z).detach(), queue_scores)   # [B, K]
        ...
        queue.push(z)            # after computing the codes, so an item is not its own
                                 # neighbour in the balance

    The buffer is a registered buffer (moves with ``.to(device)``, saved in
    ``state_dict`` together with the write position and fill count), never receives
    gradients, and a push costs ``O(B d)`` with no shifting of old items.

    Args:
        dim: embedding size ``d``.
        size: capacity (number of embeddings kept).
        dtype: storage dtype (float32 by default; float16 halves the memory).
    """

    def __init__(self, dim: int, size: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        positive_int(dim, "dim")
        positive_int(size, "size")
        self.dim = int(dim)
        self.size = int(size)
        self.register_buffer("buffer", torch.zeros(self.size, self.dim, dtype=dtype))
        self._next = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def is_full(self) -> bool:
        """Whether ``size`` embeddings have been pushed (SwAV only uses a full queue)."""
        return self._count == self.size

    @torch.no_grad()
    def push(self, z: torch.Tensor) -> None:
        """Append ``z [B, d]`` (detached); the oldest items are dropped past ``size``.

        When ``B >= size`` only the last ``size`` rows of ``z`` are kept.
        """
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"push expects embeddings [B, {self.dim}], got shape {tuple(z.shape)}")
        z = z.detach().to(device=self.buffer.device, dtype=self.buffer.dtype)
        n = z.shape[0]
        if n >= self.size:
            self.buffer.copy_(z[n - self.size :])
            self._next = 0
            self._count = self.size
            return
        head = min(n, self.size - self._next)
        self.buffer[self._next : self._next + head] = z[:head]
        self.buffer[: n - head] = z[head:]
        self._next = (self._next + n) % self.size
        self._count = min(self._count + n, self.size)

    def features(self) -> torch.Tensor:
        """The queued embeddings ``[len(self), d]``, oldest first (a copy)."""
        if self._count < self.size:
            return self.buffer[: self._count].clone()
        return torch.cat([self.buffer[self._next :], self.buffer[: self._next]])

    def reset(self) -> None:
        """Empty the queue (the storage is kept)."""
        self.buffer.zero_()
        self._next = 0
        self._count = 0

    def get_extra_state(self) -> dict[str, int]:
        return {"next": self._next, "count": self._count}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self._next = int(state["next"])
        self._count = int(state["count"])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, size={self.size}, filled={self._count}"


def queued_sinkhorn(
    batch_scores: torch.Tensor,
    queue_scores: torch.Tensor | None,
    epsilon: float = 0.05,
    n_iters: int = 3,
    col_marginals: torch.Tensor | Sequence[float] | None = None,
    hard: bool = False,
    group: ProcessGroup | None = None,
    col_relax: float | None = None,
) -> torch.Tensor:
    """Sinkhorn codes of a batch, balanced together with queued items.

    ``sinkhorn(cat([queue_scores, batch_scores]))[-B:]``: the queue rows only help the
    balance (they make the column constraint meaningful when ``B`` is small compared
    with ``K``) and their codes are dropped. The returned rows sum to 1; the batch's own
    column sums are not constrained, only those of batch + queue.

    Args:
        batch_scores: ``[B, K]`` scores of the current batch.
        queue_scores: ``[M, K]`` scores of the queued embeddings under the *current*
            prototypes, or ``None`` (or ``M = 0``) to use the batch alone.
        epsilon, n_iters, col_marginals, hard, group, col_relax: as in
            :func:`graphclust.assign.sinkhorn`.

    Returns:
        ``[B, K]`` float32 codes for the batch rows.
    """
    if queue_scores is None or queue_scores.shape[0] == 0:
        scores = batch_scores
    else:
        if queue_scores.dim() != 2 or queue_scores.shape[1:] != batch_scores.shape[1:]:
            raise ValueError(
                f"queue_scores must be [M, K] with the K of batch_scores "
                f"{tuple(batch_scores.shape)}, got {tuple(queue_scores.shape)}"
            )
        scores = torch.cat([queue_scores.to(batch_scores.dtype), batch_scores])
    codes = sinkhorn(scores, epsilon, n_iters, col_marginals, hard, group, col_relax)
    return codes[scores.shape[0] - batch_scores.shape[0] :]
