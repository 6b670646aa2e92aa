"""Multi-crop augmentation for small grey images, batched on the training device.

SwAV's multi-crop takes 2 global crops (large scale) and ``V`` local crops (small scale,
lower resolution) of every image. Torchvision does this one PIL image at a time, which
dominates a CPU epoch on 16x16 digits; here every crop of a whole batch is one
``affine_grid`` + ``grid_sample`` call: each sample gets its own affine map (area scale,
aspect ratio, position, rotation), and the intensity changes are tensor ops. Only a few
numbers per image are drawn on the CPU; the per-pixel work (resampling, noise) runs on
the device of the images.

What suits small grey digits (and what does not):

- Random resized crops with a milder scale range than ImageNet's (a 16x16 digit cropped
  to 14% of its area is unreadable): global ``(0.5, 1.0)``, local ``(0.2, 0.5)``.
- Small rotations (+-15 degrees); no horizontal flip by default, since a mirrored 2 or 5
  is another glyph; no colour jitter (one channel): brightness/contrast instead, and
  Gaussian pixel noise.
- Zero padding outside the image, which is the digits' background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class CropSpec:
    """One kind of crop.

    Attributes:
        size: output side length in pixels (crops are square).
        scale: range of the crop's area as a fraction of the image area.
        ratio: range of the crop's aspect ratio (width / height), sampled log-uniformly.
    """

    size: int
    scale: tuple[float, float]
    ratio: tuple[float, float] = (3 / 4, 4 / 3)

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 2:
            raise ValueError(f"crop size must be an integer >= 2, got {self.size!r}")
        low, high = self.scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"crop scale must satisfy 0 < low <= high <= 1, got {self.scale}")
        low, high = self.ratio
        if not 0 < low <= high:
            raise ValueError(f"crop ratio must satisfy 0 < low <= high, got {self.ratio}")


class MultiCrop:
    """``n_global`` global and ``n_local`` local augmented crops of an image batch.

    Call it on ``[B, C, H, W]`` images (values in ``[0, 1]``) to get a list of
    ``n_global + n_local`` tensors: the global crops ``[B, C, g, g]`` first, then the
    local crops ``[B, C, l, l]`` (SwAV's order: codes come from the first ``n_global``).
    All random draws come from ``generator`` (on the CPU, so a seed gives the same crops
    on any device); the resampling runs on the device of the images.

    Args:
        global_size: side of the global crops (default: the image side).
        local_size: side of the local crops (default: about 0.6 of the image side).
        n_global: number of global crops (2 for SwAV; codes are computed from these).
        n_local: number of local crops ``V`` (0 disables multi-crop).
        global_scale, local_scale: area fraction ranges of the two kinds of crop.
        rotation: maximum absolute rotation in degrees.
        flip: probability of a horizontal flip (0 for digits).
        brightness: additive brightness change drawn from ``[-b, b]``.
        contrast: multiplicative contrast change drawn from ``[1 - c, 1 + c]``.
        noise: standard deviation of additive Gaussian pixel noise.
    """

    def __init__(
        self,
        global_size: int | None = None,
        local_size: int | None = None,
        n_global: int = 2,
        n_local: int = 4,
        global_scale: tuple[float, float] = (0.5, 1.0),
        local_scale: tuple[float, float] = (0.2, 0.5),
        rotation: float = 15.0,
        flip: float = 0.0,
        brightness: float = 0.2,
        contrast: float = 0.3,
        noise: float = 0.03,
    ) -> None:
        for name, value in (("n_global", n_global), ("n_local", n_local)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if n_global < 1:
            raise ValueError("n_global must be >= 1: the codes are computed from global crops")
        for name, value in (
            ("rotation", rotation),
            ("brightness", brightness),
            ("contrast", contrast),
            ("noise", noise),
        ):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        if not 0 <= flip <= 1:
            raise ValueError(f"flip is a probability in [0, 1], got {flip!r}")
        if contrast >= 1:
            raise ValueError(f"contrast must be < 1 (factor 1 - contrast > 0), got {contrast}")
        self.global_size = global_size
        self.local_size = local_size
        self.n_global = n_global
        self.n_local = n_local
        self.global_scale = tuple(global_scale)
        self.local_scale = tuple(local_scale)
        self.rotation = float(rotation)
        self.flip = float(flip)
        self.brightness = float(brightness)
        self.contrast = float(contrast)
        self.noise = float(noise)

    @property
    def n_views(self) -> int:
        """Number of crops returned per image."""
        return self.n_global + self.n_local

    def specs(self, image_size: int) -> list[CropSpec]:
        """The crop specs for images of side ``image_size``, global ones first."""
        g = self.global_size or image_size
        loc = self.local_size or max(2, round(0.6 * image_size))
        return [CropSpec(g, self.global_scale)] * self.n_global + [
            CropSpec(loc, self.local_scale)
        ] * self.n_local

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> list[torch.Tensor]:
        """Crops of ``images [B, C, H, W]``: a list of ``n_views`` tensors ``[B, C, s, s]``."""
        if images.dim() != 4:
            raise ValueError(f"images must be [B, C, H, W], got {tuple(images.shape)}")
        side = max(images.shape[-2:])
        return [augment(images, spec, self, generator) for spec in self.specs(side)]

    def __repr__(self) -> str:
        return (
            f"MultiCrop(n_global={self.n_global}, n_local={self.n_local}, "
            f"global_scale={self.global_scale}, local_scale={self.local_scale}, "
            f"rotation={self.rotation})"
        )


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def crop_affine(
    n: int,
    spec: CropSpec,
    rotation: float = 0.0,
    flip: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random affine maps ``[n, 2, 3]`` from output to input coordinates (``affine_grid``).

    In the normalised coordinates of ``affine_grid`` (``[-1, 1]`` across the image), a
    crop of relative width ``w`` and height ``h`` centred at ``(cx, cy)`` and rotated by
    ``a`` maps output ``(u, v)`` to ``R(a) diag(w, h) (u, v) + (cx, cy)``. The centre is
    drawn so that the (unrotated) crop stays inside the image.
    """
    area = _uniform(n, *spec.scale, generator)
    log_ratio = _uniform(n, math.log(spec.ratio[0]), math.log(spec.ratio[1]), generator)
    ratio = log_ratio.exp()
    w = (area * ratio).sqrt().clamp(max=1.0)
    h = (area / ratio).sqrt().clamp(max=1.0)
    cx = (1 - w) * (2 * torch.rand(n, generator=generator) - 1)
    cy = (1 - h) * (2 * torch.rand(n, generator=generator) - 1)
    angle = math.radians(rotation) * (2 * torch.rand(n, generator=generator) - 1)
    sign = torch.where(torch.rand(n, generator=generator) < flip, -1.0, 1.0)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.empty(n, 2, 3)
    theta[:, 0, 0] = cos * w * sign
    theta[:, 0, 1] = -sin * h
    theta[:, 1, 0] = sin * w * sign
    theta[:, 1, 1] = cos * h
    theta[:, 0, 2] = cx
    theta[:, 1, 2] = cy
    return theta


def augment(
    images: torch.Tensor,
    spec: CropSpec,
    crop: MultiCrop,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One augmented crop of every image: ``[B, C, H, W] -> [B, C, spec.size, spec.size]``."""
    b, c = images.shape[:2]
    theta = crop_affine(b, spec, crop.rotation, crop.flip, generator).to(images.device)
    grid = F.affine_grid(theta.to(images.dtype), [b, c, spec.size, spec.size], align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    shape = (b, 1, 1, 1)
    gain = _uniform(b, 1 - crop.contrast, 1 + crop.contrast, generator).view(shape)
    shift = _uniform(b, -crop.brightness, crop.brightness, generator).view(shape)
    out = out * gain.to(out) + shift.to(out)
    if crop.noise > 0:
        out = out + crop.noise * pixel_noise(out, generator)
    return out.clamp_(0.0, 1.0)


def pixel_noise(like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal noise shaped and placed like ``like``, determined by ``generator``.

    On the CPU it is drawn from ``generator`` itself. On an accelerator, drawing
    ``B x C x s x s`` values on the CPU and copying them over would be the one per-pixel
    CPU cost of a batch, so the noise is drawn on the device from a device generator
    seeded by one draw of ``generator``: still a function of the seed and the
    checkpointed CPU generator (so a resumed run draws the same noise), but not the same
    values as on the CPU.
    """
    if like.device.type == "cpu":
        return torch.randn(like.shape, generator=generator, dtype=like.dtype)
    if generator is None:
        return torch.randn(like.shape, device=like.device, dtype=like.dtype)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    device_gen = torch.Generator(device=like.device).manual_seed(seed)
    return torch.randn(like.shape, generator=device_gen, device=like.device, dtype=like.dtype)


__all__ = ["CropSpec", "MultiCrop", "augment", "crop_affine", "pixel_noise"]
