"""DEPICT's denoising convolutional autoencoder with layer-wise reconstruction.

The architecture of the released DEPICT code for USPS and MNIST (Dizaji et al., ICCV
2017): two strided convolutions with leaky ReLU, a dense ``tanh`` bottleneck, and the
mirror image with transposed convolutions (output ``tanh``). Two paths share the
weights:

- the *clean* path (no noise) gives the embedding ``z`` and every hidden activation;
- the *noisy* path drops a fraction of the input and of each hidden activation
  (dropout as corruption, rescaled by ``1 / (1 - p)``) and is decoded.

The reconstruction loss compares every decoder layer with the matching *clean* encoder
layer (a ladder-style loss): ``|x - x_hat|^2`` plus ``hidden_weight`` times the same
for each hidden layer (0.1 in the code), each a mean over its elements. The clean
activations are detached targets here: with gradients through both sides a hidden
term could shrink by scaling that layer down, which lowers the loss without teaching
the decoder anything.

Pixels stay in ``[0, 1]`` (background 0). The code scales them to ``[-1, 1]``; with
that scaling the constant background feeds the 2,450-wide bottleneck of MNIST the same
large input for every image, and its ``tanh`` saturated within the first epoch
(measured on 2,000 MNIST-test images: the embeddings' spread over images fell to 0 at
Adam lr 1e-3, 3e-4 and 1e-4 alike, k-means then finds one cluster; in ``[0, 1]`` the
spread grew to 0.49 in 5 epochs and k-means reached ACC 0.53).

Input side: any ``H, W`` that survive the strided convolutions; the transposed
convolutions get the ``output_padding`` that gives back the encoder's exact sizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class ConvDenoisingAutoencoder(nn.Module):
    """Convolutional denoising autoencoder ``[B, C, H, W] -> [B, d]`` and back.

    Args:
        in_shape: ``(C, H, W)`` of the images (pixels in ``[0, 1]``).
        latent_dim: embedding size ``d`` (DEPICT: the number of clusters).
        channels: output channels of the convolutions (DEPICT: ``(50, 50)``).
        kernel_sizes, strides, paddings: per convolution (DEPICT on USPS / MNIST:
            ``(4, 5)``, ``(2, 2)``, ``(0, 2)``).
        dropout: corruption rates of the noisy path: input, then after each
            convolution (DEPICT: ``(0.1, 0.1, 0.0)``); one more entry than ``channels``.
        negative_slope: of the leaky ReLUs (0.01).
    """

    needs_graph = False

    def __init__(
        self,
        in_shape: Sequence[int],
        latent_dim: int,
        channels: Sequence[int] = (50, 50),
        kernel_sizes: Sequence[int] = (4, 5),
        strides: Sequence[int] = (2, 2),
        paddings: Sequence[int] = (0, 2),
        dropout: Sequence[float] = (0.1, 0.1, 0.0),
        negative_slope: float = 0.01,
    ) -> None:
        super().__init__()
        in_shape = tuple(int(s) for s in in_shape)
        if len(in_shape) != 3 or min(in_shape) < 1:
            raise ValueError(f"in_shape must be (C, H, W) with positive sizes, got {in_shape}")
        n = len(channels)
        if n < 1 or not len(kernel_sizes) == len(strides) == len(paddings) == n:
            raise ValueError(
                "channels, kernel_sizes, strides and paddings must have the same length >= 1, "
                f"got {len(channels)}, {len(kernel_sizes)}, {len(strides)}, {len(paddings)}"
            )
        if len(dropout) != n + 1 or not all(0.0 <= float(p) < 1.0 for p in dropout):
            raise ValueError(
                f"dropout must give {n + 1} rates in [0, 1) (input, then after each "
                f"convolution), got {tuple(dropout)}"
            )
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        self.in_shape = in_shape
        self.dropout = tuple(float(p) for p in dropout)
        self.negative_slope = float(negative_slope)
        # Spatial sizes after each convolution, to undo them exactly in the decoder.
        sizes = [in_shape[1:]]
        for k, s, p in zip(kernel_sizes, strides, paddings, strict=True):
            h, w = sizes[-1]
            out = (_conv_out(h, k, s, p), _conv_out(w, k, s, p))
            if min(out) < 1:
                raise ValueError(
                    f"images of side {in_shape[1:]} are too small for kernels {tuple(kernel_sizes)}"
                    f" with strides {tuple(strides)}; use smaller kernels or larger images"
                )
            sizes.append(out)
        widths = [in_shape[0], *[int(c) for c in channels]]
        self.convs = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], kernel_sizes[i], strides[i], paddings[i])
            for i in range(n)
        )
        self._flat_shape = (widths[-1], *sizes[-1])
        flat = widths[-1] * sizes[-1][0] * sizes[-1][1]
        self.bottleneck = nn.Linear(flat, latent_dim)
        self.expand = nn.Linear(latent_dim, flat)
        deconvs = []
        for i in reversed(range(n)):
            k, s, p = kernel_sizes[i], strides[i], paddings[i]
            target, source = sizes[i], sizes[i + 1]
            # output_padding: the rows a strided convolution floored away
            extra = tuple(
                t - ((a - 1) * s - 2 * p + k) for t, a in zip(target, source, strict=True)
            )
            deconvs.append(
                nn.ConvTranspose2d(widths[i + 1], widths[i], k, s, p, output_padding=extra)
            )
        self.deconvs = nn.ModuleList(deconvs)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)  # lasagne's GlorotUniform
                nn.init.zeros_(module.bias)

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def encode(
        self, x: torch.Tensor, noisy: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Embedding ``[B, d]`` and the hidden activations ``[B, c_l, h_l, w_l]``.

        ``x`` is ``[B, C, H, W]`` in ``[0, 1]``; the returned list starts with the
        input itself, then one entry per convolution. ``noisy=True`` is the
        corrupted path (dropout on the input and hidden layers, whatever the module's
        train/eval mode); ``False`` is the clean path.
        """
        if x.dim() != 4 or tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"expected images [B, {self.in_shape}], got {tuple(x.shape)}")
        h = x  # not scaled to [-1, 1] as in the code: see the module docstring
        hidden = [h]
        if noisy:
            h = F.dropout(h, self.dropout[0], training=True)
        for i, conv in enumerate(self.convs):
            h = self._act(conv(h))
            if noisy:
                h = F.dropout(h, self.dropout[i + 1], training=True)
            hidden.append(h)
        z = torch.tanh(self.bottleneck(h.flatten(1)))
        return z, hidden

    def decode(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Reconstructions of the encoder layers, input first (same order as ``hidden``)."""
        h = self._act(self.expand(z)).view(-1, *self._flat_shape)
        out = [h]
        last = len(self.deconvs) - 1
        for i, deconv in enumerate(self.deconvs):
            h = deconv(h)
            h = torch.tanh(h) if i == last else self._act(h)
            out.append(h)
        return out[::-1]

    def denoising_pass(
        self, x: torch.Tensor, hidden_weight: float = 0.1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One noisy pass: the noisy embedding ``[B, d]`` and the reconstruction loss.

        The loss is ``mse(x_hat, x) + hidden_weight * sum_l mse(h_hat_l, h_l)`` against
        the clean path's activations (detached; module docstring).
        """
        with torch.no_grad():
            _, clean = self.encode(x, noisy=False)
        z, _ = self.encode(x, noisy=True)
        recon = self.decode(z)
        loss = F.mse_loss(recon[0], clean[0])
        for rec, target in zip(recon[1:], clean[1:], strict=True):
            loss = loss + hidden_weight * F.mse_loss(rec, target)
        return z, loss


__all__ = ["ConvDenoisingAutoencoder"]
