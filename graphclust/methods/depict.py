"""DEPICT: a softmax clustering head on a denoising autoencoder, self-trained against a
cluster-size-regularised target (Dizaji et al., ICCV 2017).

1. An autoencoder with a *noisy* path (dropout as corruption) and a *clean* path:
   for images DEPICT's convolutional one
   (:class:`~graphclust.nn.conv_ae.ConvDenoisingAutoencoder`, layer-wise
   reconstruction of the clean activations), for attributed graphs an MLP
   (:class:`~graphclust.nn.mlp.Autoencoder`) or GCN
   (:class:`~graphclust.nn.gcn.GCNAutoencoder`) autoencoder whose input is dropped out.
   It is first trained on reconstruction alone (``pretrain_epochs``).
2. A softmax head ``p_i = softmax(theta^T z_i + b)`` (``[N, K]``) on the embedding. Its
   weights start at the unit-norm k-means centroids of the clean embeddings (the
   released code), then ``init_epochs`` epochs fit it to the k-means labels
   (cross-entropy on the noisy path, plus reconstruction).
3. Self-training. DEPICT minimises ``KL(Q || P) + KL(f || u)`` with ``f_k = mean_i
   q_ik`` the cluster sizes of the target and ``u`` a prior on them (uniform by
   default; ``prior=`` takes any positive ``[K]`` vector summing to 1). Over ``Q`` this
   gives ``q_ik ∝ p_ik (u_k / sum_i p_ik)^(1/2)``
   (:func:`~graphclust.assign.targets.depict_target`). Each epoch computes ``P`` with
   the clean path on all samples, refreshes ``Q``, then minimises over the network
   ``KL(Q || P_noisy) + reconstruction_weight * L_rec`` in mini-batches
   (:func:`~graphclust.losses.kl_clustering_loss`). The ``KL(f || u)`` term
   acts through the target only: repeated refreshes multiply cluster ``k``'s logit
   by ``(u_k / f_k)^(1/2)`` each epoch, so at a fixed point ``f = u``; the prior
   decides the cluster sizes the model is pulled towards.
4. Stop when the targets stop changing: the fraction of samples whose target
   assignment ``argmax_k q_ik`` changed since the previous refresh is below ``tol``
   (0.1%, the tolerance DEC uses for the same test), or after ``epochs`` refreshes.

Model selection is label-free: the fitted state is the final model, at convergence of
the targets (or at the epoch limit; ``converged_`` says which). ``labels_`` is the
argmax of the clean ``P`` of that model, numbered ``0..n_clusters_-1`` over the head's
clusters that hold samples: ``cluster_ids_`` maps them back to the ``K`` outputs of the
head, ``soft_assignments_`` keeps those columns of ``P`` (rows renormalised), and a
warning says when fewer than ``K`` clusters hold samples.

Input: ``fit(data)`` takes a ``torch_geometric`` ``Data`` with features (graph
autoencoders) or images (``[N, C, H, W]`` / ``[N, H, W]`` in ``[0, 1]`` or ``uint8``,
or an indexable dataset of images or ``(image, label)`` pairs, as in
:func:`~graphclust.adapters.image.check_images`); ``input="auto"`` chooses by type.

Differences from the published code/paper, all deliberate:

- Target: ``target="depict"`` (default) is the paper's ``p / sqrt(f)`` form, the one
  that follows from the objective and takes the prior. The released code uses DEC's
  squared form ``p^2 / f`` (``target="dec"``), which also sharpens each row; it has no
  prior, so ``prior`` needs ``target="depict"``.
- Stopping: the released code stops when the mean squared change of the target
  probabilities is below 1e-7; here the fraction of changed target assignments is
  below ``tol`` (the paper's "targets stop changing" read as DEC's count test, with
  DEC's 0.1%: a count is scale-free, an MSE threshold depends on ``K``).
- Initial clusters: k-means on the pretrained embeddings for every data set (the code
  uses AC-PIC, an agglomerative clustering with a MATLAB implementation, on USPS and
  MNIST-test, and k-means on MNIST-full). The head's fit to them runs a fixed
  ``init_epochs`` instead of early stopping on a 10% split.
- Pretraining runs a fixed ``pretrain_epochs`` with Adam ``lr`` (the code: up to 4,000
  epochs at ``lr`` 1e-4, batch 100, early stopping on a 10% split with patience 100).
- The target is recomputed from one clean pass at the start of each epoch; the code
  stitches it from the clean predictions of each batch right after that batch's
  update, so its rows come from 93 slightly different networks (USPS, batch 100).
- The clean activations that the decoder reconstructs are detached (see
  :mod:`graphclust.nn.conv_ae`); graph autoencoders reconstruct the input only.
- A GCN encoder trains full batch: an epoch is ``ceil(N / batch_size)`` full-batch
  steps, as many updates per target refresh as the mini-batch encoders make.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data

from graphclust.adapters.image import check_images
from graphclust.assign import dec_target, depict_target, fit_kmeans
from graphclust.data.validation import check_n_clusters
from graphclust.losses import kl_clustering_loss
from graphclust.methods.base import BaseClusterer, check_finite, renumber_clusters
from graphclust.nn.conv_ae import ConvDenoisingAutoencoder
from graphclust.nn.gcn import GCNAutoencoder
from graphclust.nn.mlp import Autoencoder
from graphclust.training import progress
from graphclust.utils.checks import (
    flag,
    non_negative_float,
    one_of,
    optional_positive_int,
    positive_float,
    positive_int,
    probability,
)

_CHOICES = {
    "input": ("auto", "graph", "images"),
    "encoder": ("mlp", "gcn"),
    "target": ("depict", "dec"),
}


class FeatureDenoisingAutoencoder(nn.Module):
    """An MLP or GCN feature autoencoder whose noisy path drops input features.

    Args:
        base: an :class:`~graphclust.nn.mlp.Autoencoder` or
            :class:`~graphclust.nn.gcn.GCNAutoencoder`.
        noise: dropout rate on the input of the noisy path, in ``[0, 1)``.
    """

    def __init__(self, base: nn.Module, noise: float) -> None:
        super().__init__()
        self.base = base
        self.noise = float(noise)
        self.needs_graph = bool(getattr(base, "needs_graph", False))

    def encode(self, x: torch.Tensor, edge_index: torch.Tensor | None = None) -> torch.Tensor:
        """Clean embedding ``[N, D] -> [N, d]``."""
        return self.base.encode(x, edge_index)

    def denoising_pass(
        self, x: torch.Tensor, edge_index: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Noisy embedding ``[N, d]`` and the MSE of its decoding against the clean ``x``."""
        z = self.base.encode(F.dropout(x, self.noise, training=True), edge_index)
        return z, F.mse_loss(self.base.decode(z), x)


class DEPICT(BaseClusterer):
    """DEPICT deep clustering for images (convolutional AE) and attributed graphs.

    Args:
        n_clusters: ``K``, the width of the softmax head.
        input: ``"auto"`` (a ``Data`` is a graph, anything else images), ``"graph"``
            or ``"images"``.
        encoder: graphs only: ``"mlp"`` (features alone) or ``"gcn"`` (features and
            edges; full batch).
        hidden: graph autoencoder hidden widths (the decoder mirrors them).
        latent_dim: embedding size ``d``; ``None``: ``n_clusters`` (DEPICT).
        channels, kernel_sizes, strides, paddings: images only, the convolutions
            (DEPICT on USPS / MNIST: ``(50, 50)``, ``(4, 5)``, ``(2, 2)``, ``(0, 2)``).
        noise: dropout rate of the noisy path: images, on the input and after every
            convolution but the last (the code: 0.1, 0.1, 0.0); graphs, on the input.
        hidden_weight: images only, weight of each hidden layer's reconstruction (0.1).
        reconstruction_weight: ``lambda`` of the reconstruction term (1 in the code).
        target: ``"depict"`` (paper, default) or ``"dec"`` (released code).
        prior: ``None`` (uniform ``u``) or ``[K]`` positive cluster-size proportions
            summing to 1; ``target="depict"`` only.
        pretrain_epochs: reconstruction-only epochs before clustering.
        init_epochs: epochs fitting the head to the k-means labels.
        epochs: most target refreshes (each followed by one training epoch).
        tol: stop when fewer than this fraction of target assignments change.
        batch_size: samples per step (a GCN: sets the steps per epoch).
        lr: Adam learning rate for every phase.
        n_init: k-means restarts for the initial clusters.
        progress: show a progress bar over the epochs.
        seed, device: as in every method.

    Fitted attributes, besides the base ones: ``converged_`` (targets converged before
    ``epochs``), ``n_epochs_`` (self-training epochs run), ``target_``
    (``[N, K]``, the last target), ``init_labels_`` (the k-means start),
    ``model_`` (the trained network, eval mode), ``cluster_ids_`` (LongTensor
    ``[n_clusters_]``: the head output, in ``0..K-1``, of each label).
    """

    requires_features: ClassVar[bool] = True

    def __init__(
        self,
        n_clusters: int = 10,
        input: str = "auto",
        encoder: str = "gcn",
        hidden: tuple[int, ...] = (256,),
        latent_dim: int | None = None,
        channels: tuple[int, ...] = (50, 50),
        kernel_sizes: tuple[int, ...] = (4, 5),
        strides: tuple[int, ...] = (2, 2),
        paddings: tuple[int, ...] = (0, 2),
        noise: float = 0.1,
        hidden_weight: float = 0.1,
        reconstruction_weight: float = 1.0,
        target: str = "depict",
        prior: Any = None,
        pretrain_epochs: int = 30,
        init_epochs: int = 5,
        epochs: int = 50,
        tol: float = 0.001,
        batch_size: int = 256,
        lr: float = 1e-3,
        n_init: int = 10,
        progress: bool = False,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.input = input
        self.encoder = encoder
        self.hidden = hidden
        self.latent_dim = latent_dim
        self.channels = channels
        self.kernel_sizes = kernel_sizes
        self.strides = strides
        self.paddings = paddings
        self.noise = noise
        self.hidden_weight = hidden_weight
        self.reconstruction_weight = reconstruction_weight
        self.target = target
        self.prior = prior
        self.pretrain_epochs = pretrain_epochs
        self.init_epochs = init_epochs
        self.epochs = epochs
        self.tol = tol
        self.batch_size = batch_size
        self.lr = lr
        self.n_init = n_init
        self.progress = progress
        self.seed = seed
        self.device = device

    # -- validation ------------------------------------------------------------------
    @property
    def input_kind(self) -> str:
        """``"images"`` when asked for images, so that ``graphclust fit`` passes the
        images of an image dataset rather than its kNN graph."""
        return "images" if self.input == "images" else "graph"

    def fit(self, data: Any) -> DEPICT:
        """Train on a graph ``Data`` or on images (module docstring)."""
        super().fit(data)
        return self

    def _validate_input(self, data: Any) -> tuple[Any, int]:
        kind = one_of(self.input, "input", _CHOICES["input"])
        if kind == "auto":
            kind = "graph" if isinstance(data, Data) else "images"
        self._kind = kind
        if kind == "graph":
            return super()._validate_input(data)
        images = check_images(data, min_samples=2, name="data")
        check_n_clusters(self.n_clusters, images.shape[0])
        self._validate_params(None)
        return images, images.shape[0]

    def _validate_params(self, data: Data | None) -> None:
        super()._validate_params(data)
        if data is not None:  # check_graph skips n_clusters=None; DEPICT needs a K
            check_n_clusters(self.n_clusters, data.num_nodes)
        for name, choices in _CHOICES.items():
            one_of(getattr(self, name), name, choices)
        for name in ("batch_size", "n_init"):
            positive_int(getattr(self, name), name)
        for name in ("pretrain_epochs", "init_epochs", "epochs"):
            positive_int(getattr(self, name), name, minimum=0)
        optional_positive_int(self.latent_dim, "latent_dim")
        for name in ("lr", "tol"):
            positive_float(getattr(self, name), name)
        for name in ("hidden_weight", "reconstruction_weight"):
            non_negative_float(getattr(self, name), name)
        probability(self.noise, "noise", one=False)  # a dropout rate
        flag(self.progress, "progress")
        if not all(isinstance(h, int) and h >= 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive integer widths, got {self.hidden!r}")
        self._prior = self._checked_prior()

    def _checked_prior(self) -> torch.Tensor | None:
        if self.prior is None:
            return None
        if self.target != "depict":
            raise ValueError(
                "prior needs target='depict' (the paper's target); the code's 'dec' target "
                "has no cluster-size prior"
            )
        k = self.n_clusters
        try:
            u = torch.as_tensor(self.prior, dtype=torch.float64).flatten()
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"prior must be a sequence of {k} numbers, got {self.prior!r}"
            ) from error
        if u.numel() != k or not bool(torch.isfinite(u).all()) or bool((u <= 0).any()):
            raise ValueError(
                f"prior must give {k} (n_clusters) positive finite cluster-size proportions, "
                f"got {self.prior!r}"
            )
        if abs(float(u.sum()) - 1.0) > 1e-3:
            raise ValueError(f"prior must sum to 1, got {float(u.sum()):.6g}; divide it by its sum")
        return u

    # -- training --------------------------------------------------------------------
    def _fit(self, data: Any, device: torch.device) -> None:
        generator = torch.Generator().manual_seed(self.seed)
        if self._kind == "graph":
            x, edge_index = data.x.to(device), data.edge_index.to(device)
        else:
            x, edge_index = data.to(device), None
        net = self._build(x).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr)
        prior = None if self._prior is None else self._prior.to(device)

        for _ in range(self.pretrain_epochs):
            self.log(pretrain_loss=self._epoch(net, optimizer, x, edge_index, generator))
        z = self._embed(net, x, edge_index)
        start = fit_kmeans(z.double(), self.n_clusters, n_init=self.n_init, seed=self.seed)
        self.init_labels_ = start.labels.cpu()
        with torch.no_grad():
            net.head.weight.copy_(F.normalize(start.centroids.float(), dim=1).to(device))
            net.head.bias.zero_()
        hard = self.init_labels_.to(device)
        for _ in range(self.init_epochs):
            self.log(init_loss=self._epoch(net, optimizer, x, edge_index, generator, hard=hard))

        previous, self.converged_, self.n_epochs_ = None, False, 0
        for epoch in progress(range(self.epochs + 1), self.progress, "DEPICT"):
            with torch.no_grad():
                p = torch.softmax(net.head(self._embed(net, x, edge_index)), dim=1)
            q = depict_target(p, prior) if self.target == "depict" else dec_target(p)
            assigned = q.argmax(dim=1)
            if previous is not None:
                changed = float((assigned != previous).float().mean())
                self.log(changed=changed)
                if changed < self.tol:
                    self.converged_ = True
                    break
            if epoch == self.epochs:
                break
            previous = assigned
            self.log(loss=self._epoch(net, optimizer, x, edge_index, generator, soft=q))
            self.n_epochs_ = epoch + 1
        self._finish(net, x, edge_index, q)

    def _build(self, x: torch.Tensor) -> nn.Module:
        latent = self.latent_dim or self.n_clusters
        if self._kind == "images":
            # the code corrupts the input and every convolution but the last
            noise = (self.noise,) * len(self.channels) + (0.0,)
            ae = ConvDenoisingAutoencoder(
                tuple(x.shape[1:]),
                latent,
                self.channels,
                self.kernel_sizes,
                self.strides,
                self.paddings,
                dropout=noise,
            )
        else:
            cls = Autoencoder if self.encoder == "mlp" else GCNAutoencoder
            ae = FeatureDenoisingAutoencoder(cls(x.shape[1], self.hidden, latent), self.noise)
        net = nn.Module()
        net.autoencoder = ae
        net.head = nn.Linear(latent, self.n_clusters)
        return net

    def _noisy(self, net: nn.Module, x: torch.Tensor, edge_index: torch.Tensor | None):
        if self._kind == "images":
            return net.autoencoder.denoising_pass(x, self.hidden_weight)
        return net.autoencoder.denoising_pass(x, edge_index)

    @torch.no_grad()
    def _embed(self, net: nn.Module, x: torch.Tensor, edge_index: torch.Tensor | None):
        """Clean embeddings ``[N, d]``, in chunks where the encoder allows it."""
        ae = net.autoencoder
        if self._kind == "images":
            return torch.cat([ae.encode(chunk)[0] for chunk in x.split(1024)])
        if ae.needs_graph:
            return ae.encode(x, edge_index)
        return torch.cat([ae.encode(chunk) for chunk in x.split(8192)])

    def _epoch(
        self,
        net: nn.Module,
        optimizer: torch.optim.Optimizer,
        x: torch.Tensor,
        edge_index: torch.Tensor | None,
        generator: torch.Generator,
        hard: torch.Tensor | None = None,
        soft: torch.Tensor | None = None,
    ) -> float:
        """One pass: reconstruction, plus cross-entropy to ``hard`` labels or
        ``KL(soft || P_noisy)``. Returns the mean loss."""
        n = x.shape[0]
        full_batch = self._kind == "graph" and net.autoencoder.needs_graph
        order = torch.randperm(n, generator=generator).to(x.device)
        total, steps = 0.0, math.ceil(n / self.batch_size)
        for step in range(steps):
            start = step * self.batch_size
            rows = order if full_batch else order[start : start + self.batch_size]
            if full_batch:
                z, rec = self._noisy(net, x, edge_index)
                z = z[rows]
            else:
                z, rec = self._noisy(net, x[rows], None)
            loss = self.reconstruction_weight * rec
            if hard is not None:
                loss = loss + F.cross_entropy(net.head(z), hard[rows])
            elif soft is not None:
                loss = loss + kl_clustering_loss(soft[rows], torch.softmax(net.head(z), dim=1))
            check_finite(loss, "DEPICT loss", step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        return total / steps

    @torch.no_grad()
    def _finish(self, net: nn.Module, x: torch.Tensor, edge_index, q: torch.Tensor) -> None:
        z = self._embed(net, x, edge_index)
        p = torch.softmax(net.head(z), dim=1)
        self.model_ = net.eval()
        self.target_ = q.cpu()
        self.embeddings_ = z
        found = renumber_clusters(p.argmax(dim=1).cpu(), p.cpu(), self.n_clusters, "DEPICT")
        self.labels_, self.cluster_ids_, self.soft_assignments_ = found
        self.n_clusters_ = int(found.cluster_ids.numel())


__all__ = ["DEPICT", "FeatureDenoisingAutoencoder"]
