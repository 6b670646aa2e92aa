"""Multi-crop augmentation: shapes, seeding, and the resampling against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import map_coordinates

from graphclust.adapters.augment import CropSpec, MultiCrop, augment, crop_affine, pixel_noise
from tests.markers import requires_cuda


def _plain(**kw) -> MultiCrop:
    """A MultiCrop with every intensity change off, so only the geometry acts."""
    return MultiCrop(brightness=0.0, contrast=0.0, noise=0.0, **kw)


def test_views_shapes_and_order() -> None:
    """Reference: one ``augment`` call per view from the same generator, the global crops
    (image side, area 0.5-1) first, then the local ones (6 px, area 0.2-0.5)."""
    images = torch.rand(5, 1, 16, 16)
    crops = MultiCrop(n_global=2, n_local=3, local_size=6)
    views = crops(images, torch.Generator().manual_seed(0))
    assert crops.n_views == 5 and len(views) == 5
    assert [tuple(v.shape) for v in views] == [(5, 1, 16, 16)] * 2 + [(5, 1, 6, 6)] * 3
    assert all(float(v.min()) >= 0 and float(v.max()) <= 1 for v in views)
    gen = torch.Generator().manual_seed(0)
    specs = [CropSpec(16, (0.5, 1.0))] * 2 + [CropSpec(6, (0.2, 0.5))] * 3
    for view, spec in zip(views, specs, strict=True):
        torch.testing.assert_close(view, augment(images, spec, crops, gen))


def test_same_seed_same_crops_and_other_seed_differs() -> None:
    images = torch.rand(4, 1, 12, 12)
    crops = MultiCrop(n_local=2)
    a = crops(images, torch.Generator().manual_seed(3))
    b = crops(images, torch.Generator().manual_seed(3))
    c = crops(images, torch.Generator().manual_seed(4))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_full_crop_without_rotation_is_the_identity() -> None:
    images = torch.rand(3, 1, 10, 10)
    crops = _plain(n_local=0, global_scale=(1.0, 1.0), rotation=0.0)
    spec = CropSpec(10, (1.0, 1.0), ratio=(1.0, 1.0))
    out = augment(images, spec, crops, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, images, atol=1e-6, rtol=0)


def test_crop_matches_scipy_bilinear_resampling() -> None:
    """Reference: map each output pixel centre through the sampled affine map by hand and
    interpolate the input with scipy's order-1 map_coordinates (zeros outside)."""
    gen_seed = 7
    images = torch.rand(4, 1, 16, 16, dtype=torch.float64)
    crops = _plain(rotation=20.0)
    spec = CropSpec(9, (0.2, 0.6))
    out = augment(images, spec, crops, torch.Generator().manual_seed(gen_seed))
    theta = crop_affine(4, spec, 20.0, 0.0, torch.Generator().manual_seed(gen_seed)).double()
    side_in, side_out = 16, 9
    u = (2 * np.arange(side_out) + 1) / side_out - 1  # output pixel centres, normalised
    uu, vv = np.meshgrid(u, u)  # uu varies along columns (x), vv along rows (y)
    for b in range(4):
        t = theta[b].numpy()
        x = t[0, 0] * uu + t[0, 1] * vv + t[0, 2]
        y = t[1, 0] * uu + t[1, 1] * vv + t[1, 2]
        col = ((x + 1) * side_in - 1) / 2  # back to pixel coordinates (align_corners=False)
        row = ((y + 1) * side_in - 1) / 2
        expected = map_coordinates(images[b, 0].numpy(), [row, col], order=1, mode="grid-constant")
        np.testing.assert_allclose(out[b, 0].numpy(), np.clip(expected, 0, 1), atol=1e-6)


def test_crop_affine_keeps_crops_inside_and_area_in_range() -> None:
    spec = CropSpec(8, (0.2, 0.5), ratio=(1.0, 1.0))
    theta = crop_affine(2000, spec, 0.0, 0.0, torch.Generator().manual_seed(0))
    w, h = theta[:, 0, 0], theta[:, 1, 1]
    area = w * h  # relative width times relative height = area fraction
    assert float(area.min()) >= 0.2 - 1e-6 and float(area.max()) <= 0.5 + 1e-6
    assert bool((theta[:, 0, 2].abs() <= 1 - w + 1e-6).all())
    assert bool((theta[:, 1, 2].abs() <= 1 - h + 1e-6).all())


def test_flip_probability_one_mirrors_a_full_crop() -> None:
    images = torch.rand(2, 1, 8, 8)
    crops = MultiCrop(brightness=0.0, contrast=0.0, noise=0.0, rotation=0.0, flip=1.0)
    out = augment(images, CropSpec(8, (1.0, 1.0), (1.0, 1.0)), crops, torch.Generator())
    torch.testing.assert_close(out, images.flip(-1), atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_global": 0}, "n_global"),
        ({"n_local": -1}, "n_local"),
        ({"flip": 2.0}, "probability"),
        ({"contrast": 1.5}, "contrast"),
        ({"rotation": -1.0}, "rotation"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MultiCrop(**kwargs)


def test_bad_crop_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        CropSpec(8, (0.0, 0.5))
    with pytest.raises(ValueError, match="size"):
        CropSpec(1, (0.2, 0.5))


def test_pixel_noise_on_the_cpu_is_the_generator_s_own_normal_draw() -> None:
    """Reference: ``torch.randn`` from an identically seeded generator (the CPU path keeps
    the noise a plain function of the seed, as before device-side noise existed)."""
    like = torch.zeros(3, 1, 5, 5)
    got = pixel_noise(like, torch.Generator().manual_seed(7))
    expected = torch.randn(3, 1, 5, 5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(got, expected)


@requires_cuda
def test_pixel_noise_on_cuda_is_drawn_there_and_seeded() -> None:
    like = torch.zeros(64, 1, 8, 8, device="cuda")
    a = pixel_noise(like, torch.Generator().manual_seed(1))
    b = pixel_noise(like, torch.Generator().manual_seed(1))
    assert a.device.type == "cuda" and torch.equal(a, b)
    assert abs(float(a.std()) - 1.0) < 0.05
