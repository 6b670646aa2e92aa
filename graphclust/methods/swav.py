"""SwAV for image clustering: swapped prediction of Sinkhorn codes across crops.

Caron et al. (NeurIPS 2020), assembled from the shared core:

1. Every batch of images gives ``2`` global and ``V`` local crops
   (:class:`~graphclust.adapters.ImageGraphAdapter` with
   :class:`~graphclust.adapters.MultiCrop`).
2. A small ResNet (:class:`~graphclust.nn.cnn.SmallResNet`) and a projection head map
   every crop to an embedding ``z``; :class:`~graphclust.assign.Prototypes` score it
   (cosines to ``K`` unit-norm prototypes; the first head has ``K = n_clusters``, an
   optional second head over-clusters).
3. Codes ``q = sinkhorn(scores)`` come from the global crops only, balanced together
   with a queue of past embeddings when batches are small
   (:func:`~graphclust.assign.queued_sinkhorn`); every crop predicts the codes of the
   other global crops (:func:`~graphclust.losses.swapped_prediction_loss`).
4. Prototypes are frozen for the first ``freeze_prototypes_steps`` optimiser steps and
   re-normalised after every step.
5. After training, the BatchNorm statistics are re-estimated on the whole images
   (``recalibrate_bn``): the running averages kept during training mix global and small
   local crops, which do not look like the images ``transform`` sees.
6. Whole images are embedded at the side of the global crops (``global_size``), the
   resolution the network was trained at (``transform``, the fitted state and the
   BatchNorm re-estimation all resample to it).

The toolkit's own addition, off by default (``graph_weight=0``): a graph term on the
kNN graph of the batch embeddings (built on the training device by the adapter). It is
PamC's loss (:mod:`graphclust.losses.pamc`) with the kNN neighbours of a crop's
embedding (and the item itself) as positives in the *other* global crop, and the
meta-nodes of the current hard codes as negatives; ``experiments/swav`` measures it.

Input contract: ``fit(images)`` takes images, not a graph (see :func:`check_images`):
a tensor ``[N, C, H, W]`` / ``[N, H, W]`` in ``[0, 1]`` or ``uint8``, or an indexable
dataset of images or ``(image, label)`` pairs; labels are dropped at the door.
Hyper-parameter, seeding and fitted-state conventions are those of
:class:`~graphclust.methods.base.BaseClusterer`.

Fitted labels: ``prototype_labels_`` is the argmax of the balanced (Sinkhorn) codes of
all images under the cluster head; ``kmeans_labels_`` is k-means on the embeddings;
``merged_labels_`` (with ``labels_from="merged"``, the default) over-clusters the
embeddings with k-means into ``merge_overcluster`` clusters and merges them down to
``n_clusters`` greedily by modularity (:func:`~graphclust.graph.merge.merge_clusters`)
on the union of two kNN graphs: of the input images (flattened pixels, Euclidean) and
of the embeddings (cosine). The input graph is a view the training did not shape: on
USPS it keeps digit 0's two styles together where k-means on the embeddings splits
them (experiments/swav/README.md). ``labels_`` is the one chosen by ``labels_from``.

Data-parallel training (``distributed``, docs/distributed.md): under ``torchrun`` every
rank draws the same global batch of ``batch_size`` images and crops and trains on its
share inside DDP; the Sinkhorn codes are balanced over the whole global batch (its
marginals reduced over the group), each rank queues its own share of past embeddings
(``queue_size`` is the total over ranks), the optional graph term uses each rank's
share of the batch only, and the fitted state is rank 0's on every rank.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from graphclust.adapters.augment import MultiCrop
from graphclust.adapters.image import ImageGraphAdapter, check_images
from graphclust.assign import (
    FeatureQueue,
    Prototypes,
    fit_kmeans,
    queued_sinkhorn,
    sinkhorn,
)
from graphclust.data.validation import check_n_clusters
from graphclust.graph.adjacency import csr_to_coo, normalized_adjacency
from graphclust.graph.merge import graph_merge
from graphclust.losses import influence_term, meta_node_term, swapped_prediction_loss
from graphclust.methods.base import BaseClusterer
from graphclust.nn.cnn import ImageEncoder, recalibrate_batch_norm
from graphclust.training import optimize
from graphclust.utils.checks import non_negative_float, one_of, positive_float, positive_int
from graphclust.utils.distributed import (
    ProcessGroup,
    broadcast_tensors,
    resolve_group,
    shard,
)


class SwAVNet(ImageEncoder):
    """The image encoder plus prototypes; ``forward`` gives unit-norm embeddings."""

    def __init__(
        self,
        in_channels: int,
        width: int,
        blocks: tuple[int, ...],
        hidden_dim: int,
        embedding_dim: int,
        n_prototypes: list[int],
        freeze_steps: int,
    ) -> None:
        super().__init__(in_channels, width, blocks, hidden_dim, embedding_dim)
        self.prototypes = Prototypes(embedding_dim, n_prototypes, freeze_steps=freeze_steps)


class SwAV(BaseClusterer):
    """SwAV image clustering with multi-crop, queue and an optional kNN-graph term.

    Args:
        n_clusters: ``K``, prototypes of the cluster head.
        overcluster: size of an extra prototype head (0: none); the loss averages heads.
        width, blocks: :class:`~graphclust.nn.cnn.SmallResNet` size.
        hidden_dim, embedding_dim: projection head widths (``d = embedding_dim``).
        n_local: local crops per image (0 disables multi-crop: 2 global crops only).
        global_size, local_size: crop sides (default: image side and ~0.6 of it); whole
            images are embedded at ``global_size`` too (the side the network trained at).
        global_scale, local_scale: crop area ranges; rotation: max degrees.
        epochs, batch_size, lr, weight_decay, warmup_epochs: Adam with linear warm-up
            and cosine decay, per step.
        temperature: softmax temperature of the swapped prediction (SwAV 0.1).
        epsilon, sinkhorn_iters: Sinkhorn settings (SwAV 0.05, 3).
        sinkhorn_relax: ``None`` (SwAV: equal cluster sizes) or ``lambda > 0``: the
            cluster head's codes (in training and for ``prototype_labels_``) only pay a
            KL penalty ``lambda`` for unequal sizes (``sinkhorn(col_relax=lambda)``),
            so a class larger than ``1/K`` of the data need not be split; the
            over-clustering head stays balanced.
        freeze_prototypes_steps: optimiser steps with frozen prototypes.
        queue_size: queued embeddings added to the Sinkhorn batch (0: no queue);
            queue_start_epoch: first epoch that uses it.
        graph_weight: weight of the kNN-graph PamC term (0: off).
        graph_k: neighbours in the batch kNN graph; graph_tau: its inverse temperature.
        labels_from: ``"merged"``, ``"kmeans"`` or ``"prototypes"`` (which labels
            become ``labels_``; see the module docstring).
        kmeans_n_init: restarts of the k-means on the embeddings (both read-outs).
        merge_overcluster: k-means clusters merged by the ``"merged"`` read-out (None:
            ``5 * n_clusters``, at most N); more than ``n_clusters``.
        merge_k: neighbours per image in each of the two kNN graphs of that read-out.
        recalibrate_bn: after training, re-estimate the BatchNorm statistics on the whole
            images (:func:`recalibrate_batch_norm`) before computing the fitted state.
        checkpoint: file to save the run to and resume from (``None``: no checkpoint).
        checkpoint_every: epochs between checkpoints.
        progress: show a progress bar over epochs.
        distributed: ``None`` (train data-parallel when ``torch.distributed`` is
            initialised with several processes), ``True`` (require it) or ``False``
            (this process alone); see :func:`graphclust.utils.distributed.resolve_group`.
            ``batch_size`` is then the global batch, a multiple of the process count.
        seed, device: as in every method.
    """

    requires_features: ClassVar[bool] = True
    #: Settings that only read labels out of a trained network: a checkpoint of a
    #: finished run is reused when only these change.
    readout_params: ClassVar[frozenset[str]] = frozenset(
        {"labels_from", "kmeans_n_init", "merge_overcluster", "merge_k"}
    )
    #: What ``fit`` takes instead of a graph, so graph benchmarks can skip this method.
    input_kind: ClassVar[str] = "images"

    def __init__(
        self,
        n_clusters: int = 10,
        overcluster: int = 0,
        width: int = 16,
        blocks: tuple[int, ...] = (1, 1, 1),
        hidden_dim: int = 256,
        embedding_dim: int = 64,
        n_local: int = 4,
        global_size: int | None = None,
        local_size: int | None = None,
        global_scale: tuple[float, float] = (0.5, 1.0),
        local_scale: tuple[float, float] = (0.2, 0.5),
        rotation: float = 15.0,
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 1e-2,
        weight_decay: float = 1e-5,
        warmup_epochs: int = 1,
        temperature: float = 0.1,
        epsilon: float = 0.05,
        sinkhorn_iters: int = 3,
        sinkhorn_relax: float | None = None,
        freeze_prototypes_steps: int = 0,
        queue_size: int = 0,
        queue_start_epoch: int = 0,
        graph_weight: float = 0.0,
        graph_k: int = 10,
        graph_tau: float = 2.0,
        labels_from: str = "merged",
        kmeans_n_init: int = 10,
        merge_overcluster: int | None = None,
        merge_k: int = 10,
        recalibrate_bn: bool = True,
        checkpoint: str | None = None,
        checkpoint_every: int = 1,
        progress: bool = True,
        distributed: bool | None = None,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.overcluster = overcluster
        self.width = width
        self.blocks = blocks
        self.hidden_dim = hidden_dim
        self.embedding_dim = embedding_dim
        self.n_local = n_local
        self.global_size = global_size
        self.local_size = local_size
        self.global_scale = global_scale
        self.local_scale = local_scale
        self.rotation = rotation
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.temperature = temperature
        self.epsilon = epsilon
        self.sinkhorn_iters = sinkhorn_iters
        self.sinkhorn_relax = sinkhorn_relax
        self.freeze_prototypes_steps = freeze_prototypes_steps
        self.queue_size = queue_size
        self.queue_start_epoch = queue_start_epoch
        self.graph_weight = graph_weight
        self.graph_k = graph_k
        self.graph_tau = graph_tau
        self.labels_from = labels_from
        self.kmeans_n_init = kmeans_n_init
        self.merge_overcluster = merge_overcluster
        self.merge_k = merge_k
        self.recalibrate_bn = recalibrate_bn
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.progress = progress
        self.distributed = distributed
        self.seed = seed
        self.device = device

    # -- public API -------------------------------------------------------------------
    def fit(self, images: Any) -> SwAV:
        """Train on ``images`` (see the module docstring for accepted inputs)."""
        super().fit(images)
        return self

    def _validate_input(self, images: Any) -> tuple[torch.Tensor, int]:
        """Check the images at the door (replaces the graph check of the base class)."""
        clean = check_images(images, min_samples=2)
        check_n_clusters(self.n_clusters, clean.shape[0])
        self._check_params()
        self._check_merge_params(clean.shape[0])
        return clean, clean.shape[0]

    @torch.no_grad()
    def transform(self, images: Any, batch_size: int = 1024) -> torch.Tensor:
        """Unit-norm embeddings ``[M, d]`` of new images (the full image, no crop)."""
        self._require_fitted()
        x = check_images(images, min_samples=1)
        return self._embed(x, batch_size)

    @torch.no_grad()
    def predict(self, images: Any, batch_size: int = 1024) -> torch.Tensor:
        """Nearest cluster prototype of each new image, LongTensor ``[M]`` (no balancing)."""
        z = self.transform(images, batch_size).to(self._device)
        return self.model_.prototypes(z)[0].argmax(dim=1).cpu()

    # -- training ---------------------------------------------------------------------
    def _check_params(self) -> None:
        one_of(self.labels_from, "labels_from", ("merged", "kmeans", "prototypes"))
        for name in ("epochs", "batch_size", "sinkhorn_iters", "graph_k", "embedding_dim"):
            positive_int(getattr(self, name), name, 1)
        for name in ("overcluster", "queue_size", "freeze_prototypes_steps", "n_local"):
            positive_int(getattr(self, name), name, 0)
        non_negative_float(self.graph_weight, "graph_weight")
        if self.sinkhorn_relax is not None:
            positive_float(self.sinkhorn_relax, "sinkhorn_relax")

    def _overcluster_size(self, n: int) -> int:
        if self.merge_overcluster is None:
            return min(5 * self.n_clusters, n)
        return self.merge_overcluster

    def _check_merge_params(self, n: int) -> None:
        if self.labels_from != "merged":
            return
        m = self._overcluster_size(n)
        if isinstance(m, bool) or not isinstance(m, int) or not self.n_clusters < m <= n:
            raise ValueError(
                f"merge_overcluster must be an integer in ({self.n_clusters}, {n}] "
                f"(more than n_clusters, at most the number of images), got {m!r}; "
                "or use labels_from='kmeans'"
            )
        k = self.merge_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < n:
            raise ValueError(f"merge_k must be an integer in [1, {n - 1}], got {k!r}")

    def _fit(self, images: torch.Tensor, device: torch.device) -> None:
        self._device = device
        group = resolve_group(self.distributed)
        generator = torch.Generator().manual_seed(self.seed)
        crops = MultiCrop(
            global_size=self.global_size,
            local_size=self.local_size,
            n_global=2,
            n_local=self.n_local,
            global_scale=self.global_scale,
            local_scale=self.local_scale,
            rotation=self.rotation,
        )
        adapter = ImageGraphAdapter(
            images,
            crops,
            batch_size=min(self.batch_size, images.shape[0]),
            k=self.graph_k,
            device=device,
            generator=generator,
        )
        heads = [self.n_clusters] + ([self.overcluster] if self.overcluster else [])
        net = SwAVNet(
            images.shape[1],
            self.width,
            tuple(self.blocks),
            self.hidden_dim,
            self.embedding_dim,
            heads,
            self.freeze_prototypes_steps,
        ).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        queue = None
        # Each rank queues its share of the embeddings: ``queue_size`` in all.
        own = shard(self.queue_size, group)
        if own.stop > own.start:
            queue = FeatureQueue(self.embedding_dim, own.stop - own.start).to(device)

        def step(epoch: int, batch) -> dict[str, torch.Tensor]:
            use_queue = queue if epoch >= self.queue_start_epoch else None
            return self._step(net, batch, adapter, use_queue, group)

        optimize(
            self,
            net,
            optimizer,
            adapter,
            step,
            images,
            generator,
            "SwAV",
            before_update=net.prototypes.cancel_gradients,
            after_update=net.prototypes.normalize_,
            extra_state={"queue": queue} if queue is not None else None,
            group=group,
        )
        if self.recalibrate_bn:
            recalibrate_batch_norm(net, self._at_inference_size(images), self.batch_size, device)
        self.model_ = net.eval()
        self._finish(images)
        self._share_fitted_state(group)

    def _share_fitted_state(self, group: ProcessGroup | None) -> None:
        """Every rank computed the fitted state from the same net; keep rank 0's (the
        k-means of another rank could differ by non-deterministic GPU reductions)."""
        fitted = [
            self.embeddings_,
            self.soft_assignments_,
            self.prototype_labels_,
            self.kmeans_labels_,
        ]
        if self.merged_labels_ is not None:
            fitted.append(self.merged_labels_)
        broadcast_tensors(fitted, group)
        self.n_clusters_ = int(self.labels_.unique().numel())

    def _step(
        self,
        net: SwAVNet,
        batch,
        adapter: ImageGraphAdapter,
        queue: FeatureQueue | None,
        group: ProcessGroup | None = None,
    ) -> dict[str, torch.Tensor]:
        """Losses of one batch (this rank's share of it under ``group``): swapped
        prediction over all crops, plus the graph term."""
        views = batch.views
        b = views[0].shape[0]
        # Crops of one size go through the network together (one BN batch per size).
        z_global = net(torch.cat(views[:2]))
        z_views = list(z_global.split(b))
        if len(views) > 2:
            z_views += list(net(torch.cat(views[2:])).split(b))
        scores = [net.prototypes(z) for z in z_views]  # V x heads x [B, K_h]
        with torch.no_grad():
            queue_scores = None
            if queue is not None and len(queue):
                queue_scores = net.prototypes(queue.features())
            codes = [
                [
                    queued_sinkhorn(
                        scores[t][h].detach(),
                        None if queue_scores is None else queue_scores[h],
                        self.epsilon,
                        self.sinkhorn_iters,
                        col_relax=self.sinkhorn_relax if h == 0 else None,
                        group=group,
                    )
                    for t in range(2)
                ]
                for h in range(len(net.prototypes.sizes))
            ]
            if queue is not None:
                queue.push(z_global.detach())
        swav = sum(
            swapped_prediction_loss([s[h] for s in scores], codes[h], self.temperature)
            for h in range(len(codes))
        ) / len(codes)
        parts = {"loss": swav, "swav": swav.detach()}
        if self.graph_weight > 0:
            graph = self._graph_term(z_views[0], z_views[1], codes[0], adapter)
            parts["graph"] = graph.detach()
            parts["loss"] = swav + self.graph_weight * graph
        return parts

    def _graph_term(
        self,
        z0: torch.Tensor,
        z1: torch.Tensor,
        codes: list[torch.Tensor],
        adapter: ImageGraphAdapter,
    ) -> torch.Tensor:
        """PamC loss on the batch kNN graph: neighbours in the other global crop are
        positives (``S = D^-1 (A + I)``), meta-nodes of the hard codes are negatives."""
        b = z0.shape[0]
        data = adapter.graph(z0.detach())
        s = normalized_adjacency(data.edge_index, b, add_self_loops=True, kind="rw")
        row, col, value = csr_to_coo(s)
        positive = 0.5 * (
            influence_term(z0, z1, row, col, value, self.graph_tau)
            + influence_term(z1, z0, row, col, value, self.graph_tau)
        )
        labels = torch.cat([codes[0].argmax(dim=1), codes[1].argmax(dim=1)])
        negative = meta_node_term(torch.cat([z0, z1]), labels, self.n_clusters, self.graph_tau)
        return positive + negative

    # -- fitted state -----------------------------------------------------------------
    def _at_inference_size(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` resampled to the side of the global crops (unchanged when equal).

        The network (filters and BatchNorm statistics) learned from global crops of side
        ``global_size``; whole images at another side are a train/test resolution
        mismatch (Touvron et al., "Fixing the train-test resolution discrepancy", 2019).
        Measured on MNIST-test (28x28, crops at 20x20), seed 0: k-means ACC of the
        multi-crop model 0.849 on 28x28 inputs, 0.974 on 20x20 ones; the 2-crop model
        0.961 and 0.960. Bilinear without antialiasing, as the crops are resampled.
        """
        side = self.global_size
        if side is None or tuple(images.shape[-2:]) == (side, side):
            return images
        return F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False)

    @torch.no_grad()
    def _embed(self, images: torch.Tensor, batch_size: int) -> torch.Tensor:
        out = [
            self.model_(self._at_inference_size(chunk.to(self._device))).cpu()
            for chunk in images.split(batch_size)
        ]
        return torch.cat(out)

    @torch.no_grad()
    def _finish(self, images: torch.Tensor) -> None:
        z = self._embed(images, 1024)
        scores = self.model_.prototypes(z.to(self._device))[0]
        codes = sinkhorn(
            scores, self.epsilon, self.sinkhorn_iters, col_relax=self.sinkhorn_relax
        ).cpu()
        self.embeddings_ = z
        self.soft_assignments_ = codes
        self.prototype_labels_ = codes.argmax(dim=1)
        self.kmeans_labels_ = self._kmeans(z, self.n_clusters)
        self.merged_labels_ = None
        if self.labels_from == "merged":
            self.merged_labels_ = self._merged_labels(images, z)
        self.labels_ = {
            "prototypes": self.prototype_labels_,
            "kmeans": self.kmeans_labels_,
            "merged": self.merged_labels_,
        }[self.labels_from]
        self.n_clusters_ = int(self.labels_.unique().numel())

    def _kmeans(self, z: torch.Tensor, n_clusters: int) -> torch.Tensor:
        return fit_kmeans(z, n_clusters, n_init=self.kmeans_n_init, seed=self.seed).labels

    def _merged_labels(self, images: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """k-means over-clustering of ``z``, merged by modularity on the input and
        embedding kNN graphs together (module docstring)."""
        over = self._kmeans(z, self._overcluster_size(z.shape[0]))
        return graph_merge(images, z, over, self.n_clusters, self.merge_k)


__all__ = [
    "SwAV",
    "SwAVNet",
    "recalibrate_batch_norm",
]
