"""SmallResNet and the projection head."""

from __future__ import annotations

import pytest
import torch

from graphclust.nn.cnn import BasicBlock, ProjectionHead, SmallResNet


@pytest.mark.parametrize("side", [4, 8, 16, 28])
def test_any_input_size_gives_one_vector_per_image(side: int) -> None:
    net = SmallResNet(in_channels=1, width=4)
    assert net(torch.rand(3, 1, side, side)).shape == (3, 16)


def test_stages_halve_the_resolution_twice() -> None:
    net = SmallResNet(width=4, blocks=(2, 1, 1))
    x = net.stem(torch.rand(2, 1, 16, 16))
    assert net.stages(x).shape == (2, 16, 4, 4)
    assert len(net.stages) == 4


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
    head = ProjectionHead(16, 32, 8)
    h = torch.rand(5, 16, requires_grad=True)
    out = head(h)
    assert out.shape == (5, 8)
    out.sum().backward()
    assert h.grad is not None and bool(torch.isfinite(h.grad).all())
