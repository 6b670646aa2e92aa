"""PamC: DEC self-training with a meta-node contrastive loss (Kulatilleke et al.).

1. Pre-train an autoencoder on the features (MSE; the paper's ``D-500-500-2000-10`` MLP,
   or a GCN encoder) and start the ``K`` centroids from k-means on its embeddings.
2. Train encoder and centroids on ``L = beta KL(P || Q) + alpha L_PamC``: ``Q`` the
   Student-t assignment, ``P`` DEC's sharpened target (recomputed every epoch), and
   ``L_PamC`` (:func:`graphclust.losses.pamc_loss`): positives weighted by the
   influence matrix ``S = sum_{r<=R} Ahat^r``, negatives the ``K`` meta-nodes.

Differences from the released code, all deliberate:

- Meta-nodes ``"soft"`` (``Q^T z``, the paper; gradients reach the centroids) or
  ``"hard"`` (``argmax Q``, detached, the code). The default is ``"hard"``, which led
  on most benchmark runs (docs/methods/pamc.md); soft meta-nodes let the contrastive
  term move the centroids, which can merge clusters.
- Every cluster is kept alive (``empty_clusters="restart"``, default): whenever a
  cluster loses all its nodes during training (argmax of ``Q``, checked every epoch),
  its centroid moves onto the embedding farthest from its own centroid, k-means'
  rule (:func:`graphclust.assign.kmeans.restart_empty_clusters`), and its Adam moments
  are reset; ``history_["restarted"]`` counts the moves per epoch. With
  ``empty_clusters="keep"`` (the released code) an empty cluster stays empty and is
  left out of the meta-node term (no zero meta-node, no NaN). Either way the returned
  labels are numbered ``0..n_clusters_-1`` over the clusters that hold nodes,
  ``cluster_ids_`` maps them back to the ``K`` trained centroids, and a warning says
  when fewer than ``K`` hold nodes.
- Model selection never reads labels: the evaluated state with the best modularity of
  its labels is kept (:mod:`graphclust.methods.pamc.selection`).
- ``batch_size`` trains on node batches, with memory growing with the batch, not with
  ``N``, and data-parallel under ``torchrun`` (:mod:`graphclust.methods.pamc.training`).
- ``checkpoint``: the whole training state is saved every ``checkpoint_every`` epochs;
  a fit given a checkpoint of the same data and parameters resumes from it and ends
  with the result of an uninterrupted fit (bit for bit on a CPU).
- Inductive use: :meth:`PamC.transform` encodes a new graph with the encoder of the
  selected state (the MLP reads the features alone, the GCN the new graph's edges too)
  and :meth:`PamC.predict` assigns its nodes to the selected centroids, numbered as
  ``labels_``.

Only the ratio ``alpha / beta`` and ``lr`` matter with Adam (it is invariant to a
common scale of the loss), so the released settings (0.5, 0.5) and (2, 2) coincide.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, ClassVar

import torch
from torch import nn
from torch_geometric.data import Data

from graphclust.assign import student_t_assignment
from graphclust.data.validation import check_n_clusters
from graphclust.graph.adjacency import influence_matrix
from graphclust.graph.influence_rows import InfluenceRows
from graphclust.methods.base import BaseClusterer, renumber_clusters
from graphclust.methods.checkpoints import ResumableFit, check_checkpoint_params
from graphclust.methods.pamc.selection import LabelFreeSelection
from graphclust.methods.pamc.training import TrainingLoops, TrainingRun
from graphclust.nn.gcn import GCNAutoencoder, GCNEncoder
from graphclust.nn.mlp import Autoencoder, pretrain_autoencoder
from graphclust.utils.checks import (
    flag,
    non_negative_float,
    one_of,
    optional_positive_int,
    positive_float,
    positive_int,
)
from graphclust.utils.distributed import (
    is_main,
    resolve_group,
)

_CHOICES = {
    "encoder": ("mlp", "gcn"),
    "empty_clusters": ("restart", "keep"),
    "meta_nodes": ("hard", "soft"),
    "selection": ("label_free", "final"),
    "selection_score": ("modularity", "modularity_ch"),
}
#: Rows encoded at a time by :meth:`PamC.transform` with the MLP encoder.
_CHUNK = 8192


class PamC(TrainingLoops, BaseClusterer):
    """PamC deep graph clustering (DEC + meta-node contrastive loss).

    Args:
        n_clusters: number of clusters ``K`` (always honoured).
        encoder: ``"mlp"`` (the paper) or ``"gcn"`` (full batch only).
        hidden: encoder hidden widths; the decoder mirrors them.
        latent_dim: embedding size ``d``.
        pretrain_epochs, pretrain_lr, pretrain_batch_size: autoencoder pre-training
            (MSE, Adam; SDCN's 30 / 1e-3 / 256 by default). ``pretrain_epochs`` may be
            a tuple of candidate lengths, e.g. ``(30, 100)``: one pre-training run is
            snapshotted at each length, PamC trains from every snapshot, and the
            label-free score picks the state across all of them (needs
            ``selection="label_free"``; costs one training per candidate).
        epochs: training epochs after pre-training.
        lr: Adam learning rate of the encoder and the centroids.
        alpha: weight of the PamC loss.
        beta: weight of the DEC KL term.
        order: ``R``, hops of the influence matrix.
        tau: inverse temperature of the cosine similarities.
        meta_nodes: ``"hard"`` (released code, default) or ``"soft"`` (paper).
        batch_size: ``None`` trains full batch; an integer trains on node batches.
        eval_every: evaluate the label-free score every this many epochs (the final
            state is always evaluated).
        selection: ``"label_free"`` or ``"final"`` (:mod:`.selection`).
        selection_score: ``"modularity"`` or ``"modularity_ch"``.
        empty_clusters: ``"restart"`` (default) moves the centroid of a cluster that
            lost all its nodes onto the farthest embedding; ``"keep"`` leaves it empty
            (the released code).
        n_init: k-means restarts for the centroids.
        checkpoint: file to save the training state to and resume from (``None``: no
            checkpoint); a checkpoint of other data or other parameters is refused.
        checkpoint_every: epochs between checkpoints (the last epoch is always saved).
        distributed: ``None`` (data-parallel mini-batch training when
            ``torch.distributed`` is initialised with several processes), ``True``
            (require it; needs ``batch_size``) or ``False`` (this process alone); see
            :func:`graphclust.utils.distributed.resolve_group`.
        progress: show a progress bar over the clustering epochs (tqdm, on stderr, with
            an estimate of the time left; the main process only under DDP).
        seed: random seed.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Fitted attributes, besides the base ones: ``final_labels_`` (last epoch),
    ``selected_epoch_`` (epoch of ``labels_``; ``epochs`` means after the last update),
    ``selected_pretrain_epochs_`` (the pre-training length it started from),
    ``cluster_centers_`` ``[n_clusters_, d]`` (of the selected state, one per label),
    ``cluster_ids_`` (LongTensor ``[n_clusters_]``: the trained centroid, in
    ``0..K-1``, of each label), ``encoder_`` (the encoder of the selected state, in
    eval mode; :meth:`transform` and :meth:`predict` use it on new graphs).
    """

    requires_features: ClassVar[bool] = True

    def __init__(
        self,
        n_clusters: int = 8,
        encoder: str = "mlp",
        hidden: tuple[int, ...] = (500, 500, 2000),
        latent_dim: int = 10,
        pretrain_epochs: int | tuple[int, ...] = 30,
        pretrain_lr: float = 1e-3,
        pretrain_batch_size: int = 256,
        epochs: int = 200,
        lr: float = 1e-3,
        alpha: float = 1.0,
        beta: float = 1.0,
        order: int = 1,
        tau: float = 0.5,
        meta_nodes: str = "hard",
        batch_size: int | None = None,
        eval_every: int = 1,
        selection: str = "label_free",
        selection_score: str = "modularity",
        empty_clusters: str = "restart",
        n_init: int = 20,
        checkpoint: str | None = None,
        checkpoint_every: int = 1,
        distributed: bool | None = None,
        progress: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.encoder = encoder
        self.hidden = hidden
        self.latent_dim = latent_dim
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_batch_size = pretrain_batch_size
        self.epochs = epochs
        self.lr = lr
        self.alpha = alpha
        self.beta = beta
        self.order = order
        self.tau = tau
        self.meta_nodes = meta_nodes
        self.batch_size = batch_size
        self.eval_every = eval_every
        self.selection = selection
        self.selection_score = selection_score
        self.empty_clusters = empty_clusters
        self.n_init = n_init
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.distributed = distributed
        self.progress = progress
        self.seed = seed
        self.device = device

    # -- validation ------------------------------------------------------------------
    def _validate_params(self, data: Data) -> None:
        super()._validate_params(data)
        for name, choices in _CHOICES.items():
            one_of(getattr(self, name), name, choices)
        check_n_clusters(self.n_clusters, data.num_nodes)  # check_graph skips None
        flag(self.progress, "progress")
        for name in ("latent_dim", "order", "eval_every", "n_init", "pretrain_batch_size"):
            positive_int(getattr(self, name), name)
        positive_int(self.epochs, "epochs", 0)
        optional_positive_int(self.batch_size, "batch_size")
        if not isinstance(self.hidden, (tuple, list)):
            raise ValueError(
                f"hidden must be a tuple of positive integer widths, got {self.hidden!r}"
            )
        for width in self.hidden:
            positive_int(width, "each width in hidden")
        for name in ("pretrain_lr", "lr", "tau"):
            positive_float(getattr(self, name), name)
        for name in ("alpha", "beta"):
            non_negative_float(getattr(self, name), name)
        check_checkpoint_params(self.checkpoint, self.checkpoint_every)
        resolve_group(self.distributed)  # refuses distributed=True without a group
        # Rules that tie several parameters (or the graph) together.
        if len(self._pretrain_lengths()) > 1 and (
            self.selection != "label_free" or data.edge_index.numel() == 0
        ):
            raise ValueError(
                f"pretrain_epochs={self.pretrain_epochs!r} gives several candidate runs, "
                "which only selection='label_free' on a graph with edges can choose "
                "between; pass one length"
            )
        if self.batch_size is not None and self.encoder == "gcn":
            raise ValueError(
                "batch_size is for the MLP encoder: a GCN needs every node's neighbourhood "
                "in each step; use encoder='mlp' or batch_size=None"
            )
        if self.distributed and self.batch_size is None:
            raise ValueError(
                "distributed=True trains the mini-batch mode: set batch_size (the global "
                "node batch, shared by the processes)"
            )

    def _pretrain_lengths(self) -> tuple[int, ...]:
        """The candidate pre-training lengths, validated, ascending and unique."""
        lengths = self.pretrain_epochs
        lengths = tuple(lengths) if isinstance(lengths, (tuple, list)) else (lengths,)
        if not lengths:
            raise ValueError("pretrain_epochs must be an integer or a non-empty tuple of them")
        return tuple(sorted({positive_int(v, "pretrain_epochs", 0) for v in lengths}))

    # -- training --------------------------------------------------------------------
    def _fit(self, data: Data, device: torch.device) -> None:
        x = data.x.to(device)
        edge_index = data.edge_index.to(device)
        selection = LabelFreeSelection(data, self.selection, self.selection_score, self.log)
        if self.selection == "label_free" and not selection.has_edges:
            warnings.warn(
                "the graph has no edges: modularity is undefined, so PamC keeps "
                "the final epoch (selection='final')",
                UserWarning,
                stacklevel=4,
            )
        cls = Autoencoder if self.encoder == "mlp" else GCNAutoencoder
        model = cls(x.size(1), tuple(self.hidden), self.latent_dim).to(device)
        centroids = nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim, device=device))
        run = TrainingRun(
            model=model,
            centroids=centroids,
            optimizer=torch.optim.Adam([*model.encoder.parameters(), centroids], lr=self.lr),
            x=x,
            edge_index=edge_index,
            influence=influence_matrix(edge_index, data.num_nodes, self.order)
            if self.batch_size is None
            else InfluenceRows(edge_index, data.num_nodes, self.order),
            generator=torch.Generator(),  # node order of the mini-batch mode
            # Full batch has nothing to share: every rank then trains the same model alone.
            group=resolve_group(self.distributed) if self.batch_size is not None else None,
            selection=selection,
        )
        holder = nn.ParameterDict({"centroids": centroids})
        stateful = {"model": model, "centroids": holder, "optimizer": run.optimizer}
        checkpoint = ResumableFit(self, data.x, data.edge_index)
        resumed = checkpoint.load(stateful, run.generator)
        done, current, finals = 0, None, {}
        if resumed is None:
            snapshots = self._pretrain(model, x, edge_index)
        else:
            done, extra = resumed
            current, snapshots, finals = extra["candidate"], extra["snapshots"], extra["finals"]
            self.pretrain_history_ = extra["pretrain_history"]
            selection.load_state_dict(extra, self.checkpoint)

        def save(epochs_done: int) -> None:
            later = {k: v for k, v in snapshots.items() if k > selection.candidate}
            extra = {"candidate": selection.candidate, "snapshots": later, "finals": finals}
            extra.update(pretrain_history=self.pretrain_history_, **selection.state_dict())
            if is_main(run.group):
                checkpoint.save(epochs_done, self.epochs, stateful, run.generator, extra)

        run.save = save
        train = self._train_full_batch if self.batch_size is None else self._train_minibatch
        for length in self._pretrain_lengths():
            if length in finals:  # trained before the checkpoint was written
                continue
            selection.candidate = length
            if length != current:
                self._start_candidate(run, snapshots[length], length)
                done = 0
            final = train(run, done)
            self._evaluate(run, self.epochs, *final)
            finals[length] = tuple(t.cpu() for t in final)
        self._set_fitted(selection.selected(finals, self.epochs, model.encoder), model.encoder)

    def _pretrain(self, model: nn.Module, x: torch.Tensor, edge_index: torch.Tensor):
        """Pre-train ``model``; a copy of its weights at each candidate length."""
        lengths = self._pretrain_lengths()
        snapshots = {}

        def snapshot(done: int) -> None:
            if done in lengths:
                snapshots[done] = copy.deepcopy(model.state_dict())

        snapshot(0)
        self.pretrain_history_ = pretrain_autoencoder(
            model,
            x,
            edge_index,
            epochs=lengths[-1],
            lr=self.pretrain_lr,
            batch_size=self.pretrain_batch_size,
            seed=self.seed,
            on_epoch_end=snapshot,
        )
        return snapshots

    # -- outputs ---------------------------------------------------------------------
    def _set_fitted(self, state: dict[str, Any], trained: nn.Module) -> None:
        """Set the fitted attributes from the selected ``state``
        (:meth:`LabelFreeSelection.selected`); ``trained`` is the training encoder."""
        q = state["q"]
        found = renumber_clusters(q.argmax(dim=1), q, self.n_clusters, "PamC")
        self.labels_, self.cluster_ids_, self.soft_assignments_ = found
        self.embeddings_ = state["z"]
        self.cluster_centers_ = state["centroids"][found.cluster_ids]
        self.n_clusters_ = int(found.cluster_ids.numel())
        self.final_labels_ = state["final_labels"]
        self.selected_pretrain_epochs_ = state["pretrain_epochs"]
        self.selected_epoch_ = state["epoch"]
        # A GCN caches the training graph's normalised adjacency: encode new graphs
        # with an uncached copy.
        if isinstance(trained, GCNEncoder):
            encoder = GCNEncoder(trained.dims, cached=False)
        else:
            encoder = copy.deepcopy(trained)
        encoder.load_state_dict(state["encoder"])
        self.encoder_ = encoder.to(next(trained.parameters()).device).eval().requires_grad_(False)

    @torch.no_grad()
    def transform(self, data: Data) -> torch.Tensor:
        """Embeddings ``[M, d]`` of the nodes of a graph ``data`` (CPU float).

        ``data`` is checked as by :meth:`fit` and must have the fitted feature width.
        The encoder of the selected state encodes it: the MLP encoder reads the
        features alone (``_CHUNK`` rows at a time), the GCN encoder the features and
        the edges of ``data``. On the training graph this gives ``embeddings_``.
        """
        clean = self._validate_new_input(data)
        device = next(self.encoder_.parameters()).device
        x = clean.x.to(device)
        if isinstance(self.encoder_, GCNEncoder):
            z = self.encoder_(x, clean.edge_index.to(device))
        else:
            z = torch.cat([self.encoder_(x[i : i + _CHUNK]) for i in range(0, x.size(0), _CHUNK)])
        return z.cpu()

    def predict(self, data: Data) -> torch.Tensor:
        """Cluster labels ``[M]`` of the nodes of a graph ``data``, numbered as ``labels_``.

        Each node goes to the highest Student-t assignment (the nearest centre) among
        ``cluster_centers_``, the clusters that hold training nodes; on the training
        graph this gives ``labels_``.
        """
        z = self.transform(data)
        return student_t_assignment(z, self.cluster_centers_).argmax(dim=1)


__all__ = ["PamC"]
