"""DAG: K-free community detection (Liu et al., KDD 2024); docs/methods/dag.md.

The model has three parts, L = L_SCE + alpha L_BPR + beta L_GS:

1. Masked attribute reconstruction (GraphMAE): a share ``mask_rate`` of the nodes gets a
   learnable [MASK] vector, a 2-layer GAT encoder gives H, the masked rows of H are
   masked again, a 2-layer GAT decoder (its last layer a plain GATConv to the D
   features, as in GraphMAE) rebuilds the features, and the scaled cosine error
   (exponent 3) is taken over the masked nodes.
2. Community affiliation readout: a 2-layer GCN maps H to C [N, k_max] >= 0; the edge
   model sigmoid(C_i . C_j) is trained with a BPR loss, one sampled non-neighbour per
   edge: L_BPR = -sum_{(i,j) in E} ln sigmoid(C_i.C_j - C_i.C_u).
3. Community number search: the group-sparsity norm sum_k ||W[:, k]||_2 of the readout's
   last weight drives unneeded columns to zero; K is the number of non-empty argmax
   communities of C.

Model selection is label-free: every ``eval_every`` epochs the argmax partition of the
clean graph is scored by modularity x Calinski-Harabasz (on the input features, so every
checkpoint is scored in one space) and the best checkpoint is kept.

Differences from the paper (it published no code), all deliberate:

- Presets. ``preset="paper"`` is the paper's model at its widths. The default ``"auto"``
  takes ``"cpu"`` on a CPU and ``"gpu"`` on CUDA: the encoder is trained by
  reconstruction alone (``detach_readout=True``: the readout learns on H.detach()) and K
  and the labels are read by k-means from the kept checkpoint's H over K in 2..k_max,
  scored by the same modularity x Calinski-Harabasz (``k_readout="kmeans"``); "cpu" also
  narrows the model and reduces wide attributes by truncated SVD. Measured on the
  papers' graphs and on the real-world suite in docs/methods/dag.md.
- ``k_max`` defaults to a rule of N (:func:`~graphclust.methods.ksearch.default_k_max`),
  not to 2 x the true K (the paper's protocol, which reads the labels).
- The BPR term is the paper's sum over the edges written as |E| x the mean over the
  sampled triples, so that a sampled subgraph estimates it without bias
  (``bpr_scale="mean"`` is the other reading of the equation).
- ``readout_norm="auto"``: where the paper's readout never learns (one-hot features; one
  column takes every node), a label-free check after ``AUTO_CHECK_EPOCH`` epochs
  (:func:`dead_readout`) restarts training with row-standardised readout inputs.
- Negatives: one uniform non-neighbour per edge
  (:class:`~graphclust.graph.negatives.NegativeSampler`); the edges of a node linked to
  every other node (a star's hub) have none and leave the BPR loss, and a complete graph
  is refused.
- Engineering: one host transfer per epoch; sparse features on a CPU; sampled-subgraph
  training for large graphs (``batch_size``) with chunked evaluation; ``max_time_s``
  stops at a deadline keeping the best checkpoint so far; a progress bar; resumable
  training (``checkpoint``); the sampled mode trains data-parallel under ``torchrun``
  (``distributed``).

The estimator is here; its parts: :mod:`~graphclust.methods.dag_params` (presets and
argument checks), :mod:`~graphclust.methods.dag_training` (the training loop),
:mod:`~graphclust.methods.dag_selection` (checkpoint selection and the read-out of K),
:mod:`~graphclust.methods.readout_check` (the ``readout_norm="auto"`` check).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import torch
from torch_geometric.data import Data

from graphclust.data.reduce import svd_features
from graphclust.methods.base import BaseClusterer
from graphclust.methods.checkpoints import CheckpointSelector, ResumableFit
from graphclust.methods.dag_params import PRESETS, check_params, resolve_settings
from graphclust.methods.dag_selection import EVAL_CHUNK_EDGES
from graphclust.methods.dag_training import SPARSE_FEATURES_BELOW, TrainingRun
from graphclust.methods.ksearch import selection_score
from graphclust.methods.readout_check import (
    AUTO_CHECK_EPOCH,
    AUTO_CHECK_WINDOW,
    DEAD_BPR_SHARE,
    DEAD_TOP_SHARE,
    dead_readout,
)
from graphclust.nn.readout import (
    affiliation_labels,
    community_shares,
    community_sizes,
    count_communities,
)
from graphclust.utils import resolve_device, seed_everything


class DAG(BaseClusterer):
    """DAG community detection: finds the number of communities itself (``k_free``).

    Args:
        preset: "auto" (default: "gpu" on a CUDA device, else "cpu"), "cpu", "gpu" or
            "paper"; fills every parameter below documented as "from the preset" that
            is left at None (see ``PRESETS``): "cpu" is hidden 64, 2 heads, 200 epochs,
            evaluation every 25, attributes reduced to 256 SVD components, detached
            readout, k-means read-out; "gpu" the same model at the paper's widths
            (512, 4 heads, 1500 epochs, every 50, full attributes); "paper" the paper's
            model at its widths (joint training, argmax read-out). ``settings_`` holds
            what a fit used.
        k_max: number of candidate communities (columns of C) and the largest K the
            k-means read-out considers; None (default) takes :func:`default_k_max` of
            the number of nodes (``max(16, ceil(2 sqrt(N)))``), never the labels.
        hidden: embedding size of the GAT encoder (a multiple of ``heads``); also the
            width of the readout GCN's hidden layer. From the preset.
        heads: attention heads. From the preset.
        max_features: reduce the attributes to this many truncated-SVD components
            before training (:func:`graphclust.data.reduce.svd_features`; encoder input
            and reconstruction target alike); None keeps them. From the preset.
        mask_rate: share of nodes masked each step (0.5; 0.75 on PubMed in the paper).
        remask: "zero" (GraphMAE) or "token" (a learnable re-mask vector, GraphMAE2).
        decoder_layers: GAT layers of the reconstruction decoder: 2 (default, the
            paper's "2-layer GAT decoder") or 1 (GraphMAE's depth).
        decoder_factorized: the decoder's last layer is a plain GATConv(hidden, D) as
            in GraphMAE (False, default) or aggregates in the hidden width and projects
            to D (True: faster on wide features, and worse embeddings, measured in
            docs/methods/dag.md); see :class:`~graphclust.nn.gat.GATDecoder`.
        alpha: weight of the BPR loss (1e-2).
        beta: weight of the group-sparsity penalty (5e-3).
        lr: Adam learning rate.
        weight_decay: Adam weight decay (L2).
        epochs: training epochs (full passes; in mini-batch mode ceil(N / batch_size)
            sampled subgraphs each). From the preset.
        eval_every: epochs between label-free evaluations (the last epoch is always
            evaluated). From the preset.
        readout: "relu" (default, the paper's C = ReLU(.)) or "softmax".
        readout_norm: "auto" (default), "none" (the paper) or "layer". "layer"
            standardises each row of H before the readout
            (:class:`~graphclust.nn.readout.CommunityReadout`), which rescues graphs
            whose readout otherwise never learns (one-hot features) or gives every node
            to one column, and costs NMI where the readout already learns. "auto" trains
            the paper's readout and, after ``AUTO_CHECK_EPOCH`` epochs, restarts with
            "layer" when :func:`dead_readout` finds it has not learned (label-free: the
            per-edge BPR loss and the share of nodes in the largest community of the
            training passes, over the last 10 epochs); the restart is the fit
            ``readout_norm="layer"`` would give. With at most ``AUTO_CHECK_EPOCH``
            epochs there is no check and "auto" is "none".
        k_readout: how the returned partition (and K) is read from the selected
            checkpoint (from the preset): "argmax" (the paper: the non-empty argmax communities
            of C) or "kmeans" (this toolkit's option: k-means on that checkpoint's
            embeddings H over K in 2..k_max (every K up to 10, then a geometric grid
            refined around its best), the K with the best modularity x
            Calinski-Harabasz(H), see
            :func:`~graphclust.methods.ksearch.coarse_to_fine_k_search`). Training is the same
            in both; with ``selection="argmax"`` so is the kept checkpoint, and the
            two differ only in the read-out. Measured in experiments/dag/README.md
            ("Reading K from the embeddings").
        selection: which partition of a checkpoint the label-free selection scores
            (modularity x Calinski-Harabasz on the input features): "argmax"
            (default, the paper: C's argmax partition, whatever ``k_readout``) or
            "readout" (the partition ``k_readout`` would return: with
            ``k_readout="kmeans"`` a k-means search over K at every evaluation, whose
            result at the kept checkpoint is then returned; with "argmax" the same as
            "argmax"). With a readout that never learns (C's argmax one community at
            every checkpoint, as with ``detach_readout=True`` on PubMed) "argmax"
            scores every checkpoint -inf and keeps the first. Cost: one search per
            evaluation, (k_max - 1) x 5 k-means runs on H.
        input_dropout: dropout on the input of every GAT layer.
        batch_size: None trains on the whole graph each step. An integer switches to
            sampled-subgraph training for large graphs: each step trains on the subgraph
            induced by random walks covering about ``batch_size`` nodes (GraphSAINT-style),
            the BPR sum rescaled to the full edge count; evaluation runs on the whole
            graph without gradients.
        subgraphs_per_step: sampled mode: the subgraphs a step trains on, each covering
            about ``batch_size / subgraphs_per_step`` nodes, the loss their mean (each
            subgraph's mask, negatives and dropout drawn from its own seed); None
            (default): 1 alone, one per process under ``distributed`` (so R processes
            reproduce one process given ``subgraphs_per_step=R``).
        distributed: sampled mode only: ``None`` (data-parallel over the processes when
            ``torch.distributed`` is initialised with several), ``True`` (required;
            needs ``batch_size``) or ``False`` (alone); see
            :func:`graphclust.utils.distributed.resolve_group` and docs/distributed.md.
            Every rank draws the same subgraphs, trains on its share inside DDP and
            evaluates the whole graph itself (the same weights give the same scores);
            only rank 0 writes checkpoints and shows progress.
        bpr_scale: "sum" (default, the paper's sum over the edges, written |E| x the mean)
            or "mean" (the mean over the sampled triples).
        detach_readout: train the readout on H.detach(), so the BPR loss does not
            shape the encoder (False: the paper's joint training). From the preset. With
            ``k_readout="kmeans"`` this is the toolkit's best configuration at the
            paper's full settings on Cora and CiteSeer (see the module docstring).
        sparsity_warmup: epochs over which beta ramps linearly from 0 to its value
            (0: the paper's constant beta).
        max_time_s: stop training after the first epoch that ends past this many
            seconds, evaluate and keep the best checkpoint so far (``epochs_run_`` says
            how many epochs ran); None never stops early. Resumed fits count the time
            of the interrupted ones up to their last checkpoint; ``max_time_s`` may
            differ on resume (a larger one continues a run stopped at its deadline).
        checkpoint, checkpoint_every: file the training state is saved to every
            ``checkpoint_every`` epochs and resumed from (None: none); see
            docs/methods/dag.md, "Checkpoints and resume".
        progress: show a progress bar over epochs (tqdm, on stderr) with the loss and
            the K of the training pass.
        seed: random seed (masks, negatives, initialisation, sampling).
        device: "auto", "cpu" or "cuda[:i]".

    Fitted attributes (besides the base ones):
        settings_: the resolved preset parameters of the fit (preset, hidden, heads,
            epochs, eval_every, max_features, detach_readout, k_readout, k_max).
        soft_assignments_: C of the selected checkpoint, rows normalised to sum 1 (a zero
            row becomes uniform), over the K non-empty communities: [N, K]; with
            ``k_readout="kmeans"`` the Student-t (DEC) assignment of H to the k-means
            centres instead.
        labels_argmax_: C's argmax partition at the selected checkpoint (equal to
            ``labels_`` with ``k_readout="argmax"``), so one fit gives both
            read-outs.
        k_argmax_: K of that partition (equal to ``n_clusters_`` with
            ``k_readout="argmax"``).
        k_search_: with ``k_readout="kmeans"``, the search's score for every K
            ({K: modularity x CH(H)}); None otherwise.
        embeddings_: H [N, hidden] of the clean graph at the selected checkpoint.
        selected_epoch_: the epoch of the kept checkpoint (1-based).
        subgraphs_per_step_: the subgraphs a step trained on (1 outside the sampled mode).
        epochs_run_: epochs actually trained (``epochs`` unless ``max_time_s`` cut in).
        readout_norm_: the readout normalisation the returned model trained with.
        readout_check_: for "auto", what the check saw (``epoch``, ``per_edge_bpr``,
            ``top_share``, ``dead`` and ``reason``); None otherwise or unchecked.
        history_: per epoch of the returned model's run ``loss``, ``sce``, ``bpr``,
            ``gs``, ``k_train`` (K of the training pass; the mean over an epoch's
            subgraphs in sampled mode), ``top_share`` (the share of nodes in the largest
            community of the training pass, likewise), ``beta`` (the group-sparsity weight
            used) and
            ``w_col_norms`` (a list of k_max floats per epoch); per evaluation
            ``eval_epoch``, ``k``, ``modularity``, ``calinski_harabasz``,
            ``selection_score`` (of C's argmax partition, whatever ``k_readout``) and,
            with ``selection="readout"`` and ``k_readout="kmeans"``, ``readout_k``,
            ``readout_modularity``, ``readout_calinski_harabasz`` and
            ``readout_selection_score`` (of the k-means read-out; the one selected on).
    """

    k_free: ClassVar[bool] = True

    def __init__(
        self,
        preset: str = "auto",
        k_max: int | None = None,
        hidden: int | None = None,
        heads: int | None = None,
        max_features: int | None = None,
        mask_rate: float = 0.5,
        remask: str = "zero",
        decoder_layers: int = 2,
        decoder_factorized: bool = False,
        alpha: float = 1e-2,
        beta: float = 5e-3,
        lr: float = 1e-3,
        weight_decay: float = 1e-3,
        epochs: int | None = None,
        eval_every: int | None = None,
        readout: str = "relu",
        readout_norm: str = "auto",
        k_readout: str | None = None,
        selection: str = "argmax",
        input_dropout: float = 0.2,
        batch_size: int | None = None,
        subgraphs_per_step: int | None = None,
        distributed: bool | None = None,
        bpr_scale: str = "sum",
        detach_readout: bool | None = None,
        sparsity_warmup: int = 0,
        max_time_s: float | None = None,
        checkpoint: str | None = None,
        checkpoint_every: int = 1,
        progress: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.preset = preset
        self.k_max = k_max
        self.hidden = hidden
        self.heads = heads
        self.max_features = max_features
        self.mask_rate = mask_rate
        self.remask = remask
        self.decoder_layers = decoder_layers
        self.decoder_factorized = decoder_factorized
        self.alpha = alpha
        self.beta = beta
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.eval_every = eval_every
        self.readout = readout
        self.readout_norm = readout_norm
        self.k_readout = k_readout
        self.selection = selection
        self.input_dropout = input_dropout
        self.batch_size = batch_size
        self.subgraphs_per_step = subgraphs_per_step
        self.distributed = distributed
        self.bpr_scale = bpr_scale
        self.detach_readout = detach_readout
        self.sparsity_warmup = sparsity_warmup
        self.max_time_s = max_time_s
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.progress = progress
        self.seed = seed
        self.device = device

    def settings(self, num_nodes: int, device: torch.device | str = "cpu") -> dict[str, Any]:
        """The settings a fit on ``num_nodes`` nodes on ``device`` uses: every preset
        parameter left at None takes the preset's value (``"auto"``: ``"gpu"`` on CUDA,
        else ``"cpu"``), and ``k_max`` the rule :func:`default_k_max` of N."""
        return resolve_settings(self, num_nodes, device)

    def _validate_params(self, data: Data) -> None:
        super()._validate_params(data)
        check_params(self, data, self.settings(data.num_nodes, resolve_device(self.device)))

    def _fit(self, data: Data, device: torch.device) -> None:
        start = time.perf_counter()
        self.settings_ = self.settings(data.num_nodes, device)
        self.config_["settings"] = self.settings_
        self.readout_check_ = None
        self._checkpoints = ResumableFit(
            self, data.x, data.edge_index, ignore=("max_time_s", "distributed")
        )
        saved = self._checkpoints.peek()
        if self.settings_["max_features"] is not None:
            reduced = svd_features(data.x, self.settings_["max_features"], seed=self.seed)
            data = Data(x=reduced, edge_index=data.edge_index, num_nodes=data.num_nodes)
        norm = "none" if self.readout_norm == "auto" else self.readout_norm
        check = self.readout_norm == "auto" and self.settings_["epochs"] > AUTO_CHECK_EPOCH
        if saved is not None and saved["norm"] != norm:  # written after the restart below
            norm, check = saved["norm"], False
        if not TrainingRun(self, data, device, norm).train(start, check):
            # the paper's readout is dead: start again, exactly as readout_norm="layer"
            seed_everything(self.seed)
            self.history_ = {}
            self._checkpoints.forget()  # it holds the dead run
            norm = "layer"
            TrainingRun(self, data, device, norm).train(start, check=False)
        self.readout_norm_ = norm
        del self._checkpoints

    def _evaluated(
        self, epoch: int, h: torch.Tensor, c: torch.Tensor, scores: torch.Tensor, first: bool
    ) -> None:
        """Called after every evaluation with the clean graph's embeddings H [N, hidden],
        affiliations C and the readout's pre-activations [N, k_max] (``first``: the first
        evaluation of a training run; ``readout_norm="auto"`` may start a second one).
        Does nothing: subclasses that record more (experiments/dag) override it."""

    def _readout_is_dead(self, epoch: int, num_edges: int) -> bool:
        """``readout_norm="auto"``'s check, at epoch ``AUTO_CHECK_EPOCH`` only: records
        in ``readout_check_`` what :func:`dead_readout` saw over the last epochs of
        ``history_`` (``num_edges``: the graph's, for the per-edge BPR) and says whether
        the readout is dead."""
        if epoch != AUTO_CHECK_EPOCH:
            return False
        per_edge = self.history_["bpr"][-AUTO_CHECK_WINDOW:]
        if self.bpr_scale == "sum":
            per_edge = [value / num_edges for value in per_edge]
        top = self.history_["top_share"][-AUTO_CHECK_WINDOW:]
        reason = dead_readout(per_edge, top)
        self.readout_check_ = {
            "epoch": epoch,
            "per_edge_bpr": sum(per_edge) / len(per_edge),
            "top_share": sum(top) / len(top),
            "dead": reason is not None,
            "reason": reason,
        }
        return reason is not None


__all__ = [
    "AUTO_CHECK_EPOCH",
    "DAG",
    "DEAD_BPR_SHARE",
    "DEAD_TOP_SHARE",
    "EVAL_CHUNK_EDGES",
    "PRESETS",
    "SPARSE_FEATURES_BELOW",
    "CheckpointSelector",
    "affiliation_labels",
    "community_shares",
    "community_sizes",
    "count_communities",
    "dead_readout",
    "selection_score",
]
