"""Label-free checkpoint selection and resumable training for the graph methods.

- :class:`CheckpointSelector`: keep the best-scored state seen during training.
- :class:`ResumableFit`: save / resume a graph method's own epoch loop (PamC, DAG)
  through :class:`graphclust.training.Checkpointer`, keyed by the estimator's
  hyper-parameters and a fingerprint of the features *and* the edges.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from graphclust.training import Checkpointer, input_fingerprint, rng_state, set_rng_state


class CheckpointSelector:
    """Keeps the payload offered with the highest score (the first one on ties).

    The first offer is always kept, so a run whose checkpoints all score -inf still
    returns its first evaluated partition. ``state_dict`` / ``load_state_dict`` let a
    :class:`~graphclust.training.Checkpointer` save and restore it with the model.
    """

    def __init__(self) -> None:
        self.best_score = -math.inf
        self.best_step: int | None = None
        self.best: Any = None

    def offer(self, score: float, step: int, payload: Any) -> bool:
        """Keep ``payload`` when ``score`` beats the best so far; True when kept."""
        if self.best_step is None or score > self.best_score:
            self.best_score, self.best_step, self.best = score, step, payload
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        """The best score, its step and its payload (tensors should be on the CPU)."""
        return {"best_score": self.best_score, "best_step": self.best_step, "best": self.best}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best_score = state["best_score"]
        self.best_step = state["best_step"]
        self.best = state["best"]


def graph_fingerprint(x: torch.Tensor, edge_index: torch.Tensor) -> dict[str, Any]:
    """:func:`~graphclust.training.input_fingerprint` of the features with that of the
    edges [2, E] under ``edges_*`` keys, so a checkpoint of another graph with the same
    features is refused too (compared with the same tolerance as the features')."""
    fingerprint = input_fingerprint(x)
    fingerprint.update({f"edges_{k}": v for k, v in input_fingerprint(edge_index).items()})
    return fingerprint


class ResumableFit:
    """Checkpoints of a graph estimator's epoch loop, written by a ``Checkpointer``.

    The estimator has ``checkpoint`` (a file path or ``None``: no checkpoint) and
    ``checkpoint_every`` parameters. What a loop hands to :meth:`save` is the whole
    state that changes across epochs: ``stateful`` objects (modules, optimiser, a
    :class:`CheckpointSelector`; anything with ``state_dict``/``load_state_dict``),
    the loop's own ``generator``, ``estimator.history_`` and an ``extra`` dict of plain
    values; the global random streams (python, numpy, torch, CUDA) are saved with them.

    Args:
        estimator: a BaseClusterer with ``checkpoint`` and ``checkpoint_every``.
        x: features [N, D] of the fit (fingerprinted).
        edge_index: edges [2, E] of the fit (fingerprinted).
        ignore: hyper-parameters a checkpoint may be resumed under other values of.
    """

    def __init__(
        self,
        estimator: Any,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        ignore: Iterable[str] = (),
    ) -> None:
        self.estimator = estimator
        self.resumable = True
        # Fingerprinted only when there is a file to match: the checksum reads every
        # entry (and converts the edges to float), a pass worth skipping on large graphs.
        fingerprint = None if estimator.checkpoint is None else graph_fingerprint(x, edge_index)
        self.checkpointer = Checkpointer(
            estimator.checkpoint,
            {**estimator.get_params(), "input": fingerprint},
            estimator.checkpoint_every,
            ignore=ignore,
        )

    def peek(self) -> dict[str, Any] | None:
        """The ``extra`` dict of the checkpoint (after checking that it belongs to this
        run), without restoring anything, random streams included; None without one."""
        streams = rng_state()
        try:
            resumed = self.checkpointer.load({}, None)
        finally:
            set_rng_state(streams)
        return None if resumed is None else resumed[2]

    def load(
        self, stateful: Mapping[str, Any], generator: torch.Generator | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        """Restore everything :meth:`save` wrote (``estimator.history_`` included).

        Returns:
            ``(epochs_done, extra)``, or None when there is no checkpoint to resume
            (or after :meth:`forget`).
        """
        resumed = self.checkpointer.load(stateful, generator) if self.resumable else None
        if resumed is None:
            return None
        done, self.estimator.history_, extra = resumed
        return done, extra

    def forget(self) -> None:
        """Never resume from the file again in this fit (it holds a run the fit has
        abandoned, e.g. DAG's readout found dead); later saves overwrite it."""
        self.resumable = False

    def save(
        self,
        epoch: int,
        total_epochs: int,
        stateful: Mapping[str, Any],
        generator: torch.Generator | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write the state after ``epoch`` finished epochs when due (every
        ``checkpoint_every`` epochs and at ``total_epochs``); True when written."""
        return self.checkpointer.maybe_save(
            epoch, total_epochs, stateful, self.estimator.history_, generator, extra
        )


def check_checkpoint_params(checkpoint: object, checkpoint_every: object) -> None:
    """Refuse a ``checkpoint`` that is not a path and a ``checkpoint_every`` < 1."""
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise ValueError(f"checkpoint must be None or a file path, got {checkpoint!r}")
    every = checkpoint_every
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"checkpoint_every must be a positive integer, got {every!r}")


__all__ = ["CheckpointSelector", "ResumableFit", "check_checkpoint_params", "graph_fingerprint"]
