"""DAG's training loop: one run of the model with one readout normalisation.

A step masks nodes, reconstructs their attributes (GraphMAE, :class:`MaskedGraphAutoencoder`),
reads the community affiliations C from the embeddings (:class:`CommunityReadout`) and
minimises L = L_SCE + alpha L_BPR + beta L_GS on the whole graph or on a sampled
subgraph; every ``eval_every`` epochs the clean graph is scored
(:mod:`graphclust.methods.dag_selection`) and the training state is checkpointed.
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
        params = list(self.mae.parameters()) + list(self.readout.parameters())
        self.optimizer = torch.optim.Adam(params, lr=est.lr, weight_decay=est.weight_decay)
        self.sampler = None
        if est.batch_size is not None and est.batch_size < n:
            self.sampler = RandomWalkSubgraphs(data.edge_index, n, est.batch_size)
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
            est.readout_check_ = extra["readout_check"]
            start = time.perf_counter() - extra["elapsed"]  # the deadline counts on
            if est.max_time_s is not None and extra["elapsed"] > est.max_time_s:
                epochs = epoch  # that run had stopped at its deadline: read it out
        bar = progress(
            range(epoch + 1, epochs + 1), est.progress, "DAG", initial=epoch, total=epochs
        )
        for epoch in bar:
            loss, k_train = self._epoch(epoch)
            if check and est._readout_is_dead(epoch, self.edge_index.size(1)):
                bar.close()
                return False
            elapsed = time.perf_counter() - start
            out_of_time = est.max_time_s is not None and elapsed > est.max_time_s
            bar.set_postfix(loss=f"{loss:.4g}", k=int(k_train), refresh=False)
            if epoch % cfg["eval_every"] == 0 or epoch == epochs or out_of_time:
                self.evaluate(epoch)
            extra = {"norm": self.norm, "readout_check": est.readout_check_, "elapsed": elapsed}
            est._checkpoints.save(
                epoch, epoch if out_of_time else epochs, self.stateful, None, extra
            )
            if out_of_time:
                break
        bar.close()
        est.epochs_run_ = epoch
        read_out(est, self.selector, self.edge_index_cpu, self.device)
        return True

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
                continue
            nodes, sub_edges_cpu = self.sampler.sample()
            # index_select also works on sparse COO features
            sub_x = self.x.index_select(0, nodes.to(self.device))
            sub_edges = sub_edges_cpu.to(self.device)
            negatives = NegativeSampler(sub_edges_cpu, nodes.numel())
            adjacency = gcn_adjacency(sub_edges, nodes.numel())
            totals += self._step(sub_x, sub_edges, negatives, adjacency, beta)
        values = torch.cat([totals / self.steps, self.readout.column_norms()]).cpu()
        check_finite(values[0], "loss", epoch)
        loss, sce, bpr, gs, k_train, top_share = values[:6].tolist()
        est.log(loss=loss, sce=sce, bpr=bpr, gs=gs, k_train=k_train, top_share=top_share, beta=beta)
        est.history_.setdefault("w_col_norms", []).append(values[6:].tolist())
        return loss, k_train

    def _step(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        negatives: NegativeSampler,
        adjacency: torch.Tensor,
        beta: float,
    ) -> torch.Tensor:
        """One optimisation step on a (sub)graph: features ``x`` [n, D], edges [2, E],
        their negative sampler and GCN adjacency [n, n] (sparse).

        Edges whose source is linked to every node have no negative and leave the BPR
        loss. Returns [loss, sce, bpr, gs, K of this pass, share of nodes in its largest
        community] on the device.
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
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            sizes = community_sizes(c, scores)
            k = (sizes > 0).sum().to(sizes.dtype)
            top = sizes.max() / n
        parts = [loss.detach(), out.loss.detach(), bpr.detach(), gs.detach(), k, top]
        return torch.stack([p.float() for p in parts])

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
