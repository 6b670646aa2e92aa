"""ConvDenoisingAutoencoder: exact shapes back, the layer-wise loss by a dense formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphclust.nn.conv_ae import ConvDenoisingAutoencoder


@pytest.mark.parametrize("shape", [(1, 16, 16), (1, 28, 28), (3, 15, 17)])
def test_decoder_gives_back_every_encoder_shape(shape: tuple[int, int, int]) -> None:
    """Reference: each transposed convolution is the adjoint of the encoder convolution it
    mirrors (same kernel, stride, padding, at that layer's exact size): its output, less
    the bias, equals the vector-Jacobian product of ``F.conv2d`` with its weight."""
    torch.manual_seed(0)
    ae = ConvDenoisingAutoencoder(shape, latent_dim=10)
    x = torch.rand(2, *shape)
    z, hidden = ae.encode(x)
    assert z.shape == (2, 10) and bool((z.abs() <= 1).all())  # tanh bottleneck
    recon = ae.decode(z)
    assert [r.shape for r in recon] == [h.shape for h in hidden]
    assert torch.equal(hidden[0], x)
    assert bool((recon[0].abs() <= 1).all())  # tanh output
    for conv, deconv, below in zip(ae.convs, reversed(ae.deconvs), hidden[:-1], strict=True):
        target = torch.zeros_like(below, requires_grad=True)
        y = torch.randn_like(conv(below))
        (adjoint,) = torch.autograd.grad(
            F.conv2d(target, deconv.weight, None, conv.stride, conv.padding), target, y
        )
        expected = adjoint + deconv.bias.view(1, -1, 1, 1)
        torch.testing.assert_close(deconv(y), expected)


def test_depict_sizes_on_usps_and_mnist() -> None:
    """The released code's layer sizes: 16 -> 7 -> 4 (USPS) and 28 -> 13 -> 7 (MNIST).

    Reference: its layers written out with the released kernels, strides and paddings
    ((4, 2, 0) then (5, 2, 2)), leaky ReLU 0.01, and a tanh dense bottleneck."""
    torch.manual_seed(0)
    for side, sizes in ((16, (7, 4)), (28, (13, 7))):
        ae = ConvDenoisingAutoencoder((1, side, side), 10)
        x = torch.rand(3, 1, side, side)
        z, hidden = ae.encode(x)
        assert tuple(h.shape[-1] for h in hidden[1:]) == sizes
        assert hidden[1].shape[1] == 50 and hidden[2].shape[1] == 50
        h = x
        released = ((2, 0), (2, 2))  # (stride, padding) per convolution
        for conv, (stride, padding), got in zip(ae.convs, released, hidden[1:], strict=True):
            h = F.leaky_relu(F.conv2d(h, conv.weight, conv.bias, stride, padding), 0.01)
            torch.testing.assert_close(got, h)
        assert ae.bottleneck.weight.shape == (10, 50 * sizes[1] ** 2)
        torch.testing.assert_close(z, torch.tanh(ae.bottleneck(h.flatten(1))))


def test_layerwise_loss_matches_dense_formula_without_noise() -> None:
    torch.manual_seed(0)
    ae = ConvDenoisingAutoencoder((1, 16, 16), 4, dropout=(0.0, 0.0, 0.0))
    x = torch.rand(5, 1, 16, 16)
    z, loss = ae.denoising_pass(x, hidden_weight=0.1)
    z_clean, hidden = ae.encode(x)
    torch.testing.assert_close(z, z_clean)  # no corruption: the two paths agree
    recon = ae.decode(z_clean)
    expected = F.mse_loss(recon[0], x)
    expected = expected + 0.1 * sum(
        F.mse_loss(r, h) for r, h in zip(recon[1:], hidden[1:], strict=True)
    )
    torch.testing.assert_close(loss, expected)


def test_noise_corrupts_and_targets_are_detached() -> None:
    torch.manual_seed(0)
    ae = ConvDenoisingAutoencoder((1, 16, 16), 4, dropout=(0.5, 0.5, 0.0))
    x = torch.rand(4, 1, 16, 16)
    z_noisy, loss = ae.denoising_pass(x)
    assert not torch.allclose(z_noisy, ae.encode(x)[0])
    loss.backward()
    # the hidden targets carry no gradient: only the noisy path and decoder train
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in ae.parameters())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_shape": (1, 16)}, "in_shape"),
        ({"channels": (50,)}, "same length"),
        ({"dropout": (0.1, 0.1)}, "dropout"),
        ({"dropout": (0.1, 1.0, 0.0)}, "dropout"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"in_shape": (1, 3, 3)}, "too small"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"in_shape": (1, 16, 16), "latent_dim": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        ConvDenoisingAutoencoder(**args)
