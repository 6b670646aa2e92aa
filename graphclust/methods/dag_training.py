"""DAG's training loop: one run of the model with one readout normalisation.

A step masks nodes, reconstructs their attributes (GraphMAE, :class:`MaskedGraphAutoencoder`),
reads the community affiliations C from the embeddings (:class:`CommunityReadout`) and
minimises L = L_SCE + alpha L_BPR + beta L_GS on the whole graph or on a sampled
subgraph; every ``eval_every`` epochs the clean graph is scored
(:mod:`graphclust.methods.dag_selection`) and the training state is checkpointed.

In sampled mode a step may train on several subgraphs (``subgraphs_per_step``): all are
drawn first from the global random stream, with one seed each for their own draws
(mask, negatives, dropout), and the loss is their mean. Under a process group
(``distributed``, docs/distributed.md) every rank draws the same subgraphs and seeds,
trains on its contiguous share inside DDP (its loss scaled so that DDP's average is the
gradient of the mean over all of them), and logs values summed over the group: R
processes take the steps one process takes with the same subgraphs per step. The
label-free evaluation and the read-out run on every rank (the whole graph and the same
weights give the same scores and labels); only rank 0 checkpoints and shows progress.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import torch
from torch_geometric.data import Data

from graphclust.graph.negatives import NegativeSampler
from graphclust.graph.sampling import RandomWalkSubgraphs
from graphclust.losses import bpr_loss
from graphclust.methods.base import check_finite
from graphclust.methods.checkpoints import CheckpointSelector
from graphclust.methods.dag_selection import eval_chunk_size, offer_checkpoint, read_out
from graphclust.nn.masked_ae import MaskedGraphAutoencoder, sample_mask
from graphclust.nn.readout import (
    CommunityReadout,
    community_sizes,
    gcn_adjacency,
    group_sparsity,
)
from graphclust.training import progress
from graphclust.utils.distributed import (
    StepModule,
    all_reduce_sum_,
    broadcast_tensors,
    check_same,
    is_main,
    resolve_group,
    shard,
    world_size,
    wrap_ddp,
)

if TYPE_CHECKING:
    from graphclust.methods.dag import DAG

# bag-of-words features sparser than this are kept sparse: the first GAT layer then costs
# O(nnz) instead of O(N D) (Cora is 1.3% dense, CiteSeer 0.9%)
SPARSE_FEATURES_BELOW = 0.1


class TrainingRun:
    """The model, optimiser, samplers and selector of one training run of ``estimator``
    on ``data`` (features already reduced) with readout normalisation ``norm``.

    The run sets the estimator's ``_mae`` and ``_readout`` (the networks) and, from
    :meth:`train`, its fitted state; ``estimator._checkpoints`` saves and resumes it.
    """

    def __init__(self, estimator: DAG, data: Data, device: torch.device, norm: str) -> None:
        self.estimator = est = estimator
        cfg = est.settings_
        self.norm, self.device = norm, device
        self.x_cpu, self.edge_index_cpu = data.x, data.edge_index
        self.n = n = data.num_nodes
        x = data.x.to(device)
        # sparse features pay off on CPU; on an accelerator a dense product is faster
        if device.type == "cpu" and float((data.x != 0).float().mean()) < SPARSE_FEATURES_BELOW:
            x = x.to_sparse()
        self.x = x
        self.edge_index = data.edge_index.to(device)
        self.mae = est._mae = MaskedGraphAutoencoder(
            x.size(1),
            cfg["hidden"],
            cfg["heads"],
            remask=est.remask,
            feat_dropout=est.input_dropout,
            decoder_layers=est.decoder_layers,
            decoder_factorized=est.decoder_factorized,
        ).to(device)
        self.readout = est._readout = CommunityReadout(
            cfg["hidden"], cfg["hidden"], cfg["k_max"], est.readout, norm
        ).to(device)
        self.params = list(self.mae.parameters()) + list(self.readout.parameters())
        self.optimizer = torch.optim.Adam(self.params, lr=est.lr, weight_decay=est.weight_decay)
        self.sampler, self.group, self.subgraphs = None, None, 1
        if est.batch_size is not None and est.batch_size < n:
            self.group = resolve_group(est.distributed)
            check_same(est.seed, "seed", self.group)
            self.subgraphs = est.subgraphs_per_step or world_size(self.group)
            self.sampler = RandomWalkSubgraphs(data.edge_index, n, est.batch_size // self.subgraphs)
        est.subgraphs_per_step_ = self.subgraphs
        # rank 0 writes and shows progress, also where every rank trains the whole graph
        # alone (full batch under torchrun with distributed=None: the same run on each)
        self.main = is_main(resolve_group(est.distributed))
        # a step on several subgraphs runs as one module, DDP's under a group
        trained = torch.nn.ModuleDict({"mae": self.mae, "readout": self.readout})
        self.share_step = wrap_ddp(StepModule(trained, self._share_loss), self.group)
        self.rng_devices = [device] if device.type == "cuda" else []
        self.steps = 1 if self.sampler is None else math.ceil(n / est.batch_size)
        self.selector = CheckpointSelector()
        # built once for the whole graph; sampled subgraphs build their own
        self.adjacency = gcn_adjacency(self.edge_index, n)
        self.negatives = NegativeSampler(data.edge_index, n)
        self.stateful = {
            "mae": self.mae,
            "readout": self.readout,
            "optimizer": self.optimizer,
            "selector": self.selector,
        }

    def train(self, start: float, check: bool) -> bool:
        """Train (resuming from the estimator's checkpoint if any) and read out the kept
        checkpoint; ``start`` is the fit's start (``time.perf_counter``).

        With ``check``, the estimator's readout check runs after ``AUTO_CHECK_EPOCH``
        epochs; returns False, without a read-out, when it finds the readout dead.
        """
        est, cfg = self.estimator, self.estimator.settings_
        epochs, epoch = cfg["epochs"], 0
        resumed = est._checkpoints.load(self.stateful)
        if resumed is not None:
            epoch, extra = resumed
            if extra.get("subgraphs_per_step", 1) != self.subgraphs:
                raise ValueError(
                    f"the checkpoint trained on {extra.get('subgraphs_per_step', 1)} subgraphs "
                    f"per step, this fit on {self.subgraphs}: set subgraphs_per_step (or the "
                    "number of processes) as in the checkpointed run"
                )
            est.readout_check_ = extra["readout_check"]
            start = time.perf_counter() - extra["elapsed"]  # the deadline counts on
            if est.max_time_s is not None and extra["elapsed"] > est.max_time_s:
                epochs = epoch  # that run had stopped at its deadline: read it out
        check_same(
            epoch,
            "resumed epoch (is the checkpoint on a file system every rank reads?)",
            self.group,
        )
        bar = progress(
            range(epoch + 1, epochs + 1),
            est.progress and self.main,
            "DAG",
            initial=epoch,
            total=epochs,
        )
        for epoch in bar:
            loss, k_train = self._epoch(epoch)
            if check and est._readout_is_dead(epoch, self.edge_index.size(1)):
                bar.close()
                return False
            elapsed = self._elapsed(start)
            out_of_time = est.max_time_s is not None and elapsed > est.max_time_s
            bar.set_postfix(loss=f"{loss:.4g}", k=int(k_train), refresh=False)
            if epoch % cfg["eval_every"] == 0 or epoch == epochs or out_of_time:
                self.evaluate(epoch)
            extra = {
                "norm": self.norm,
                "readout_check": est.readout_check_,
                "elapsed": elapsed,
                "subgraphs_per_step": self.subgraphs,
            }
            if self.main:
                est._checkpoints.save(
                    epoch, epoch if out_of_time else epochs, self.stateful, None, extra
                )
            if out_of_time:
                break
        bar.close()
        est.epochs_run_ = epoch
        read_out(est, self.selector, self.edge_index_cpu, self.device)
        return True

    def _elapsed(self, start: float) -> float:
        """Seconds since ``start``; rank 0's under a group, so that ``max_time_s`` stops
        every rank after the same epoch."""
        elapsed = torch.tensor([time.perf_counter() - start], dtype=torch.float64)
        broadcast_tensors([elapsed], self.group)
        return float(elapsed)

    def _epoch(self, epoch: int) -> tuple[float, float]:
        """One epoch (``steps`` steps), logged in ``history_``; returns its loss and the
        K of its training passes."""
        est = self.estimator
        beta = est.beta * min(1.0, epoch / est.sparsity_warmup) if est.sparsity_warmup else est.beta
        # everything an epoch logs stays on the device until one transfer at its end:
        # a GPU then never waits for the host in the middle of an epoch
        totals = torch.zeros(6, device=self.device)
        for _ in range(self.steps):
            if self.sampler is None:
                totals += self._step(self.x, self.edge_index, self.negatives, self.adjacency, beta)
            elif self.subgraphs == 1:
                totals += self._step(*self._subgraph(*self.sampler.sample()), beta)
            else:
                totals += self._batch_step(beta)
        values = torch.cat([totals / self.steps, self.readout.column_norms()]).cpu()
        check_finite(values[0], "loss", epoch)
        loss, sce, bpr, gs, k_train, top_share = values[:6].tolist()
        est.log(loss=loss, sce=sce, bpr=bpr, gs=gs, k_train=k_train, top_share=top_share, beta=beta)
        est.history_.setdefault("w_col_norms", []).append(values[6:].tolist())
        return loss, k_train

    def _subgraph(
        self, nodes: torch.Tensor, sub_edges_cpu: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, NegativeSampler, torch.Tensor]:
        """A sampled subgraph's features, edges, negative sampler and GCN adjacency."""
        # index_select also works on sparse COO features
        sub_x = self.x.index_select(0, nodes.to(self.device))
        sub_edges = sub_edges_cpu.to(self.device)
        negatives = NegativeSampler(sub_edges_cpu, nodes.numel())
        return sub_x, sub_edges, negatives, gcn_adjacency(sub_edges, nodes.numel())

    def _step(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        negatives: NegativeSampler,
        adjacency: torch.Tensor,
        beta: float,
    ) -> torch.Tensor:
        """One optimisation step on a (sub)graph (:meth:`_loss`); returns its logged
        values."""
        loss, logged = self._loss(x, edge_index, negatives, adjacency, beta)
        self._update(loss)
        return logged

    def _batch_step(self, beta: float) -> torch.Tensor:
        """One optimisation step on ``subgraphs`` subgraphs and their seeds, drawn alike
        on every rank, each rank on its share (module docstring); returns the mean of
        their logged values."""
        drawn = [self.sampler.sample() for _ in range(self.subgraphs)]
        seeds = torch.randint(2**62, (self.subgraphs,)).tolist()
        mine = shard(self.subgraphs, self.group)
        loss, logged = self.share_step(drawn[mine], seeds[mine], beta)
        self._update(loss)
        return all_reduce_sum_(logged, self.group) / self.subgraphs

    def _share_loss(
        self, drawn: list[tuple[torch.Tensor, torch.Tensor]], seeds: list[int], beta: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss of this rank's subgraphs ``drawn`` (each drawing from its seed),
        scaled by R / subgraphs so that DDP's average of its gradient over the R ranks
        is the gradient of the mean over the step's subgraphs; and the sum of their
        logged values."""
        total, logged = None, torch.zeros(6, device=self.device)
        for (nodes, sub_edges), seed in zip(drawn, seeds, strict=True):
            with torch.random.fork_rng(devices=self.rng_devices):
                torch.manual_seed(seed)
                loss, values = self._loss(*self._subgraph(nodes, sub_edges), beta)
            total = loss if total is None else total + loss
            logged += values
        if self.group is not None:
            # DDP needs a gradient for every parameter, also one that no subgraph of
            # this share reached (a subgraph without a BPR triple): a zero one
            total = total + 0.0 * sum(p.sum() for p in self.params)
        return total * (world_size(self.group) / self.subgraphs), logged

    def _update(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def _loss(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        negatives: NegativeSampler,
        adjacency: torch.Tensor,
        beta: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss on a (sub)graph: features ``x`` [n, D], edges [2, E], their negative
        sampler and GCN adjacency [n, n] (sparse).

        Edges whose source is linked to every node have no negative and leave the BPR
        loss. Returns the loss and [loss, sce, bpr, gs, K of this pass, share of nodes
        in its largest community] on the device.
        """
        est = self.estimator
        self.mae.train()
        self.readout.train()
        n = x.size(0)
        mask = sample_mask(n, est.mask_rate, x.device)
        out = self.mae(x, edge_index, mask)
        h = out.embeddings.detach() if est.settings_["detach_readout"] else out.embeddings
        c, scores = self.readout(h, adjacency)
        src, dst, neg = negatives.triples(edge_index)
        # the paper's sum over E, written as |E| x mean so that a sampled subgraph
        # estimates the full-graph sum without bias; a sampled subgraph can be complete
        # and then has no triple
        bpr = bpr_loss(c, src, dst, neg, reduction="mean") if src.numel() else c.new_zeros(())
        if est.bpr_scale == "sum":
            bpr = self.edge_index.size(1) * bpr
        gs = group_sparsity(self.readout.weight)
        loss = out.loss + est.alpha * bpr + beta * gs
        with torch.no_grad():
            sizes = community_sizes(c, scores)
            k = (sizes > 0).sum().to(sizes.dtype)
            top = sizes.max() / n
        parts = [loss.detach(), out.loss.detach(), bpr.detach(), gs.detach(), k, top]
        return loss, torch.stack([p.float() for p in parts])

    @torch.no_grad()
    def evaluate(self, epoch: int) -> None:
        """Encode the clean graph (in chunks of destination nodes on large graphs in
        sampled mode) and offer its partition to the selector."""
        self.mae.eval()
        self.readout.eval()
        sampled = self.estimator.batch_size is not None
        chunk = eval_chunk_size(self.n, self.edge_index.size(1), sampled)
        h = self.mae.embed(self.x, self.edge_index, chunk_size=chunk)
        c, scores = self.readout(h, self.adjacency)
        est = self.estimator
        offer_checkpoint(est, self.selector, epoch, h, c, scores, self.x_cpu, self.edge_index_cpu)
        est._evaluated(epoch, h, c, scores, first=len(est.history_["eval_epoch"]) == 1)


__all__ = ["SPARSE_FEATURES_BELOW", "TrainingRun"]
