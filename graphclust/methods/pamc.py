"""PamC: DEC self-training with a meta-node contrastive loss (Kulatilleke et al.).

1. Pre-train an autoencoder on the features (MSE; the paper's ``D-500-500-2000-10`` MLP,
   or a GCN encoder) and start the ``K`` centroids from k-means on its embeddings.
2. Train encoder and centroids on ``L = beta KL(P || Q) + alpha L_PamC``: ``Q`` the
   Student-t assignment, ``P`` DEC's sharpened target (recomputed every epoch), and
   ``L_PamC`` (:func:`graphclust.nn.contrastive.pamc_loss`): positives weighted by the
   influence matrix ``S = sum_{r<=R} Ahat^r``, negatives the ``K`` meta-nodes.

Differences from the released code, all deliberate:

- Meta-nodes ``"soft"`` (``Q^T z``, the paper; gradients reach the centroids) or
  ``"hard"`` (``argmax Q``, detached, the code). The default is ``"hard"``: on the six
  benchmark graphs (``experiments/pamc``) it ended ahead in 13 of 18 (dataset, seed)
  pairs at 40 epochs (seeds 0-2) and on five of six at 200 epochs (seed 0); soft led
  on Photo, and soft meta-nodes, which let the contrastive term move the centroids,
  merged Citeseer's clusters on 2 of 3 seeds (ACC .21 and .40).
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
- Model selection never reads labels: ``selection="label_free"`` keeps the evaluated
  epoch with the highest modularity of its hard labels on the input graph (PamC's
  positives are the graph; DEC's term only sharpens whatever partition it has, so a
  score on the embeddings would reward sharpening, and a collapse to one cluster scores
  0). ``selection_score="modularity_ch"`` multiplies by the Calinski-Harabasz index of
  the labels on the input features (DAG's rule). ``"final"`` keeps the last epoch.
- ``batch_size`` switches to a mini-batch mode whose memory grows with the batch, not
  with ``N``. Each epoch starts with one gradient-free pass over all nodes in chunks,
  which gives the exact ``Q`` (hence ``P``, the labels and the score) and a cache of
  all embeddings ``[N, d]``. Each step then encodes a node batch ``B`` and takes the
  rows of ``S`` for ``B`` (:func:`graphclust.graph.sparse_rows`); a positive ``j`` in
  the batch uses its fresh embedding, any other ``j`` the cached one (detached, and
  refreshed as batches go by). Restricting positives to in-batch columns instead would
  keep almost none of them (a random batch holds a fraction ``B/N`` of each
  neighbourhood), so the detached cache is the better approximation; the gradient then
  reaches ``z_j`` of an out-of-batch positive only through the symmetric entry
  ``S_ji`` when ``j``'s own batch comes. Meta-nodes come from the batch (cosine
  similarity ignores the scale of the sum, so a batch estimates the directions).
  Memory: ``O(B * (width + nnz per row of S))`` for a step, plus ``N (d + K)`` floats
  for the cache and targets, beside the inputs ``x`` and ``S`` themselves.
- The mini-batch mode trains data-parallel under ``torchrun`` (``distributed``,
  docs/distributed.md): every rank holds ``x`` and ``S``, draws the same node order,
  encodes its share of each batch inside DDP and of the epoch's gradient-free pass;
  the batch's fresh embeddings (and soft assignments) are all-gathered with their
  gradients, so the positives, the meta-nodes and the loss are those of one process on
  the same batch. Pre-training and k-means run on every rank; rank 0's result is kept.

- ``checkpoint``: the training state (autoencoder, centroids, Adam, mini-batch order,
  random streams, the best state so far and its score, ``history_``, the pre-training
  snapshots still to train from) is saved every ``checkpoint_every`` epochs, and a fit
  given an existing checkpoint of the same data and parameters resumes from it and ends
  with the result of an uninterrupted fit (bit for bit on a CPU).

Only the ratio ``alpha / beta`` and ``lr`` matter with Adam (it is invariant to a
common scale of the loss), so the released settings (0.5, 0.5) and (2, 2) coincide.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import torch
from torch_geometric.data import Data

from graphclust.assign import (
    dec_target,
    fit_kmeans,
    kl_clustering_loss,
    student_t_assignment,
)
from graphclust.assign.kmeans import nearest_centroids, restart_empty_clusters
from graphclust.data.validation import check_n_clusters
from graphclust.graph.adjacency import influence_matrix, sparse_rows
from graphclust.methods.base import BaseClusterer, check_finite
from graphclust.methods.checkpoints import ResumableFit, check_checkpoint_params
from graphclust.metrics import calinski_harabasz, modularity
from graphclust.nn.contrastive import influence_term, meta_node_term, pamc_loss
from graphclust.nn.gcn import GCNAutoencoder
from graphclust.nn.mlp import Autoencoder, encode_in_chunks, pretrain_autoencoder
from graphclust.utils.checks import non_negative_float, positive_float, positive_int
from graphclust.utils.distributed import (
    ProcessGroup,
    StepModule,
    all_reduce_sum_,
    broadcast_module_,
    broadcast_tensors,
    gather_rows,
    gather_rows_with_grad,
    is_main,
    resolve_group,
    shard,
    world_size,
    wrap_ddp,
)

_CHOICES = {
    "encoder": ("mlp", "gcn"),
    "empty_clusters": ("restart", "keep"),
    "meta_nodes": ("hard", "soft"),
    "selection": ("label_free", "final"),
    "selection_score": ("modularity", "modularity_ch"),
}


class PamC(BaseClusterer):
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
        selection: ``"label_free"`` or ``"final"`` (see the module docstring).
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
        seed: random seed.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Fitted attributes, besides the base ones: ``final_labels_`` (last epoch),
    ``selected_epoch_`` (epoch of ``labels_``; ``epochs`` means after the last update),
    ``selected_pretrain_epochs_`` (the pre-training length it started from),
    ``cluster_centers_`` ``[n_clusters_, d]`` (of the selected state, one per label),
    ``cluster_ids_`` (LongTensor ``[n_clusters_]``: the trained centroid, in
    ``0..K-1``, of each label).
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
        self.seed = seed
        self.device = device

    # -- validation ------------------------------------------------------------------
    def _validate_params(self, data: Data) -> None:
        super()._validate_params(data)
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        check_n_clusters(self.n_clusters, data.num_nodes)  # check_graph skips None
        for name in ("latent_dim", "order", "eval_every", "n_init"):
            positive_int(getattr(self, name), name, 1)
        positive_int(self.epochs, "epochs", 0)
        lengths = self._pretrain_lengths()
        if len(lengths) > 1 and (self.selection != "label_free" or data.edge_index.numel() == 0):
            raise ValueError(
                f"pretrain_epochs={self.pretrain_epochs!r} gives several candidate runs, "
                "which only selection='label_free' on a graph with edges can choose "
                "between; pass one length"
            )
        positive_int(self.pretrain_batch_size, "pretrain_batch_size", 1)
        if self.batch_size is not None:
            positive_int(self.batch_size, "batch_size", 1)
            if self.encoder == "gcn":
                raise ValueError(
                    "batch_size is for the MLP encoder: a GCN needs every node's neighbourhood "
                    "in each step; use encoder='mlp' or batch_size=None"
                )
        if not all(isinstance(h, int) and h >= 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive integer widths, got {self.hidden!r}")
        for name in ("pretrain_lr", "lr", "tau"):
            positive_float(getattr(self, name), name)
        for name in ("alpha", "beta"):
            non_negative_float(getattr(self, name), name)
        check_checkpoint_params(self.checkpoint, self.checkpoint_every)
        resolve_group(self.distributed)  # refuses distributed=True without a group
        if self.distributed and self.batch_size is None:
            raise ValueError(
                "distributed=True trains the mini-batch mode: set batch_size (the global "
                "node batch, shared by the processes)"
            )

    # -- training --------------------------------------------------------------------
    def _fit(self, data: Data, device: torch.device) -> None:
        # Full batch has nothing to share: every rank then trains the same model alone.
        group = resolve_group(self.distributed) if self.batch_size is not None else None
        x = data.x.to(device)
        edge_index = data.edge_index.to(device)
        self._graph = data  # CPU copy for the label-free score
        self._best_score = -np.inf
        self._has_edges = data.edge_index.numel() > 0
        if self.selection == "label_free" and not self._has_edges:
            warnings.warn(
                "the graph has no edges: modularity is undefined, so PamC keeps "
                "the final epoch (selection='final')",
                UserWarning,
                stacklevel=4,
            )
        influence = influence_matrix(edge_index, data.num_nodes, self.order)
        cls = Autoencoder if self.encoder == "mlp" else GCNAutoencoder
        model = cls(x.size(1), tuple(self.hidden), self.latent_dim).to(device)
        centroids = torch.nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim, device=device))
        optimizer = torch.optim.Adam(list(model.encoder.parameters()) + [centroids], lr=self.lr)
        generator = torch.Generator()  # node order of the mini-batch mode
        holder = torch.nn.ParameterDict({"centroids": centroids})
        stateful = {"model": model, "centroids": holder, "optimizer": optimizer}
        run = ResumableFit(self, data.x, data.edge_index)
        resumed = run.load(stateful, generator)
        done, current, finals = 0, None, {}
        if resumed is None:
            snapshots = self._pretrain(model, x, edge_index)
        else:
            done, extra = resumed
            current, snapshots, finals = extra["candidate"], extra["snapshots"], extra["finals"]
            self.pretrain_history_, self._best_score = extra["pretrain_history"], extra["score"]
            if extra["best"] is not None:
                self._best = extra["best"]

        def save(epochs_done: int) -> None:
            later = {k: v for k, v in snapshots.items() if k > self._candidate}
            extra = {"candidate": self._candidate, "snapshots": later, "finals": finals}
            extra.update(pretrain_history=self.pretrain_history_, score=self._best_score)
            extra["best"] = getattr(self, "_best", None)
            if is_main(group):
                run.save(epochs_done, self.epochs, stateful, generator, extra)

        for length in self._pretrain_lengths():
            if length in finals:  # trained before the checkpoint was written
                continue
            self._candidate = length
            if length != current:
                model.load_state_dict(snapshots[length])
                broadcast_module_(model, group)  # pre-trained on every rank: keep rank 0's
                self.log(candidate_pretrain_epochs=length)
                z0 = encode_in_chunks(model, x, edge_index=edge_index)
                with torch.no_grad():
                    centroids.copy_(self._kmeans_centroids(z0))
                broadcast_tensors([centroids], group)
                optimizer.state.clear()  # a fresh Adam for each candidate
                generator.manual_seed(self.seed)
                done = 0
            if self.batch_size is None:
                final = self._train_full_batch(
                    model, centroids, optimizer, x, edge_index, influence, done, save
                )
            else:
                final = self._train_minibatch(
                    model, centroids, optimizer, x, influence, generator, done, save, group
                )
            self._evaluate(self.epochs, *final)
            finals[length] = tuple(t.cpu() for t in final)
        self._finish(finals)
        del self._graph, self._candidate

    def _pretrain_lengths(self) -> tuple[int, ...]:
        """The candidate pre-training lengths, validated, ascending and unique."""
        lengths = self.pretrain_epochs
        lengths = tuple(lengths) if isinstance(lengths, (tuple, list)) else (lengths,)
        if not lengths:
            raise ValueError("pretrain_epochs must be an integer or a non-empty tuple of them")
        for value in lengths:
            positive_int(value, "pretrain_epochs", 0)
        return tuple(sorted(set(int(v) for v in lengths)))

    def _pretrain(self, model: torch.nn.Module, x: torch.Tensor, edge_index: torch.Tensor):
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

    def _kmeans_centroids(self, z: torch.Tensor) -> torch.Tensor:
        z = z.detach().cpu().double()
        return fit_kmeans(z, self.n_clusters, n_init=self.n_init, seed=self.seed).centroids

    def _assignment(self, q: torch.Tensor) -> torch.Tensor:
        return q if self.meta_nodes == "soft" else q.detach().argmax(dim=1)

    def _train_full_batch(
        self, model, centroids, optimizer, x, edge_index, influence, start: int, save: Callable
    ) -> tuple:
        """Train full batch from epoch ``start``, ``save(epochs_done)`` after each epoch;
        returns the final ``(q, z, centroids)``."""
        model.train()
        for epoch in range(start, self.epochs):
            z = model.encode(x, edge_index)
            check_finite(z, "PamC embeddings (training diverged)", epoch)
            self._restart_empty(z.detach(), centroids, optimizer)
            q = student_t_assignment(z, centroids)
            check_finite(q, "PamC assignment (training diverged)", epoch)
            # P from this forward equals the released code's extra no-grad forward.
            p = dec_target(q.detach())
            if epoch % self.eval_every == 0:
                self._evaluate(epoch, q.detach(), z.detach(), centroids.detach())
            kl = kl_clustering_loss(p, q)
            contrast, positive, negative = pamc_loss(
                z, influence, self._assignment(q), self.tau, self.n_clusters, return_parts=True
            )
            loss = self.beta * kl + self.alpha * contrast
            check_finite(loss, "PamC loss", epoch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            self.log(
                loss=loss.detach(),
                kl=kl.detach(),
                positive=positive.detach(),
                negative=negative.detach(),
            )
            save(epoch + 1)
        model.eval()
        with torch.no_grad():
            z = model.encode(x, edge_index)
            q = student_t_assignment(z, centroids)
        return q, z, centroids.detach()

    def _train_minibatch(
        self,
        model,
        centroids,
        optimizer,
        x,
        influence,
        generator,
        start: int,
        save: Callable,
        group: ProcessGroup | None = None,
    ) -> tuple:
        """Train on node batches (order drawn from ``generator``) from epoch ``start``,
        ``save(epochs_done)`` after each epoch; returns the final ``(q, z, centroids)``.
        Under ``group`` each rank encodes its share of every batch and of the epoch's
        pass (module docstring)."""
        n, device = x.size(0), x.device
        position = torch.full((n,), -1, dtype=torch.long, device=device)
        trained = torch.nn.ModuleDict(
            {"encoder": model.encoder, "centroids": torch.nn.ParameterDict({"c": centroids})}
        )
        step = wrap_ddp(
            StepModule(
                trained, lambda *a: self._batch_loss(model, centroids, x, influence, *a, group)
            ),
            group,
        )
        for epoch in range(start, self.epochs + 1):
            model.eval()
            with torch.no_grad():
                own = x[shard(n, group)]
                cache = encode_in_chunks(model, own, chunk_size=max(self.batch_size, 8192))
                cache = gather_rows(cache, group)
            check_finite(cache, "PamC embeddings (training diverged)", epoch)
            if epoch < self.epochs:
                self._restart_empty(cache, centroids, optimizer)
            with torch.no_grad():
                q_all = student_t_assignment(cache, centroids)
            if epoch == self.epochs:
                break
            p_all = dec_target(q_all)
            if epoch % self.eval_every == 0:
                self._evaluate(epoch, q_all, cache, centroids.detach())
            model.train()
            parts = torch.zeros(4, device=device)
            order = torch.randperm(n, generator=generator).to(device)
            for begin in range(0, n, self.batch_size):
                batch = order[begin : begin + self.batch_size]
                mine = batch[shard(batch.numel(), group)]
                z_batch, losses = step(batch, mine, p_all, cache, position, epoch)
                logged = losses.detach()
                if group is not None:  # the mean over ranks is the batch's loss
                    logged = all_reduce_sum_(logged.clone(), group) / world_size(group)
                check_finite(logged[0], "PamC loss", epoch)
                optimizer.zero_grad(set_to_none=True)
                losses[0].backward()
                optimizer.step()
                cache[batch] = z_batch.detach()
                parts += (batch.numel() / n) * logged
            self.log(loss=parts[0], kl=parts[1], positive=parts[2], negative=parts[3])
            save(epoch + 1)
        return q_all, cache, centroids.detach()

    def _batch_loss(
        self, model, centroids, x, influence, batch, mine, p_all, cache, position, epoch, group
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss of the node batch ``batch`` ``[B]`` computed from this rank's rows
        ``mine`` (all of it alone). Returns the batch's fresh embeddings ``[B, d]`` and
        ``[loss, kl, positive, negative]``; under ``group`` the ranks' losses average
        to the batch's loss, and their gradients (DDP's average) to its gradient."""
        device = x.device
        z = model.encode(x[mine])
        q = student_t_assignment(z, centroids)
        # Checked on every rank at once (a sum over ranks is NaN when any rank's is), so
        # that all raise together rather than one waiting for the others.
        total = q.detach().sum().reshape(1) if group is not None else q
        check_finite(all_reduce_sum_(total, group), "PamC assignment (training diverged)", epoch)
        kl = kl_clustering_loss(p_all[mine], q) if mine.numel() else z.sum() * 0.0
        row, col, value = sparse_rows(influence, mine)
        z_batch = gather_rows_with_grad(z, group)  # ``z`` itself alone
        # Fresh embeddings for in-batch positives, the cache for the others.
        position[batch] = torch.arange(batch.numel(), device=device)
        local = position[col]
        position[batch] = -1
        # index_select, not z[...]: the accumulating index_put_ behind advanced
        # indexing's backward sums in a thread-dependent order on CPU.
        fresh = z_batch.index_select(0, local.clamp_min(0))
        z_cols = torch.where((local >= 0).unsqueeze(1), fresh, cache[col])
        hop = torch.arange(col.numel(), device=device)
        positive = influence_term(z, z_cols, row, hop, value, self.tau)
        assignment = self._assignment(q)
        if assignment.is_floating_point():
            assignment = gather_rows_with_grad(assignment, group)
        else:
            assignment = gather_rows(assignment, group)
        negative = meta_node_term(z_batch, assignment, self.n_clusters, self.tau)
        if group is not None:
            # Row means over the batch, not over this rank's rows (the positive term
            # averages over the rows that have a positive entry).
            size = world_size(group)
            kl = kl * (mine.numel() * size / batch.numel())
            rows = torch.tensor([float(row[value > 0].unique().numel())], device=device)
            total = all_reduce_sum_(rows.clone(), group).clamp_min(1.0)
            positive = positive * (rows * size / total).squeeze(0)
        loss = self.beta * kl + self.alpha * (positive + negative)
        return z_batch, torch.stack([loss, kl, positive, negative])

    @torch.no_grad()
    def _restart_empty(self, z: torch.Tensor, centroids: torch.nn.Parameter, optimizer) -> None:
        """With ``empty_clusters="restart"``, move the centroids of clusters that hold no
        node onto the farthest embeddings and reset their Adam moments."""
        if self.empty_clusters != "restart":
            return
        labels, sq_dists = nearest_centroids(z.float(), centroids.float())
        moved, empty = restart_empty_clusters(centroids, z, labels, sq_dists)
        self.log(restarted=empty.numel())
        if not empty.numel():
            return
        centroids.copy_(moved)
        for moment in optimizer.state.get(centroids, {}).values():
            if torch.is_tensor(moment) and moment.shape == centroids.shape:
                moment[empty] = 0.0

    # -- label-free evaluation and outputs -------------------------------------------
    def _score(self, labels: torch.Tensor) -> float:
        if not self._has_edges:
            return float("nan")
        graph = self._graph
        score = modularity(graph.edge_index, labels, num_nodes=graph.num_nodes)
        self.log(modularity=score)
        if self.selection_score == "modularity_ch":
            ch = calinski_harabasz(graph.x, labels)
            self.log(calinski_harabasz=ch)
            score = score * ch
        return score

    def _evaluate(self, epoch: int, q: torch.Tensor, z: torch.Tensor, centroids) -> None:
        """Score the state whose assignment is ``q``; keep it when it is the best so far."""
        self.log(eval_epoch=epoch)
        labels = q.argmax(dim=1).cpu()
        score = self._score(labels)
        self.log(score=score, nonempty=int(labels.unique().numel()))
        if self.selection == "label_free" and score > self._best_score:
            self._best_score = score
            self._best = (
                self._candidate,
                epoch,
                q.cpu().clone(),
                z.cpu().clone(),
                centroids.cpu().clone(),
            )

    def _finish(self, finals: dict[int, tuple[torch.Tensor, ...]]) -> None:
        """Set the fitted attributes from the selected state (all finals are scored).

        ``finals`` maps each candidate pre-training length to its last state; with one
        candidate, ``selection="final"`` (or a graph without edges) keeps that one.
        """
        if self.selection == "final" or not self._has_edges:
            ((length, (q, z, centroids)),) = finals.items()
            self._best = (length, self.epochs, q.cpu(), z.cpu(), centroids.cpu())
        length, epoch, q_best, z_best, c_best = self._best
        del self._best
        self.final_labels_ = finals[length][0].argmax(dim=1).cpu()
        self.selected_pretrain_epochs_ = length
        self.selected_epoch_ = epoch
        used, labels = torch.unique(q_best.argmax(dim=1), return_inverse=True)
        shares = q_best[:, used]
        self.soft_assignments_ = shares / shares.sum(dim=1, keepdim=True).clamp_min(1e-30)
        self.embeddings_ = z_best
        self.cluster_centers_ = c_best[used]
        self.cluster_ids_ = used
        self.labels_ = labels
        self.n_clusters_ = int(used.numel())
        if self.n_clusters_ < self.n_clusters:
            warnings.warn(
                f"PamC: only {self.n_clusters_} of the {self.n_clusters} clusters hold nodes "
                f"(epoch {epoch}); labels_ are numbered 0..{self.n_clusters_ - 1} and "
                "cluster_ids_ maps them to the trained centroids",
                UserWarning,
                stacklevel=6,
            )


__all__ = ["PamC"]
