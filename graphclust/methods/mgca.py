"""MGCA-style cross-view prototype alignment (Wang et al., NeurIPS 2022, "CPA" part).

Multi-Granularity Cross-modal Alignment aligns an image and its report at three
levels; its prototype level is a swapped prediction across the two modalities,
assembled here from the shared core:

1. Two views of every item give unit-norm embeddings ``v`` and ``t`` (``[B, d]``).
   Attributed graph (``views="both"``): the *attribute view*, an MLP on the node
   features, and the *structure view*, a GCN on the graph. Images: two augmentations
   (:class:`~graphclust.adapters.ImageGraphAdapter` with two global
   :class:`~graphclust.adapters.MultiCrop` crops, as SwAV), through one shared encoder
   or two encoders the user supplies (``encoder_a``, ``encoder_b``).
2. Both are scored against one shared :class:`~graphclust.assign.Prototypes` layer
   ``C [P, d]``; codes ``q = sinkhorn(scores)`` (eps 0.05, 3 iterations, no gradient).
3. ``L = 1/2 [CE(q_v, softmax(C t / 0.2)) + CE(q_t, softmax(C v / 0.2))]``
   (:func:`~graphclust.losses.swapped_prediction_loss` with the two views).
4. Prototypes are frozen for the first epoch and re-normalised after every step.

Read-out (``readout``; never uses labels): the *fused* embedding is the normalised
sum of the item's unit-norm view embeddings on the clean input (one view for the
single-view ablations). ``"sinkhorn"``: argmax of its balanced codes;
``"prototypes"``: argmax of its plain prototype scores; ``"kmeans"``: k-means with
``n_clusters`` on it. ``"auto"`` (default) is ``"sinkhorn"`` when ``n_prototypes ==
n_clusters`` and ``"kmeans"`` otherwise (MGCA used 500 prototypes, more than the
clusters of any benchmark here). The model kept is the final one (no selection).

Differences from the published code/paper, all deliberate:

- Only the prototype level: MGCA's instance-level (image-report InfoNCE) and
  token-level (word-patch) alignments have no counterpart in a node's two views.
- Graphs train full batch, one optimiser step per epoch (a GCN needs every node's
  neighbourhood), so Sinkhorn balances all ``N`` nodes at once and "frozen for the
  first epoch" means the first step; ``freeze_prototypes_epochs`` counts epochs.
- Each view also gets GRACE's augmentations (feature-column masking ``feature_mask``;
  edge dropping ``edge_drop`` in structure views), so the single-view ablations
  (``views="attribute"|"structure"``: one shared encoder, two augmented copies) train
  on the same kind of input as the two-view model.
- ``n_prototypes`` is MGCA's 500 by default, read out by k-means: with ``P = K``
  the balanced codes force ``K`` equal-sized clusters, which real graphs do not have,
  while ``P >> K`` prototypes of ``N / P`` items each can form clusters of any size
  (docs/methods/mgca.md has the measurement). ``n_prototypes=None`` makes the
  prototypes the clusters.
- Adam with warm-up + cosine decay instead of MGCA's AdamW schedule.

Input: ``fit(data)`` takes a ``torch_geometric.data.Data`` with features, or images as
accepted by :func:`~graphclust.adapters.check_images` (labels dropped at the door).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data

from graphclust.adapters.augment import MultiCrop
from graphclust.adapters.image import ImageGraphAdapter, check_images
from graphclust.assign import Prototypes, fit_kmeans, sinkhorn
from graphclust.data.validation import check_n_clusters
from graphclust.graph.augment import drop_edges, mask_feature_columns
from graphclust.losses import prototype_uniformity_loss, swapped_prediction_loss
from graphclust.methods.base import BaseClusterer, renumber_clusters
from graphclust.nn.cnn import ProjectionHead, SmallResNet
from graphclust.nn.gcn import GCNEncoder
from graphclust.nn.mlp import MLP
from graphclust.training import optimize
from graphclust.utils.checks import non_negative_float, positive_float, positive_int

VIEWS = ("both", "attribute", "structure")
READOUTS = ("auto", "sinkhorn", "prototypes", "kmeans")
# Encoders of each graph view mode, in view order; "structure" encoders take the graph.
_GRAPH_VIEWS = {
    "both": ("attribute", "structure"),
    "attribute": ("attribute", "attribute"),
    "structure": ("structure", "structure"),
}


class MGCANet(nn.Module):
    """Named view encoders and one shared prototype layer.

    Args:
        encoders: view name -> module returning ``[B, embedding_dim]``; a name
            ``"structure"`` is called as ``module(x, edge_index)``, any other as
            ``module(x)``.
        embedding_dim: ``d``.
        n_prototypes: ``P``.
        freeze_steps: optimiser steps with frozen prototypes.
    """

    def __init__(
        self,
        encoders: dict[str, nn.Module],
        embedding_dim: int,
        n_prototypes: int,
        freeze_steps: int,
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict(encoders)
        self.embedding_dim = embedding_dim
        self.prototypes = Prototypes(embedding_dim, n_prototypes, freeze_steps=freeze_steps)

    def encode(self, view: str, *inputs: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings ``[B, d]`` of one view's input(s)."""
        z = self.encoders[view](*inputs)
        if z.dim() != 2 or z.shape[1] != self.embedding_dim:
            raise ValueError(
                f"the {view!r} encoder returned shape {tuple(z.shape)}, expected "
                f"[B, {self.embedding_dim}]; set embedding_dim to its output size"
            )
        return F.normalize(z, dim=1)


class MGCA(BaseClusterer):
    """Cross-view prototype alignment (swapped prediction across two views).

    Args:
        n_clusters: ``K``, clusters of the read-out.
        views: ``"both"`` (attribute MLP view vs structure GCN view; for images, the
            two augmentations), or a single-view ablation for graphs: ``"attribute"``
            / ``"structure"`` (one shared encoder, two augmented copies of that view).
        n_prototypes: ``P`` prototypes trained (MGCA's 500; ``None``: ``n_clusters``).
        embedding_dim: ``d`` (MGCA 128).
        hidden: hidden widths of the default MLP / GCN encoders; for images the last
            entry is the projection head's hidden width.
        cnn_width: width of the default image encoder (:class:`SmallResNet`).
        feature_mask: per-view rate of masked feature columns (graphs).
        edge_drop: per-view rate of dropped edges in structure views (graphs).
        temperature: softmax temperature of the swapped prediction (MGCA 0.2).
        epsilon, sinkhorn_iters: Sinkhorn settings (MGCA 0.05, 3).
        freeze_prototypes_epochs: epochs with frozen prototypes (MGCA 1).
        uniformity_weight: weight of :func:`~graphclust.losses.prototype_uniformity_loss`
            added to the loss (0: off, MGCA's loss alone); it keeps the prototypes
            apart, for MaxQuery out-of-distribution scores
            (:func:`graphclust.metrics.ood.maxquery_scores`).
        epochs, lr, weight_decay, warmup_epochs: Adam, linear warm-up, cosine decay.
        batch_size: images per step (images only; graphs train full batch).
        readout: ``"auto"``, ``"sinkhorn"``, ``"prototypes"`` or ``"kmeans"`` (module
            docstring); the prototype read-outs need ``n_prototypes == n_clusters``.
        kmeans_n_init: restarts of the k-means read-out.
        encoder_a, encoder_b: optional ``nn.Module`` encoders (copied, never trained in
            place). Graphs: ``encoder_a(x)`` is the attribute view, ``encoder_b(x,
            edge_index)`` the structure view. Images: ``encoder_a`` embeds the first
            augmentation and ``encoder_b`` the second (``encoder_b=None``: shared).
            Outputs must be ``[B, embedding_dim]``.
        checkpoint, checkpoint_every: resumable training file (None: off).
        progress: show a progress bar. seed, device: as every method.

    Fitted attributes, besides the base ones: ``model_`` (the :class:`MGCANet`),
    ``kmeans_labels_``, ``sinkhorn_labels_`` and ``prototype_labels_`` (the latter two
    ``None`` when ``n_prototypes != n_clusters``), ``cluster_ids_`` (LongTensor
    ``[n_clusters_]``: the prototype or k-means cluster of each label of ``labels_``,
    which is renumbered ``0..n_clusters_-1`` over non-empty clusters).
    """

    requires_features: ClassVar[bool] = True

    def __init__(
        self,
        n_clusters: int = 8,
        views: str = "both",
        n_prototypes: int | None = 500,
        embedding_dim: int = 128,
        hidden: tuple[int, ...] = (256,),
        cnn_width: int = 16,
        feature_mask: float = 0.2,
        edge_drop: float = 0.2,
        temperature: float = 0.2,
        epsilon: float = 0.05,
        sinkhorn_iters: int = 3,
        freeze_prototypes_epochs: int = 1,
        uniformity_weight: float = 0.0,
        epochs: int = 200,
        lr: float = 1e-2,
        weight_decay: float = 1e-5,
        warmup_epochs: int = 10,
        batch_size: int = 256,
        readout: str = "auto",
        kmeans_n_init: int = 10,
        encoder_a: nn.Module | None = None,
        encoder_b: nn.Module | None = None,
        checkpoint: str | None = None,
        checkpoint_every: int = 1,
        progress: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.views = views
        self.n_prototypes = n_prototypes
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.cnn_width = cnn_width
        self.feature_mask = feature_mask
        self.edge_drop = edge_drop
        self.temperature = temperature
        self.epsilon = epsilon
        self.sinkhorn_iters = sinkhorn_iters
        self.freeze_prototypes_epochs = freeze_prototypes_epochs
        self.uniformity_weight = uniformity_weight
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.batch_size = batch_size
        self.readout = readout
        self.kmeans_n_init = kmeans_n_init
        self.encoder_a = encoder_a
        self.encoder_b = encoder_b
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.progress = progress
        self.seed = seed
        self.device = device

    # -- validation ------------------------------------------------------------------
    def _validate_input(self, data: Any) -> tuple[Any, int]:
        """Graphs go through :func:`check_graph`; anything else must be images."""
        if isinstance(data, Data):
            self._is_graph = True
            return super()._validate_input(data)
        self._is_graph = False
        clean = check_images(data, min_samples=2, name="data")
        check_n_clusters(self.n_clusters, clean.shape[0])
        self._validate_params(clean)
        return clean, clean.shape[0]

    def _validate_params(self, data: Any) -> None:
        super()._validate_params(data)
        if self._is_graph:  # check_graph skips n_clusters=None
            check_n_clusters(self.n_clusters, data.num_nodes)
        for name, choices in (("views", VIEWS), ("readout", READOUTS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        for name in ("embedding_dim", "cnn_width", "sinkhorn_iters", "batch_size"):
            positive_int(getattr(self, name), name, 1)
        for name in ("epochs", "warmup_epochs", "freeze_prototypes_epochs", "checkpoint_every"):
            positive_int(getattr(self, name), name, 0 if name != "checkpoint_every" else 1)
        positive_int(self.kmeans_n_init, "kmeans_n_init", 1)
        if self.n_prototypes is not None:
            positive_int(self.n_prototypes, "n_prototypes", 2)
        if not self.hidden or not all(_is_int(h) and h >= 1 for h in self.hidden):
            raise ValueError(
                f"hidden must be a non-empty tuple of positive widths, got {self.hidden!r}"
            )
        for name in ("temperature", "epsilon", "lr"):
            positive_float(getattr(self, name), name)
        non_negative_float(self.uniformity_weight, "uniformity_weight")
        non_negative_float(self.weight_decay, "weight_decay")
        for name in ("feature_mask", "edge_drop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a rate in [0, 1), got {value!r}")
        if self._n_prototypes() != self.n_clusters and self.readout in ("sinkhorn", "prototypes"):
            raise ValueError(
                f"readout={self.readout!r} reads the clusters off the prototypes, so "
                f"n_prototypes ({self.n_prototypes}) must equal n_clusters ({self.n_clusters}); "
                "use readout='kmeans' (or 'auto') to cluster the embeddings instead"
            )
        self._check_encoders()

    def _check_encoders(self) -> None:
        for name in ("encoder_a", "encoder_b"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, nn.Module):
                raise TypeError(
                    f"{name} must be a torch.nn.Module or None, got {type(value).__name__}"
                )
        if not self._is_graph:
            if self.views != "both":
                raise ValueError(
                    f"views={self.views!r} is for graphs; images always have two augmented "
                    "views: use views='both'"
                )
            if self.encoder_b is not None and self.encoder_a is None:
                raise ValueError("encoder_b needs encoder_a (the first view's encoder); pass both")
            return
        unused = {"attribute": "encoder_b", "structure": "encoder_a"}.get(self.views)
        if unused is not None and getattr(self, unused) is not None:
            raise ValueError(
                f"{unused} encodes the {'structure' if unused == 'encoder_b' else 'attribute'} "
                f"view, which views={self.views!r} does not train; drop it or use views='both'"
            )

    def _n_prototypes(self) -> int:
        return self.n_clusters if self.n_prototypes is None else self.n_prototypes

    # -- training --------------------------------------------------------------------
    def _encoders(self, data: Any) -> dict[str, nn.Module]:
        """The encoders of the configured views (user modules deep-copied)."""
        d = self.embedding_dim
        a = copy.deepcopy(self.encoder_a) if self.encoder_a is not None else None
        b = copy.deepcopy(self.encoder_b) if self.encoder_b is not None else None
        if self._is_graph:
            dims = [data.x.shape[1], *self.hidden, d]
            # cached=False: the structure views see a new edge-dropped graph every step.
            defaults = {
                "attribute": lambda: MLP(dims),
                "structure": lambda: GCNEncoder(dims, cached=False),
            }
            given = {"attribute": a, "structure": b}
            return {v: given[v] or defaults[v]() for v in dict.fromkeys(_GRAPH_VIEWS[self.views])}
        if a is not None:
            return {"first": a, "second": b} if b is not None else {"image": a}
        backbone = SmallResNet(data.shape[1], self.cnn_width)
        return {
            "image": nn.Sequential(backbone, ProjectionHead(backbone.out_dim, self.hidden[-1], d))
        }

    def _fit(self, data: Any, device: torch.device) -> None:
        generator = torch.Generator().manual_seed(self.seed)
        if self._is_graph:
            x, edge_index = data.x.to(device), data.edge_index.to(device)
            batches: Any = [None]  # full batch: one step per epoch
            fingerprint = data.x
        else:
            batches = ImageGraphAdapter(
                data,
                MultiCrop(n_global=2, n_local=0),
                batch_size=min(self.batch_size, data.shape[0]),
                device=device,
                generator=generator,
            )
            fingerprint = data
        net = MGCANet(
            self._encoders(data),
            self.embedding_dim,
            self._n_prototypes(),
            self.freeze_prototypes_epochs * len(batches),
        ).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)

        def step(epoch: int, batch: Any) -> dict[str, torch.Tensor]:
            if self._is_graph:
                z_views = self._graph_views(net, x, edge_index, generator)
            else:
                z_views = self._image_views(net, batch.views)
            return self._alignment_loss(net, z_views)

        optimize(
            self,
            net,
            optimizer,
            batches,
            step,
            fingerprint,
            generator,
            "MGCA",
            before_update=net.prototypes.cancel_gradients,
            after_update=net.prototypes.normalize_,
        )
        self.model_ = net.eval()
        with torch.no_grad():
            if self._is_graph:
                z = self._fused(net, lambda v: (x, edge_index) if v == "structure" else (x,))
            else:
                chunks = [(c.to(device),) for c in data.split(1024)]
                z = torch.cat([self._fused(net, lambda v, c=c: c) for c in chunks])
        self._read_out(net, z)

    def _graph_views(self, net: MGCANet, x, edge_index, generator) -> list[torch.Tensor]:
        """The two augmented views' embeddings ``2 x [N, d]``."""
        out = []
        for view in _GRAPH_VIEWS[self.views]:
            xv = mask_feature_columns(x, self.feature_mask, generator)
            if view == "structure":
                out.append(net.encode(view, xv, drop_edges(edge_index, self.edge_drop, generator)))
            else:
                out.append(net.encode(view, xv))
        return out

    def _image_views(self, net: MGCANet, crops: list[torch.Tensor]) -> list[torch.Tensor]:
        if "image" in net.encoders:  # one encoder: both crops in one BatchNorm batch
            return list(net.encode("image", torch.cat(crops)).split(crops[0].shape[0]))
        return [net.encode("first", crops[0]), net.encode("second", crops[1])]

    def _alignment_loss(self, net: MGCANet, z_views: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Swapped prediction of each view's Sinkhorn codes from the other's scores."""
        scores = [net.prototypes(z) for z in z_views]
        codes = [sinkhorn(s.detach(), self.epsilon, self.sinkhorn_iters) for s in scores]
        loss = swapped_prediction_loss(scores, codes, self.temperature)
        agree = (codes[0].argmax(1) == codes[1].argmax(1)).float().mean()
        parts = {"code_agreement": agree}
        if self.uniformity_weight > 0:
            uniformity = prototype_uniformity_loss(net.prototypes.heads[0].weight)
            loss = loss + self.uniformity_weight * uniformity
            parts["uniformity"] = uniformity.detach()
        return {"loss": loss, **parts}

    # -- read-out --------------------------------------------------------------------
    @staticmethod
    def _fused(net: MGCANet, inputs_of) -> torch.Tensor:
        """Normalised sum of the clean views' unit-norm embeddings ``[B, d]``."""
        zs = [net.encode(v, *inputs_of(v)) for v in net.encoders]
        return F.normalize(torch.stack(zs).sum(dim=0), dim=1)

    @torch.no_grad()
    def _read_out(self, net: MGCANet, z: torch.Tensor) -> None:
        scores = net.prototypes(z)  # [N, P]
        self.embeddings_ = z.cpu()
        self.kmeans_labels_ = fit_kmeans(
            self.embeddings_, self.n_clusters, n_init=self.kmeans_n_init, seed=self.seed
        ).labels
        self.sinkhorn_labels_ = self.prototype_labels_ = None
        codes = None
        if self._n_prototypes() == self.n_clusters:
            codes = sinkhorn(scores, self.epsilon, self.sinkhorn_iters).cpu()
            self.sinkhorn_labels_ = codes.argmax(dim=1)
            self.prototype_labels_ = scores.argmax(dim=1).cpu()
        readout = self.readout
        if readout == "auto":
            readout = "sinkhorn" if codes is not None else "kmeans"
        raw, soft = {
            "sinkhorn": (self.sinkhorn_labels_, codes),
            "prototypes": (self.prototype_labels_, F.softmax(scores / self.temperature, 1)),
            "kmeans": (self.kmeans_labels_, None),
        }[readout]
        numbered = renumber_clusters(raw, None if soft is None else soft.cpu())
        self.labels_, self.cluster_ids_ = numbered.labels, numbered.cluster_ids
        self.soft_assignments_ = numbered.soft
        self.n_clusters_ = int(self.cluster_ids_.numel())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["MGCA", "MGCANet", "READOUTS", "VIEWS"]
