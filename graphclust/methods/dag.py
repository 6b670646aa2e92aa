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
- Engineering: one host transfer per epoch; sparse features on a CPU; sampled-subgraph
  training for large graphs (``batch_size``) with chunked evaluation; ``max_time_s``
  stops at a deadline keeping the best checkpoint so far; a progress bar; resumable
  training (``checkpoint``).
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import torch
from torch_geometric.data import Data
from torch_geometric.utils import structured_negative_sampling

from graphclust.assign.targets import student_t_assignment
from graphclust.data.reduce import svd_features
from graphclust.graph.sampling import RandomWalkSubgraphs
from graphclust.methods.base import BaseClusterer, check_finite
from graphclust.methods.checkpoints import CheckpointSelector, ResumableFit, check_checkpoint_params
from graphclust.methods.ksearch import (
    KSearchResult,
    coarse_to_fine_k_search,
    default_k_max,
    selection_score,
)
from graphclust.methods.readout_check import (
    AUTO_CHECK_EPOCH,
    AUTO_CHECK_WINDOW,
    DEAD_BPR_SHARE,
    DEAD_TOP_SHARE,
    dead_readout,
)
from graphclust.metrics import calinski_harabasz, modularity
from graphclust.nn.masked_ae import MaskedGraphAutoencoder, sample_mask
from graphclust.nn.readout import (
    CommunityReadout,
    affiliation_labels,
    bpr_loss,
    community_shares,
    community_sizes,
    count_communities,
    gcn_adjacency,
    group_sparsity,
)
from graphclust.training import progress
from graphclust.utils import resolve_device, seed_everything
from graphclust.utils.checks import non_negative_float, positive_float, probability

# bag-of-words features sparser than this are kept sparse: the first GAT layer then costs
# O(nnz) instead of O(N D) (Cora is 1.3% dense, CiteSeer 0.9%)
SPARSE_FEATURES_BELOW = 0.1


# in sampled-subgraph mode, evaluations on graphs with more edges than this encode the
# whole graph in chunks of destination nodes with about this many incoming edges each
# (the per-edge attention tensors of a 13M-edge graph held 2.8 GB at once)
EVAL_CHUNK_EDGES = 1 << 20


# Sizes and model variant per preset; a parameter the user sets wins over its preset.
# "cpu": the toolkit's configuration (encoder trained by reconstruction alone, K read by
# k-means from the kept embeddings) at widths a 2-core CPU fits in minutes, with wide
# attributes reduced by SVD; "gpu": the same at the paper's widths; "paper": the
# paper's model (joint training, K from the readout's argmax) at the paper's widths.
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {
        "hidden": 64,
        "heads": 2,
        "epochs": 200,
        "eval_every": 25,
        "max_features": 256,
        "detach_readout": True,
        "k_readout": "kmeans",
    },
    "gpu": {
        "hidden": 512,
        "heads": 4,
        "epochs": 1500,
        "eval_every": 50,
        "max_features": None,
        "detach_readout": True,
        "k_readout": "kmeans",
    },
    "paper": {
        "hidden": 512,
        "heads": 4,
        "epochs": 1500,
        "eval_every": 50,
        "max_features": None,
        "detach_readout": False,
        "k_readout": "argmax",
    },
}


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
        preset = self.preset
        if preset not in (*PRESETS, "auto"):
            raise ValueError(
                f"preset must be 'auto', {', '.join(repr(p) for p in PRESETS)}, got {preset!r}"
            )
        if preset == "auto":
            preset = "gpu" if torch.device(device).type == "cuda" else "cpu"
        resolved = {"preset": preset}
        for name, value in PRESETS[preset].items():
            chosen = getattr(self, name)
            resolved[name] = value if chosen is None else chosen
        resolved["k_max"] = default_k_max(num_nodes) if self.k_max is None else self.k_max
        return resolved

    def _validate_params(self, data: Data) -> None:
        super()._validate_params(data)
        n = data.num_nodes
        cfg = self.settings(n, resolve_device(self.device))
        for name in ("hidden", "heads", "epochs", "eval_every"):
            value = cfg[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        k_max = cfg["k_max"]
        if not isinstance(k_max, int) or not 2 <= k_max <= n:
            raise ValueError(f"k_max must be an integer in [2, {n}] (N), got {k_max!r}")
        if cfg["hidden"] % cfg["heads"] != 0:
            raise ValueError(f"hidden={cfg['hidden']} must be a multiple of heads={cfg['heads']}")
        max_features = cfg["max_features"]
        if max_features is not None and (
            not isinstance(max_features, int) or isinstance(max_features, bool) or max_features < 2
        ):
            raise ValueError(f"max_features must be None or an integer >= 2, got {max_features!r}")
        if not isinstance(cfg["detach_readout"], bool):
            raise ValueError(
                f"detach_readout must be True, False or None, got {cfg['detach_readout']!r}"
            )
        if not isinstance(self.progress, bool):
            raise ValueError(f"progress must be True or False, got {self.progress!r}")
        probability(self.mask_rate, "mask_rate", zero=False, one=False)
        probability(self.input_dropout, "input_dropout", one=False)
        for name in ("alpha", "beta", "weight_decay"):
            non_negative_float(getattr(self, name), name)
        positive_float(self.lr, "lr")
        if self.decoder_layers not in (1, 2):
            raise ValueError(f"decoder_layers must be 1 or 2, got {self.decoder_layers!r}")
        if not isinstance(self.decoder_factorized, bool):
            raise ValueError(
                f"decoder_factorized must be True or False, got {self.decoder_factorized!r}"
            )
        if self.readout not in ("relu", "softmax"):
            raise ValueError(f"readout must be 'relu' or 'softmax', got {self.readout!r}")
        if self.readout_norm not in ("none", "layer", "auto"):
            raise ValueError(
                f"readout_norm must be 'none', 'layer' or 'auto', got {self.readout_norm!r}"
            )
        if cfg["k_readout"] not in ("argmax", "kmeans"):
            raise ValueError(f"k_readout must be 'argmax' or 'kmeans', got {cfg['k_readout']!r}")
        if cfg["k_readout"] == "kmeans" and k_max > n - 1:
            raise ValueError(f"k_readout='kmeans' needs k_max <= N - 1 = {n - 1}, got {k_max}")
        if self.selection not in ("argmax", "readout"):
            raise ValueError(
                f"selection must be 'argmax' (score C's argmax partitions, the paper) or "
                f"'readout' (score the partition k_readout returns), got {self.selection!r}"
            )
        if self.batch_size is not None and not (
            isinstance(self.batch_size, int) and self.batch_size >= 2
        ):
            raise ValueError(f"batch_size must be None or an integer >= 2, got {self.batch_size!r}")
        if self.bpr_scale not in ("sum", "mean"):
            raise ValueError(f"bpr_scale must be 'sum' or 'mean', got {self.bpr_scale!r}")
        if not isinstance(self.sparsity_warmup, int) or self.sparsity_warmup < 0:
            raise ValueError(
                f"sparsity_warmup must be an integer >= 0, got {self.sparsity_warmup!r}"
            )
        if self.max_time_s is not None:
            positive_float(self.max_time_s, "max_time_s")
        check_checkpoint_params(self.checkpoint, self.checkpoint_every)
        if data.edge_index.size(1) == 0:
            raise ValueError("DAG needs edges: its BPR loss models the graph's links")

    # -- training -----------------------------------------------------------------------
    def _fit(self, data: Data, device: torch.device) -> None:
        start = time.perf_counter()
        self.settings_ = self.settings(data.num_nodes, device)
        self.config_["settings"] = self.settings_
        self.readout_check_ = None
        self._checkpoints = ResumableFit(self, data.x, data.edge_index, ignore=("max_time_s",))
        saved = self._checkpoints.peek()
        if self.settings_["max_features"] is not None:
            reduced = svd_features(data.x, self.settings_["max_features"], seed=self.seed)
            data = Data(x=reduced, edge_index=data.edge_index, num_nodes=data.num_nodes)
        norm = "none" if self.readout_norm == "auto" else self.readout_norm
        check = self.readout_norm == "auto" and self.settings_["epochs"] > AUTO_CHECK_EPOCH
        if saved is not None and saved["norm"] != norm:  # written after the restart below
            norm, check = saved["norm"], False
        if not self._run(data, device, norm, start, check):
            # the paper's readout is dead: start again, exactly as readout_norm="layer"
            seed_everything(self.seed)
            self.history_ = {}
            self._checkpoints.forget()  # it holds the dead run
            norm = "layer"
            self._run(data, device, norm, start, check=False)
        self.readout_norm_ = norm
        del self._checkpoints

    def _run(self, data: Data, device: torch.device, norm: str, start: float, check: bool) -> bool:
        """Train one model with readout normalisation ``norm`` and set the fitted state.

        With ``check``, stop after ``AUTO_CHECK_EPOCH`` epochs and return False when
        :func:`dead_readout` finds the readout dead (``readout_check_`` says why).
        """
        cfg = self.settings_
        x = data.x.to(device)
        # sparse features pay off on CPU; on an accelerator a dense product is faster
        if device.type == "cpu" and float((data.x != 0).float().mean()) < SPARSE_FEATURES_BELOW:
            x = x.to_sparse()
        edge_index = data.edge_index.to(device)
        n = data.num_nodes
        self._mae = MaskedGraphAutoencoder(
            x.size(1),
            cfg["hidden"],
            cfg["heads"],
            remask=self.remask,
            feat_dropout=self.input_dropout,
            decoder_layers=self.decoder_layers,
            decoder_factorized=self.decoder_factorized,
        ).to(device)
        self._readout = CommunityReadout(
            cfg["hidden"], cfg["hidden"], cfg["k_max"], self.readout, norm
        ).to(device)
        params = list(self._mae.parameters()) + list(self._readout.parameters())
        optimizer = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        sampler = None
        if self.batch_size is not None and self.batch_size < n:
            sampler = RandomWalkSubgraphs(data.edge_index, n, self.batch_size)
        steps = 1 if sampler is None else math.ceil(n / self.batch_size)
        selector = CheckpointSelector()
        x_cpu = data.x
        adjacency = gcn_adjacency(edge_index, n)  # built once; subgraphs build their own
        epochs = cfg["epochs"]
        stateful = {"mae": self._mae, "readout": self._readout, "optimizer": optimizer}
        stateful["selector"] = selector
        epoch = 0
        resumed = self._checkpoints.load(stateful)
        if resumed is not None:
            epoch, extra = resumed
            self.readout_check_ = extra["readout_check"]
            start = time.perf_counter() - extra["elapsed"]  # the deadline counts on
            if self.max_time_s is not None and extra["elapsed"] > self.max_time_s:
                epochs = epoch  # that run had stopped at its deadline: read it out
        bar = progress(
            range(epoch + 1, epochs + 1), self.progress, "DAG", initial=epoch, total=epochs
        )
        for epoch in bar:
            # everything an epoch logs stays on the device until one transfer at its end:
            # a GPU then never waits for the host in the middle of an epoch
            totals = torch.zeros(6, device=device)
            for _ in range(steps):
                if sampler is None:
                    sub_x, sub_edges, sub_adjacency = x, edge_index, adjacency
                    sub_edges_cpu = data.edge_index
                else:
                    nodes, sub_edges_cpu = sampler.sample()
                    # index_select also works on sparse COO features
                    sub_x = x.index_select(0, nodes.to(device))
                    sub_edges = sub_edges_cpu.to(device)
                    sub_adjacency = gcn_adjacency(sub_edges, nodes.numel())
                beta = (
                    self.beta * min(1.0, epoch / self.sparsity_warmup)
                    if self.sparsity_warmup
                    else self.beta
                )
                totals += self._step(
                    sub_x,
                    sub_edges,
                    sub_edges_cpu,
                    sub_adjacency,
                    edge_index.size(1),
                    optimizer,
                    beta,
                )
            norms = self._readout.column_norms()
            values = torch.cat([totals / steps, norms]).cpu()
            check_finite(values[0], "loss", epoch)
            loss, sce, bpr, gs, k_train, top_share = values[:6].tolist()
            self.log(
                loss=loss, sce=sce, bpr=bpr, gs=gs, k_train=k_train, top_share=top_share, beta=beta
            )
            self.history_.setdefault("w_col_norms", []).append(values[6:].tolist())
            if check and epoch == AUTO_CHECK_EPOCH:
                per_edge = self.history_["bpr"][-AUTO_CHECK_WINDOW:]
                if self.bpr_scale == "sum":
                    per_edge = [value / edge_index.size(1) for value in per_edge]
                top = self.history_["top_share"][-AUTO_CHECK_WINDOW:]
                reason = dead_readout(per_edge, top)
                self.readout_check_ = {
                    "epoch": epoch,
                    "per_edge_bpr": sum(per_edge) / len(per_edge),
                    "top_share": sum(top) / len(top),
                    "dead": reason is not None,
                    "reason": reason,
                }
                if reason is not None:
                    bar.close()
                    return False
            elapsed = time.perf_counter() - start
            out_of_time = self.max_time_s is not None and elapsed > self.max_time_s
            bar.set_postfix(loss=f"{loss:.4g}", k=int(k_train), refresh=False)
            if epoch % cfg["eval_every"] == 0 or epoch == epochs or out_of_time:
                self._evaluate(x, edge_index, adjacency, x_cpu, data.edge_index, epoch, selector)
            extra = {"norm": norm, "readout_check": self.readout_check_, "elapsed": elapsed}
            self._checkpoints.save(epoch, epoch if out_of_time else epochs, stateful, None, extra)
            if out_of_time:
                break
        bar.close()
        self.epochs_run_ = epoch
        labels, shares, h, found = selector.best
        self.selected_epoch_ = selector.best_step
        self.labels_argmax_ = labels
        self.k_argmax_ = shares.size(1)
        self.k_search_ = None
        if cfg["k_readout"] == "kmeans":
            if found is None:  # selection="argmax": search the kept checkpoint only
                found = self._search_k(h.to(device), data.edge_index)
            labels = found.labels
            shares = student_t_assignment(h.float(), found.centroids)
            self.k_search_ = found.scores
        self.labels_ = labels
        self.n_clusters_ = shares.size(1)
        self.soft_assignments_ = shares
        self.embeddings_ = h
        return True

    def _step(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_index_cpu: torch.Tensor,
        adjacency: torch.Tensor,
        total_edges: int,
        optimizer: torch.optim.Optimizer,
        beta: float,
    ) -> torch.Tensor:
        """One optimisation step on a (sub)graph.

        ``edge_index_cpu`` is the same graph on the host, where PyG's negative sampler
        works anyway. Returns [loss, sce, bpr, gs, K of this pass, share of nodes in its
        largest community] on the device.
        """
        self._mae.train()
        self._readout.train()
        n = x.size(0)
        mask = sample_mask(n, self.mask_rate, x.device)
        out = self._mae(x, edge_index, mask)
        h = out.embeddings.detach() if self.settings_["detach_readout"] else out.embeddings
        c, scores = self._readout(h, adjacency)
        _, _, neg = structured_negative_sampling(edge_index_cpu, n, contains_neg_self_loops=False)
        # the paper's sum over E, written as |E| x mean so that a sampled subgraph
        # estimates the full-graph sum without bias
        bpr = bpr_loss(c, edge_index[0], edge_index[1], neg.to(x.device), reduction="mean")
        if self.bpr_scale == "sum":
            bpr = total_edges * bpr
        gs = group_sparsity(self._readout.weight)
        loss = out.loss + self.alpha * bpr + beta * gs
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            sizes = community_sizes(c, scores)
            k = (sizes > 0).sum().to(sizes.dtype)
            top = sizes.max() / n
        parts = [loss.detach(), out.loss.detach(), bpr.detach(), gs.detach(), k, top]
        return torch.stack([p.float() for p in parts])

    @torch.no_grad()
    def _evaluate(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        adjacency: torch.Tensor,
        x_cpu: torch.Tensor,
        edge_index_cpu: torch.Tensor,
        epoch: int,
        selector: CheckpointSelector,
    ) -> None:
        """Score the clean graph's partition and offer it to the selector."""
        self._mae.eval()
        self._readout.eval()
        chunk = None
        if self.batch_size is not None and edge_index.size(1) > EVAL_CHUNK_EDGES:
            # large graph: encode the whole graph in chunks of destination nodes, about
            # EVAL_CHUNK_EDGES incoming edges each, instead of all edges at once
            n = x.size(0)
            chunk = max(1, n * EVAL_CHUNK_EDGES // edge_index.size(1))
        h = self._mae.embed(x, edge_index, chunk_size=chunk)
        c, scores = self._readout(h, adjacency)
        labels, columns = affiliation_labels(c, scores)
        labels, k = labels.cpu(), columns.numel()
        q = modularity(edge_index_cpu, labels, num_nodes=labels.numel())
        ch = calinski_harabasz(x_cpu, labels)
        score = selection_score(q, ch, k)
        self.log(eval_epoch=epoch, k=k, modularity=q, calinski_harabasz=ch, selection_score=score)
        found = None
        if self.selection == "readout" and self.settings_["k_readout"] == "kmeans":
            # score the partition this checkpoint would return, in the same space (the
            # input features) as the argmax partitions, so checkpoints stay comparable
            found = self._search_k(h, edge_index_cpu)
            q_read = modularity(edge_index_cpu, found.labels, num_nodes=labels.numel())
            ch_read = calinski_harabasz(x_cpu, found.labels)
            score = selection_score(q_read, ch_read, found.n_clusters)
            self.log(
                readout_k=found.n_clusters,
                readout_modularity=q_read,
                readout_calinski_harabasz=ch_read,
                readout_selection_score=score,
            )
        if selector.offer(score, epoch, None):
            selector.best = (labels, community_shares(c, columns).cpu(), h.cpu(), found)

    def _search_k(self, h: torch.Tensor, edge_index: torch.Tensor) -> KSearchResult:
        """The k-means read-out of embeddings ``h``: the best K in 2..k_max (k-means on
        ``h``'s device: scikit-learn on a CPU, torch on a GPU)."""
        return coarse_to_fine_k_search(h, edge_index, self.settings_["k_max"], seed=self.seed)


__all__ = [
    "DAG",
    "DEAD_BPR_SHARE",
    "DEAD_TOP_SHARE",
    "CheckpointSelector",
    "affiliation_labels",
    "community_shares",
    "community_sizes",
    "count_communities",
    "dead_readout",
    "selection_score",
]
