"""load_images: the data layer's flattened pixels reshaped to [N, 1, H, W]."""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_digits

from graphclust.adapters.image_data import ImageSet, image_datasets, load_images


def test_digits_match_scikit_learn_pixels() -> None:
    images = load_images("digits")
    reference = load_digits()
    assert isinstance(images, ImageSet) and images.name == "digits"
    assert images.images.shape == (1797, 1, 8, 8) and len(images) == 1797
    # scikit-learn's pixels are 0..16; the loader scales them to [0, 1]
    expected = torch.from_numpy(reference.images).float() / 16.0
    assert torch.allclose(images.images[:, 0], expected, atol=1e-6)
    image, label = images[5]
    assert image.shape == (1, 8, 8) and label == int(reference.target[5])


def test_unknown_names_are_refused_with_the_choices() -> None:
    assert image_datasets() == ["digits", "mnist-test", "usps"]
    with pytest.raises(ValueError, match="choose one of"):
        load_images("cifar10")
    assert load_images("DIGITS").name == "digits"  # names are normalised
