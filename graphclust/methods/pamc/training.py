"""PamC's training loops: full batch, and node mini-batches (data-parallel under torchrun).

Both minimise ``beta KL(P || Q) + alpha L_PamC`` over the encoder and the centroids
(:mod:`graphclust.methods.pamc.estimator`) and offer each evaluated state to the
label-free selection (:mod:`graphclust.methods.pamc.selection`).

``batch_size`` switches to the mini-batch mode, whose memory grows with the batch, not
with ``N``. Each epoch starts with one gradient-free pass over all nodes in chunks,
which gives the exact ``Q`` (hence ``P``, the labels and the score) and a cache of all
embeddings ``[N, d]``. Each step then encodes a node batch ``B`` and takes the rows of
``S`` for ``B``, computed from the edges for that batch
(:class:`~graphclust.graph.influence_rows.InfluenceRows`; ``S`` is never built); a
positive ``j`` in the batch uses its fresh embedding, any other ``j`` the cached one
(detached, and refreshed as batches go by). Restricting positives to in-batch columns
instead would keep almost none of them (a random batch holds a fraction ``B/N`` of each
neighbourhood), so the detached cache is the better approximation; the gradient then
reaches ``z_j`` of an out-of-batch positive only through the symmetric entry ``S_ji``
when ``j``'s own batch comes. Meta-nodes come from the batch (cosine similarity ignores
the scale of the sum, so a batch estimates the directions). Memory: ``O(B * (width + nnz
per row of S))`` for a step, plus ``N (d + K)`` floats for the cache and targets and
``O(N)`` for the rows of ``S``, beside the inputs ``x`` and ``edge_index``, which are
read, never copied (a memory-mapped graph, :mod:`graphclust.data.memmap`, stays shared
between processes).

Under ``torchrun`` (``distributed``, docs/distributed.md) the mini-batch mode trains
data-parallel: every rank holds (or maps) ``x`` and the edges, draws the same node
order, encodes its share of each batch inside DDP and of the epoch's gradient-free pass;
the batch's fresh embeddings (and soft assignments) are all-gathered with their
gradients, so the positives, the meta-nodes and the loss are those of one process on the
same batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from graphclust.assign import dec_target, fit_kmeans, student_t_assignment
from graphclust.assign.kmeans import nearest_centroids, restart_empty_clusters
from graphclust.graph.influence_rows import InfluenceRows
from graphclust.losses import influence_term, kl_clustering_loss, meta_node_term, pamc_loss
from graphclust.methods.base import DivergenceGuard, check_finite
from graphclust.methods.pamc.selection import Final, LabelFreeSelection
from graphclust.nn.mlp import encode_in_chunks
from graphclust.training import progress
from graphclust.utils.distributed import (
    ProcessGroup,
    StepModule,
    all_reduce_sum_,
    broadcast_module_,
    broadcast_tensors,
    gather_rows,
    gather_rows_with_grad,
    is_main,
    shard,
    world_size,
    wrap_ddp,
)


@dataclass
class TrainingRun:
    """What the loops of one PamC fit work on (built once per fit).

    ``x`` [N, D], ``edge_index`` [2, E] and ``influence`` (full batch: sparse ``S``
    [N, N]; mini-batch: :class:`~graphclust.graph.influence_rows.InfluenceRows`, rows
    of ``S`` computed from the edges when a batch needs them) sit on the
    training device; ``generator`` draws the mini-batch node order; ``save(epochs_done)``
    checkpoints after each epoch.
    """

    model: nn.Module
    centroids: nn.Parameter
    optimizer: torch.optim.Optimizer
    x: torch.Tensor
    edge_index: torch.Tensor
    influence: torch.Tensor | InfluenceRows
    generator: torch.Generator
    group: ProcessGroup | None
    selection: LabelFreeSelection
    save: Callable[[int], None] = lambda epochs_done: None


class TrainingLoops:
    """PamC's epoch loops, mixed into :class:`~graphclust.methods.pamc.PamC` (they read
    its hyper-parameters and log to its ``history_``)."""

    def _start_candidate(self, run: TrainingRun, weights: dict, length: int) -> None:
        """Load the pre-trained ``weights`` of one candidate, start the centroids from
        k-means on its embeddings, and reset Adam and the mini-batch order."""
        run.model.load_state_dict(weights)
        broadcast_module_(run.model, run.group)  # pre-trained on every rank: keep rank 0's
        self.log(candidate_pretrain_epochs=length)
        z0 = encode_in_chunks(run.model, run.x, edge_index=run.edge_index)
        with torch.no_grad():
            run.centroids.copy_(self._kmeans_centroids(z0))
        broadcast_tensors([run.centroids], run.group)
        run.optimizer.state.clear()  # a fresh Adam for each candidate
        run.generator.manual_seed(self.seed)

    def _epochs(self, run: TrainingRun, start: int, stop: int):
        """``range(start, stop)``, with a progress bar on the main process when asked."""
        shown = self.progress and is_main(run.group)
        return progress(range(start, stop), shown, "PamC", initial=start, total=stop)

    def _kmeans_centroids(self, z: torch.Tensor) -> torch.Tensor:
        z = z.detach().cpu().double()
        return fit_kmeans(z, self.n_clusters, n_init=self.n_init, seed=self.seed).centroids

    def _assignment(self, q: torch.Tensor) -> torch.Tensor:
        return q if self.meta_nodes == "soft" else q.detach().argmax(dim=1)

    def _evaluate(self, run: TrainingRun, epoch: int, q, z, centroids) -> None:
        run.selection.evaluate(epoch, q, z, centroids, run.model.encoder)

    def _train_full_batch(self, run: TrainingRun, start: int) -> Final:
        """Train full batch from epoch ``start``; returns the final ``(q, z, centroids)``."""
        model, centroids, optimizer = run.model, run.centroids, run.optimizer
        model.train()
        guard = DivergenceGuard("PamC embeddings")
        for epoch in self._epochs(run, start, self.epochs):
            z = model.encode(run.x, run.edge_index)
            guard.check(z, epoch)
            self._restart_empty(z.detach(), centroids, optimizer)
            q = student_t_assignment(z, centroids)
            check_finite(q, "PamC assignment (training diverged)", epoch)
            # P from this forward equals the released code's extra no-grad forward.
            p = dec_target(q.detach())
            if epoch % self.eval_every == 0:
                self._evaluate(run, epoch, q.detach(), z.detach(), centroids.detach())
            kl = kl_clustering_loss(p, q)
            contrast, positive, negative = pamc_loss(
                z, run.influence, self._assignment(q), self.tau, self.n_clusters, return_parts=True
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
            run.save(epoch + 1)
        model.eval()
        with torch.no_grad():
            z = model.encode(run.x, run.edge_index)
            q = student_t_assignment(z, centroids)
        return q, z, centroids.detach()

    def _train_minibatch(self, run: TrainingRun, start: int) -> Final:
        """Train on node batches (order drawn from ``run.generator``) from epoch
        ``start``; returns the final ``(q, z, centroids)``. Under ``run.group`` each rank
        encodes its share of every batch and of the epoch's pass (module docstring)."""
        model, centroids, optimizer = run.model, run.centroids, run.optimizer
        x, group = run.x, run.group
        n, device = x.size(0), x.device
        position = torch.full((n,), -1, dtype=torch.long, device=device)
        trained = nn.ModuleDict(
            {"encoder": model.encoder, "centroids": nn.ParameterDict({"c": centroids})}
        )
        step = wrap_ddp(StepModule(trained, lambda *a: self._batch_loss(run, *a)), group)
        guard = DivergenceGuard("PamC embeddings")
        for epoch in self._epochs(run, start, self.epochs + 1):
            model.eval()
            with torch.no_grad():
                own = x[shard(n, group)]
                cache = encode_in_chunks(model, own, chunk_size=max(self.batch_size, 8192))
                cache = gather_rows(cache, group)
            guard.check(cache, epoch)
            if epoch < self.epochs:
                self._restart_empty(cache, centroids, optimizer)
            with torch.no_grad():
                q_all = student_t_assignment(cache, centroids)
            if epoch == self.epochs:
                break
            p_all = dec_target(q_all)
            if epoch % self.eval_every == 0:
                self._evaluate(run, epoch, q_all, cache, centroids.detach())
            model.train()
            parts = torch.zeros(4, device=device)
            order = torch.randperm(n, generator=run.generator).to(device)
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
            run.save(epoch + 1)
        return q_all, cache, centroids.detach()

    def _batch_loss(
        self, run: TrainingRun, batch, mine, p_all, cache, position, epoch
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss of the node batch ``batch`` ``[B]`` computed from this rank's rows
        ``mine`` (all of it alone). Returns the batch's fresh embeddings ``[B, d]`` and
        ``[loss, kl, positive, negative]``; under ``run.group`` the ranks' losses average
        to the batch's loss, and their gradients (DDP's average) to its gradient."""
        x, group, device = run.x, run.group, run.x.device
        z = run.model.encode(x[mine])
        q = student_t_assignment(z, run.centroids)
        # Checked on every rank at once (a sum over ranks is NaN when any rank's is), so
        # that all raise together rather than one waiting for the others.
        total = q.detach().sum().reshape(1) if group is not None else q
        check_finite(all_reduce_sum_(total, group), "PamC assignment (training diverged)", epoch)
        kl = kl_clustering_loss(p_all[mine], q) if mine.numel() else z.sum() * 0.0
        row, col, value = run.influence.rows(mine)
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
    def _restart_empty(self, z: torch.Tensor, centroids: nn.Parameter, optimizer) -> None:
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


__all__ = ["TrainingLoops", "TrainingRun"]
