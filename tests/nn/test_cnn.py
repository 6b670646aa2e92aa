"""SmallResNet and the projection head."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graphclust.nn.cnn import BasicBlock, ProjectionHead, SmallResNet


def _randomise_batch_norms(net: nn.Module, seed: int = 0) -> nn.Module:
    """Eval mode with random BatchNorm statistics and affine parameters (at their initial
    values a BatchNorm is nearly the identity, which would hide a missing one)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
    return net.eval()


def _reference_feature_map(net: SmallResNet, x: torch.Tensor, strides: list[int]) -> torch.Tensor:
    """The last stage's map written out with functional ops from the weights: the CIFAR
    ResNet layout of the module docstring (pixels centred by -0.5, 3x3 stem, ``strides``
    per block, a 1x1 projected shortcut where the shape changes), eval-mode BatchNorm."""

    def bn(m: nn.BatchNorm2d, h: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(h, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

    h = F.relu(bn(net.stem[1], F.conv2d(x - 0.5, net.stem[0].weight, padding=1)))
    assert len(strides) == len(net.stages)
    for block, stride in zip(net.stages, strides, strict=True):
        out = F.relu(bn(block.bn1, F.conv2d(h, block.conv1.weight, stride=stride, padding=1)))
        out = bn(block.bn2, F.conv2d(out, block.conv2.weight, padding=1))
        if stride != 1 or h.shape[1] != out.shape[1]:
            h = bn(block.shortcut[1], F.conv2d(h, block.shortcut[0].weight, stride=stride)) + out
        else:
            h = h + out
        h = F.relu(h)
    return h


@pytest.mark.parametrize("side", [4, 8, 16, 28])
def test_any_input_size_gives_one_vector_per_image(side: int) -> None:
    """Reference: the global average of the hand-written feature map, whatever the side."""
    torch.manual_seed(0)
    net = _randomise_batch_norms(SmallResNet(in_channels=1, width=4))
    x = torch.rand(3, 1, side, side)
    with torch.no_grad():
        out = net(x)
        expected = _reference_feature_map(net, x, [1, 2, 2]).mean(dim=(2, 3))
    assert out.shape == (3, 16)
    torch.testing.assert_close(out, expected)


def test_stages_halve_the_resolution_twice() -> None:
    """Reference: the hand-written map with stride 2 exactly in the first block of the
    second and third stage (two blocks in the second tell the first from the last)."""
    torch.manual_seed(0)
    net = _randomise_batch_norms(SmallResNet(width=4, blocks=(2, 2, 1)))
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        out = net.stages(net.stem(x - 0.5))
        expected = _reference_feature_map(net, x, [1, 1, 2, 1, 2])
    assert out.shape == (2, 16, 4, 4)
    assert len(net.stages) == 5
    torch.testing.assert_close(out, expected)


def test_block_shortcut_is_the_identity_when_shapes_match() -> None:
    block = BasicBlock(4, 4).eval()
    x = torch.rand(2, 4, 6, 6)
    with torch.no_grad():
        for p in (block.bn2.weight, block.bn2.bias):
            p.zero_()  # F(x) = 0, so the block is relu(x)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_wrong_channels_and_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]"):
        SmallResNet(in_channels=1)(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="blocks"):
        SmallResNet(blocks=(1, 1))
    with pytest.raises(ValueError, match="width"):
        SmallResNet(width=0)


def test_projection_head_shapes_and_gradients() -> None:
    """Reference: Linear, BatchNorm with the batch's mean and biased variance (train
    mode), ReLU, Linear, written out by hand; gradients against finite differences."""
    torch.manual_seed(0)
    head = ProjectionHead(16, 32, 8).double()
    with torch.no_grad():
        head.net[1].weight.uniform_(0.5, 1.5)
        head.net[1].bias.normal_()
    h = torch.rand(5, 16, dtype=torch.float64, requires_grad=True)
    out = head(h)
    assert out.shape == (5, 8)
    first, norm, _, last = head.net
    a = h @ first.weight.t() + first.bias
    a = (a - a.mean(0)) / torch.sqrt(a.var(0, unbiased=False) + norm.eps)
    expected = torch.relu(a * norm.weight + norm.bias) @ last.weight.t() + last.bias
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert h.grad is not None and bool(torch.isfinite(h.grad).all())
    assert torch.autograd.gradcheck(head, (h.detach().requires_grad_(True),))
