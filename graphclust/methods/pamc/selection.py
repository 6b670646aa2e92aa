"""PamC's label-free choice of the returned state (epoch and pre-training candidate).

``selection="label_free"`` keeps the evaluated state with the highest modularity of its
hard labels on the input graph. PamC's positives are the graph; DEC's term only sharpens
whatever partition it has, so a score on the embeddings would reward sharpening, and a
collapse to one cluster scores 0. ``selection_score="modularity_ch"`` multiplies by the
Calinski-Harabasz index of the labels on the input features (DAG's rule).
``selection="final"``, and any graph without edges (modularity is undefined there),
keeps the last epoch. Labels are never read.

A kept state carries the encoder weights it was computed with, so the fitted model
encodes new graphs exactly as it encoded the training graph at that epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch_geometric.data import Data

from graphclust.metrics import calinski_harabasz
from graphclust.metrics.graph import clean_graph_modularity

#: One candidate's last state: ``(q [N, K], z [N, d], centroids [K, d])`` on the CPU.
Final = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _cpu_state(encoder: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in encoder.state_dict().items()}


class LabelFreeSelection:
    """Scores the states a PamC fit offers and keeps the best one (the first on ties).

    Args:
        graph: the validated input graph (CPU), whose edges and features score labels.
        rule: ``"label_free"`` or ``"final"``.
        score: ``"modularity"`` or ``"modularity_ch"``.
        log: the estimator's ``log`` (scores go to ``history_``).

    ``candidate`` is the pre-training length being trained; the fit sets it before each
    candidate's training. ``state_dict`` / ``load_state_dict`` carry the best state and
    its score through a checkpoint.
    """

    def __init__(self, graph: Data, rule: str, score: str, log: Callable[..., None]) -> None:
        self.graph = graph
        self.rule = rule
        self.score_name = score
        self.log = log
        self.has_edges = graph.edge_index.numel() > 0
        self.candidate: int | None = None
        self.best_score = -math.inf
        self.best: dict[str, Any] | None = None

    def score(self, labels: torch.Tensor) -> float:
        """Modularity of ``labels`` [N] on the graph (times CH with ``modularity_ch``);
        NaN on a graph without edges."""
        if not self.has_edges:
            return float("nan")
        graph = self.graph
        value = clean_graph_modularity(graph.edge_index, labels)  # graph: check_graph's
        self.log(modularity=value)
        if self.score_name == "modularity_ch":
            ch = calinski_harabasz(graph.x, labels)
            self.log(calinski_harabasz=ch)
            value = value * ch
        return value

    def evaluate(
        self,
        epoch: int,
        q: torch.Tensor,
        z: torch.Tensor,
        centroids: torch.Tensor,
        encoder: nn.Module,
    ) -> None:
        """Score the state whose assignment is ``q`` [N, K] (embeddings ``z`` [N, d],
        ``centroids`` [K, d], computed by ``encoder``); keep it when it is the best."""
        self.log(eval_epoch=epoch)
        labels = q.argmax(dim=1).cpu()
        score = self.score(labels)
        self.log(score=score, nonempty=int(labels.unique().numel()))
        if self.rule == "label_free" and score > self.best_score:
            self.best_score = score
            self.best = self._state(epoch, q, z, centroids, _cpu_state(encoder))

    def _state(self, epoch, q, z, centroids, encoder_state) -> dict[str, Any]:
        return {
            "pretrain_epochs": self.candidate,
            "epoch": epoch,
            "q": q.detach().cpu().clone(),
            "z": z.detach().cpu().clone(),
            "centroids": centroids.detach().cpu().clone(),
            "encoder": encoder_state,
        }

    def selected(self, finals: dict[int, Final], epochs: int, encoder: nn.Module) -> dict:
        """The returned state: the best scored one, or with ``rule="final"`` (or no
        edges) the single candidate's last state, whose weights ``encoder`` holds.

        ``finals`` maps each candidate pre-training length to its state after
        ``epochs`` epochs. The result has ``pretrain_epochs``, ``epoch``, ``q``, ``z``,
        ``centroids``, ``encoder`` (a CPU state dict) and ``final_labels`` (the
        argmax of the last epoch of the same candidate).
        """
        if self.rule == "final" or not self.has_edges:
            ((self.candidate, final),) = finals.items()
            chosen = self._state(epochs, *final, _cpu_state(encoder))
        else:
            chosen = self.best
        return {**chosen, "final_labels": finals[chosen["pretrain_epochs"]][0].argmax(dim=1)}

    def state_dict(self) -> dict[str, Any]:
        return {"score": self.best_score, "best": self.best}

    def load_state_dict(self, state: dict[str, Any], path: object = None) -> None:
        best = state["best"]
        if best is not None and not isinstance(best, dict):
            raise ValueError(
                f"checkpoint {path} was written by an earlier PamC (its best state holds no "
                "encoder weights); delete it to train anew"
            )
        self.best_score, self.best = state["score"], best


__all__ = ["Final", "LabelFreeSelection"]
