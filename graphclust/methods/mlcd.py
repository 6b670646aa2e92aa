"""MLCD: multi-label cluster discrimination (An et al., ECCV 2024), as a pre-training.

The method as in the paper:

1. Cluster a feature set offline into many centres, far more than there are classes
   (the paper: 1M centres for LAION-400M, on CLIP features).
2. Each sample's ``l`` nearest centres are its positive classes (``l = 8``), every other
   centre a negative one.
3. Train the encoder with the decoupled multi-label loss
   (:func:`~graphclust.losses.multilabel_cluster_loss`)
   ``L = log(1 + sum_{i in pos} e^{-s_i}) + log(1 + sum_{j in neg'} e^{s_j})``, ``s`` the
   scaled cosines of the sample's embedding to the class prototypes and ``neg'`` a random
   subset of the negatives, ratio ``r`` (0.1). Ablation reported: ``l = 1`` 71.4,
   ``l = 8`` 75.2, ``l = 32`` 68.7; ratio 1.0: 63.2.

Here, with no pre-trained model to give the first features, the clustering alternates
with the training (as DeepCluster does): round 0 clusters the input (flattened pixels,
or node attributes) or, with ``init_features="encoder"``, the untrained encoder's
embeddings; every later round clusters the current embeddings. Encoders: the image
path of SwAV (:class:`~graphclust.nn.cnn.SmallResNet` + projection head, one
augmented crop per image and step, :class:`~graphclust.adapters.ImageGraphAdapter`),
or an MLP / GCN on an attributed graph (input-feature dropout as augmentation).

``embeddings_`` are the unit-norm embeddings ``[N, d]`` the loss shaped; ``labels_``
k-means (:func:`~graphclust.assign.fit_kmeans`) on them at ``n_clusters``.

Differences from the published code/paper, all deliberate:

- Prototypes: ``prototypes="learned"`` (default) is the paper's classifier, a
  unit-norm prototype layer trained with the encoder; it starts from the k-means
  centres when they live in the embedding space (every round but a round 0 on the
  input) and from random unit vectors otherwise (the paper's classifier starts random:
  its centres are CLIP features, not in the student's space). It is re-created each
  round, since cluster ids mean nothing across rounds. ``"fixed"`` scores against the
  normalised k-means centres themselves, untrained (needs ``init_features="encoder"``).
- Negatives are sampled per sample, uniformly among that sample's ``K - l`` negatives
  (the formula as written). The released code samples one set of centres per batch
  (Partial FC) so as not to score 1M centres; at a few thousand centres the full
  ``[B, K]`` scores are cheap.
- ``scale`` multiplies the cosines (the paper uses normalised features and prototypes;
  a scale is needed for the loss to saturate); ``margin`` (default 0, the paper's
  formula) is an additive margin on the positive cosines, as in CosFace.
- A new Adam optimiser with warm-up and cosine decay per round (restarts), since the
  classifier is re-created.
- Offline k-means: the toolkit's torch k-means (:func:`~graphclust.assign.kmeans`, on
  the training device), cosine geometry (rows normalised), at most 100 Lloyd steps.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data

from graphclust.adapters.augment import MultiCrop
from graphclust.adapters.image import ImageGraphAdapter, check_images
from graphclust.assign import Prototypes, fit_kmeans, kmeans
from graphclust.data.validation import check_graph, check_n_clusters
from graphclust.losses import multilabel_cluster_loss, positive_centres, sample_negatives
from graphclust.methods.base import BaseClusterer, check_finite
from graphclust.nn.cnn import ImageEncoder, recalibrate_batch_norm
from graphclust.nn.gcn import GCNEncoder
from graphclust.nn.mlp import MLP
from graphclust.training import RunningMeans, progress, warmup_cosine
from graphclust.utils.checks import (
    non_negative_float,
    positive_float,
    positive_int,
    probability,
)

CENTRE_MAX_ITER = 100  # Lloyd steps of the offline clustering: centres need not converge
_CHOICES = {
    "encoder": ("auto", "cnn", "mlp", "gcn"),
    "prototypes": ("learned", "fixed"),
    "init_features": ("input", "encoder"),
}


class GraphEncoder(nn.Module):
    """MLP or GCN with input-feature dropout; ``[N, D], [2, E] -> [N, d]`` unit-norm."""

    def __init__(self, kind: str, dims: list[int], dropout: float) -> None:
        super().__init__()
        self.kind = kind
        self.dropout = dropout
        self.net = GCNEncoder(dims) if kind == "gcn" else MLP(dims)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, self.dropout, self.training)
        z = self.net(x, edge_index) if self.kind == "gcn" else self.net(x)
        return F.normalize(z, dim=1)


class MLCD(BaseClusterer):
    """Multi-label cluster discrimination on images or attributed graphs.

    Args:
        n_clusters: ``K`` of the final k-means read-out (``labels_``).
        n_centres: centres of the offline clustering, more than ``n_clusters`` (None:
            ``max(10 n_clusters, N // 10)``, at most ``N``).
        n_positive: ``l``, nearest centres that are positive classes of a sample.
        negative_ratio: ``r`` in ``(0, 1]``, fraction of the negatives sampled per sample.
        scale: multiplies the cosines into the scores ``s``.
        margin: additive margin on the positive cosines (0: the paper's loss).
        prototypes: ``"learned"`` or ``"fixed"`` (module docstring).
        init_features: what round 0 clusters: ``"input"`` or ``"encoder"``.
        rounds: clustering rounds; epochs: training epochs per round.
        encoder: ``"auto"`` (``"cnn"`` for images, ``"gcn"`` for graphs), ``"cnn"``,
            ``"mlp"`` or ``"gcn"``.
        width, blocks, hidden_dim: CNN size and projection head width (images).
        hidden: hidden widths of the graph encoder.
        embedding_dim: ``d``.
        crop_scale, rotation: the one augmented crop per image (area range, degrees).
        feature_dropout: input-feature dropout of the graph encoders (augmentation).
        batch_size, lr, weight_decay, warmup_epochs: Adam, warm-up + cosine per round.
            Graph steps draw ``batch_size`` nodes; a GCN encodes the whole graph per step.
        centre_n_init: k-means++ restarts of the offline clustering.
        kmeans_n_init: restarts of the final read-out k-means.
        recalibrate_bn: re-estimate BatchNorm statistics on whole images before every
            re-clustering and at the end (images).
        progress, seed, device: as everywhere.

    Fitted attributes, besides the base ones: ``centres_`` ``[n_centres, d']`` of the last
    round (in the space it clustered), ``positives_`` ``[N, l]`` the targets of the last
    round, ``n_centres_``.
    """

    requires_features: ClassVar[bool] = True

    def __init__(
        self,
        n_clusters: int = 10,
        n_centres: int | None = None,
        n_positive: int = 8,
        negative_ratio: float = 0.1,
        scale: float = 5.0,
        margin: float = 0.0,
        prototypes: str = "learned",
        init_features: str = "input",
        rounds: int = 3,
        epochs: int = 5,
        encoder: str = "auto",
        width: int = 16,
        blocks: tuple[int, ...] = (1, 1, 1),
        hidden_dim: int = 256,
        hidden: tuple[int, ...] = (256,),
        embedding_dim: int = 64,
        crop_scale: tuple[float, float] = (0.5, 1.0),
        rotation: float = 15.0,
        feature_dropout: float = 0.2,
        batch_size: int = 256,
        lr: float = 1e-2,
        weight_decay: float = 1e-5,
        warmup_epochs: int = 1,
        centre_n_init: int = 1,
        kmeans_n_init: int = 10,
        recalibrate_bn: bool = True,
        progress: bool = True,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.n_centres = n_centres
        self.n_positive = n_positive
        self.negative_ratio = negative_ratio
        self.scale = scale
        self.margin = margin
        self.prototypes = prototypes
        self.init_features = init_features
        self.rounds = rounds
        self.epochs = epochs
        self.encoder = encoder
        self.width = width
        self.blocks = blocks
        self.hidden_dim = hidden_dim
        self.hidden = hidden
        self.embedding_dim = embedding_dim
        self.crop_scale = crop_scale
        self.rotation = rotation
        self.feature_dropout = feature_dropout
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.centre_n_init = centre_n_init
        self.kmeans_n_init = kmeans_n_init
        self.recalibrate_bn = recalibrate_bn
        self.progress = progress
        self.seed = seed
        self.device = device

    # -- validation -------------------------------------------------------------------
    @property
    def input_kind(self) -> str:
        """``"images"`` with the CNN encoder, so that ``graphclust fit`` passes the images
        of an image dataset rather than its kNN graph."""
        return "images" if self.encoder == "cnn" else "graph"

    def fit(self, data: Any) -> MLCD:
        """Train on images (tensor ``[N, C, H, W]`` / ``[N, H, W]`` or an image dataset,
        as :func:`~graphclust.adapters.image.check_images` takes) or on a graph
        (``torch_geometric.data.Data`` with ``x``). Labels are never read."""
        super().fit(data)
        return self

    def _validate_input(self, data: Any) -> tuple[Any, int]:
        if isinstance(data, Data):
            clean = check_graph(data, n_clusters=self.n_clusters, require_features=True)
            n, kind = clean.num_nodes, "graph"
        else:
            clean = check_images(data, min_samples=2)
            n, kind = clean.shape[0], "images"
            check_n_clusters(self.n_clusters, n)
        self._kind = kind
        self._check_params(n)
        super()._validate_params(clean)
        return clean, n

    def _resolved_encoder(self) -> str:
        if self.encoder == "auto":
            return "cnn" if self._kind == "images" else "gcn"
        return self.encoder

    def _resolved_centres(self, n: int) -> int:
        if self.n_centres is None:
            return min(n, max(10 * self.n_clusters, n // 10))
        return self.n_centres

    def _check_params(self, n: int) -> None:
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        check_n_clusters(self.n_clusters, n)
        enc = self._resolved_encoder()
        if (enc == "cnn") != (self._kind == "images"):
            raise ValueError(
                f"encoder={self.encoder!r} does not fit {self._kind} input: use 'cnn' for "
                "images, 'mlp' or 'gcn' for graphs (or 'auto')"
            )
        for name in ("rounds", "epochs", "batch_size", "embedding_dim", "centre_n_init"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        k = self._resolved_centres(n)
        if isinstance(k, bool) or not isinstance(k, int) or not self.n_clusters < k <= n:
            raise ValueError(
                f"n_centres must be an integer in ({self.n_clusters}, {n}] (more centres than "
                f"n_clusters, at most the {n} samples), got {k!r}"
            )
        l_pos = self.n_positive
        if isinstance(l_pos, bool) or not isinstance(l_pos, int) or not 1 <= l_pos < k:
            raise ValueError(
                f"n_positive must be an integer in [1, {k - 1}] (fewer than n_centres={k}), "
                f"got {l_pos!r}"
            )
        r = self.negative_ratio
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r <= 1:
            raise ValueError(f"negative_ratio must be a number in (0, 1], got {r!r}")
        positive_float(self.scale, "scale")
        positive_float(self.lr, "lr")
        probability(self.feature_dropout, "feature_dropout", one=False)
        for name in ("margin", "rotation", "weight_decay"):
            non_negative_float(getattr(self, name), name)
        for name in ("width", "hidden_dim", "kmeans_n_init"):
            positive_int(getattr(self, name), name)
        positive_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        if self.prototypes == "fixed" and self.init_features == "input":
            raise ValueError(
                "prototypes='fixed' scores against the k-means centres, which must live in "
                "the embedding space: pass init_features='encoder' (or prototypes='learned')"
            )

    # -- training ---------------------------------------------------------------------
    def _fit(self, data: Any, device: torch.device) -> None:
        self._device = device
        n = data.num_nodes if self._kind == "graph" else data.shape[0]
        k = self._resolved_centres(n)
        self.n_centres_ = k
        net = self._build_net(data).to(device)
        if self._kind == "graph":
            x, edge_index = data.x.to(device), data.edge_index.to(device)
            inputs = (x, edge_index)
        else:
            inputs = data
        sampler = torch.Generator(device=device).manual_seed(self.seed)
        for round_ in range(self.rounds):
            feats, in_embedding_space = self._clustering_features(net, inputs, round_)
            centres = F.normalize(
                kmeans(
                    F.normalize(feats, dim=1),
                    k,
                    n_init=self.centre_n_init,
                    max_iter=CENTRE_MAX_ITER,
                    seed=self.seed + round_,
                ).centroids,
                dim=1,
            )
            positives = positive_centres(feats, centres, self.n_positive)
            head = self._head(centres, in_embedding_space).to(device)
            self._train_round(net, head, inputs, positives, sampler, round_)
        self.centres_ = centres.cpu()
        self.positives_ = positives.cpu()
        z = self._embed(net, inputs)
        self.model_ = net.eval()
        self.embeddings_ = z.cpu()
        self.labels_ = fit_kmeans(
            self.embeddings_, self.n_clusters, n_init=self.kmeans_n_init, seed=self.seed
        ).labels
        self.n_clusters_ = int(self.labels_.unique().numel())

    def _build_net(self, data: Any) -> nn.Module:
        enc = self._resolved_encoder()
        if enc == "cnn":
            return ImageEncoder(
                data.shape[1], self.width, tuple(self.blocks), self.hidden_dim, self.embedding_dim
            )
        dims = [data.x.shape[1], *self.hidden, self.embedding_dim]
        return GraphEncoder(enc, dims, self.feature_dropout)

    def _clustering_features(self, net, inputs, round_: int) -> tuple[torch.Tensor, bool]:
        """What round ``round_`` clusters, and whether it is the embedding space."""
        if round_ == 0 and self.init_features == "input":
            x = inputs[0] if self._kind == "graph" else inputs.flatten(1)
            return x.to(self._device).float(), False
        return self._embed(net, inputs), True

    @torch.no_grad()
    def _embed(self, net: nn.Module, inputs) -> torch.Tensor:
        """Unit-norm embeddings of every sample ``[N, d]`` on the device (eval mode)."""
        if self._kind == "graph":
            net.eval()
            return net(*inputs)
        if self.recalibrate_bn:
            recalibrate_batch_norm(net, inputs, self.batch_size, self._device)
        net.eval()
        return torch.cat([net(c.to(self._device)) for c in inputs.split(1024)])

    def _head(self, centres: torch.Tensor, in_embedding_space: bool) -> nn.Module:
        """The class prototypes of one round (module docstring, ``prototypes``)."""
        if self.prototypes == "fixed":
            return FixedCentres(centres)
        head = Prototypes(self.embedding_dim, centres.shape[0])
        if in_embedding_space:
            with torch.no_grad():
                head.heads[0].weight.copy_(centres)
        return head

    def _batches(self, inputs, generator: torch.Generator):
        """An iterable of ``(index [B], model inputs)`` per epoch, and its length."""
        if self._kind == "images":
            crops = MultiCrop(
                n_global=1, n_local=0, global_scale=tuple(self.crop_scale), rotation=self.rotation
            )
            adapter = ImageGraphAdapter(
                inputs,
                crops,
                batch_size=min(self.batch_size, inputs.shape[0]),
                device=self._device,
                generator=generator,
            )
            return ((b.index, (b.views[0],)) for b in adapter), len(adapter)
        n = inputs[0].shape[0]
        b = min(self.batch_size, n)
        order = torch.randperm(n, generator=generator)
        steps = n // b
        return ((order[i * b : (i + 1) * b], inputs) for i in range(steps)), steps

    def _train_round(self, net, head, inputs, positives, sampler, round_: int) -> None:
        params = list(net.parameters()) + list(head.parameters())
        optimizer = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        generator = torch.Generator().manual_seed(self.seed * 1000 + round_)
        _, steps = self._batches(inputs, generator)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, warmup_cosine(self.warmup_epochs * steps, self.epochs * steps)
        )
        bar = progress(range(self.epochs), self.progress, f"MLCD round {round_}")
        for epoch in bar:
            net.train()
            meter = RunningMeans()
            batches, _ = self._batches(inputs, generator)
            for index, model_inputs in batches:
                index = index.to(self._device)
                z = net(*model_inputs)
                if self._kind == "graph":
                    z = z[index]
                loss = self._loss(head(z), positives[index], sampler)
                check_finite(loss, "MLCD loss", epoch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                if isinstance(head, Prototypes):
                    head.normalize_()
                meter.add({"loss": loss})
            means = meter.means()
            self.log(round=round_, epoch=epoch, **means)
            bar.set_postfix(loss=f"{means['loss']:.4f}")

    def _loss(self, cos: torch.Tensor, positives: torch.Tensor, sampler) -> torch.Tensor:
        negatives = None
        if self.negative_ratio < 1:
            negatives = sample_negatives(positives, cos.shape[1], self.negative_ratio, sampler)
        scores = self.scale * cos
        return multilabel_cluster_loss(scores, positives, negatives, self.scale * self.margin)


class FixedCentres(nn.Module):
    """Cosines to fixed unit-norm centres ``[K, d]`` (no parameters)."""

    def __init__(self, centres: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("centres", F.normalize(centres, dim=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z, dim=1) @ self.centres.T


__all__ = ["MLCD", "FixedCentres", "GraphEncoder"]
