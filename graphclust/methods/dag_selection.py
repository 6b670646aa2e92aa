"""DAG's label-free checkpoint selection and the read-out of K and the labels.

Every evaluation scores the clean graph's partition by modularity x Calinski-Harabasz on
the input features (one space for every checkpoint) and offers it to a
:class:`~graphclust.methods.checkpoints.CheckpointSelector`; at the end the kept
checkpoint is read out, by C's argmax or by a k-means search over K on its embeddings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from graphclust.assign.targets import student_t_assignment
from graphclust.methods.checkpoints import CheckpointSelector
from graphclust.methods.ksearch import KSearchResult, coarse_to_fine_k_search, selection_score
from graphclust.metrics import calinski_harabasz, modularity
from graphclust.nn.readout import affiliation_labels, community_shares

if TYPE_CHECKING:
    from graphclust.methods.dag import DAG

# in sampled-subgraph mode, evaluations on graphs with more edges than this encode the
# whole graph in chunks of destination nodes with about this many incoming edges each
# (the per-edge attention tensors of a 13M-edge graph held 2.8 GB at once)
EVAL_CHUNK_EDGES = 1 << 20


def eval_chunk_size(num_nodes: int, num_edges: int, sampled: bool) -> int | None:
    """Destination nodes per chunk of a whole-graph encoding (None: all at once)."""
    if not sampled or num_edges <= EVAL_CHUNK_EDGES:
        return None
    return max(1, num_nodes * EVAL_CHUNK_EDGES // num_edges)


def search_k(estimator: DAG, h: torch.Tensor, edge_index: torch.Tensor) -> KSearchResult:
    """The k-means read-out of embeddings ``h`` [N, hidden]: the best K in 2..k_max
    (k-means on ``h``'s device: scikit-learn on a CPU, torch on a GPU)."""
    k_max = estimator.settings_["k_max"]
    return coarse_to_fine_k_search(h, edge_index, k_max, seed=estimator.seed)


def offer_checkpoint(
    estimator: DAG,
    selector: CheckpointSelector,
    epoch: int,
    h: torch.Tensor,
    c: torch.Tensor,
    scores: torch.Tensor,
    x_cpu: torch.Tensor,
    edge_index_cpu: torch.Tensor,
) -> None:
    """Score one checkpoint (embeddings ``h`` [N, hidden], affiliations ``c`` and the
    readout's pre-activations ``scores`` [N, k_max]), log it in ``estimator.history_``
    and offer it to ``selector``.

    With ``selection="readout"`` and ``k_readout="kmeans"`` the score is that of the
    k-means read-out of ``h``, in the same space (the input features ``x_cpu``) as the
    argmax partitions, so checkpoints stay comparable.
    """
    labels, columns = affiliation_labels(c, scores)
    labels, k = labels.cpu(), columns.numel()
    q = modularity(edge_index_cpu, labels, num_nodes=labels.numel())
    ch = calinski_harabasz(x_cpu, labels)
    score = selection_score(q, ch, k)
    estimator.log(eval_epoch=epoch, k=k, modularity=q, calinski_harabasz=ch, selection_score=score)
    found = None
    if estimator.selection == "readout" and estimator.settings_["k_readout"] == "kmeans":
        found = search_k(estimator, h, edge_index_cpu)
        q_read = modularity(edge_index_cpu, found.labels, num_nodes=labels.numel())
        ch_read = calinski_harabasz(x_cpu, found.labels)
        score = selection_score(q_read, ch_read, found.n_clusters)
        estimator.log(
            readout_k=found.n_clusters,
            readout_modularity=q_read,
            readout_calinski_harabasz=ch_read,
            readout_selection_score=score,
        )
    if selector.offer(score, epoch, None):
        selector.best = (labels, community_shares(c, columns).cpu(), h.cpu(), found)


def read_out(
    estimator: DAG, selector: CheckpointSelector, edge_index_cpu: torch.Tensor, device
) -> None:
    """Set the fitted partition of ``estimator`` from the checkpoint ``selector`` kept:
    ``labels_``, ``n_clusters_``, ``soft_assignments_``, ``embeddings_``, the argmax
    read-out (``labels_argmax_``, ``k_argmax_``), ``k_search_`` and ``selected_epoch_``."""
    labels, shares, h, found = selector.best
    estimator.selected_epoch_ = selector.best_step
    estimator.labels_argmax_ = labels
    estimator.k_argmax_ = shares.size(1)
    estimator.k_search_ = None
    if estimator.settings_["k_readout"] == "kmeans":
        if found is None:  # selection="argmax": search the kept checkpoint only
            found = search_k(estimator, h.to(device), edge_index_cpu)
        labels = found.labels
        shares = student_t_assignment(h.float(), found.centroids)
        estimator.k_search_ = found.scores
    estimator.labels_ = labels
    estimator.n_clusters_ = shares.size(1)
    estimator.soft_assignments_ = shares
    estimator.embeddings_ = h


__all__ = ["EVAL_CHUNK_EDGES", "eval_chunk_size", "offer_checkpoint", "read_out", "search_k"]
