"""GAT encoder/decoder: shapes, and the decoder's factorised last layer against a plain
GATConv(hidden, D) holding the same function."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.nn import GATConv
from torch_geometric.utils import to_undirected

from graphclust.nn.gat import GAT, GATDecoder, gat_encoder


def _graph(n: int = 12, e: int = 30, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, n, (2, e), generator=g)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    return to_undirected(edge_index, num_nodes=n)


def test_encoder_shapes_and_activation() -> None:
    """Invariances of a 2-layer message-passing encoder: relabelling the nodes permutes
    the rows (equivariance), and a node's embedding depends on nodes within 2 hops only
    (and does depend on those, through attention)."""
    torch.manual_seed(0)
    encoder = gat_encoder(7, hidden=8, heads=2).eval()
    x, edge_index = torch.randn(12, 7), _graph()
    with torch.no_grad():
        h = encoder(x, edge_index)
        assert h.shape == (12, 8)
        assert isinstance(encoder.acts[-1], torch.nn.PReLU)  # the embedding is activated
        perm = torch.randperm(12, generator=torch.Generator().manual_seed(1))
        new_id = torch.empty_like(perm)
        new_id[perm] = torch.arange(12)  # node perm[i] becomes node i
        torch.testing.assert_close(encoder(x[perm], new_id[edge_index]), h[perm])
        path = to_undirected(torch.stack([torch.arange(11), torch.arange(1, 12)]))
        moved = x.clone()
        moved[5] += 5.0
        changed = (encoder(moved, path) - encoder(x, path)).abs().amax(dim=1) > 1e-6
    assert changed.nonzero().flatten().tolist() == [3, 4, 5, 6, 7]  # the 2-hop ball of 5


def test_gat_rejects_bad_widths() -> None:
    try:
        GAT(4, hidden=6, out_channels=6, heads=4)
    except ValueError as err:
        assert "multiple of heads" in str(err)
    else:
        raise AssertionError("hidden=6 with heads=4 must be refused")


HIDDEN, D = 6, 11


def _decoder_case(
    num_layers: int, factorized: bool
) -> tuple[GATDecoder, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A dropout-free decoder, a graph, its input h [12, HIDDEN] and the input of its
    last GAT layer (h itself with one layer, the hidden layer's output with two)."""
    torch.manual_seed(0)
    decoder = GATDecoder(
        HIDDEN,
        D,
        heads=2,
        feat_dropout=0.0,
        attn_dropout=0.0,
        num_layers=num_layers,
        factorized=factorized,
    ).eval()
    assert len(decoder.gat.convs) == num_layers
    edge_index, h = _graph(), torch.randn(12, HIDDEN)
    inner = h
    if num_layers == 2:
        inner = decoder.gat.acts[0](decoder.gat.convs[0](h, edge_index))
    return decoder, edge_index, h, inner


@pytest.mark.parametrize("num_layers", [1, 2])
def test_decoder_last_layer_equals_gatconv_to_d(num_layers: int) -> None:
    """W2 (sum_j a_ij W1 h_j + b1) + b2 is GATConv(hidden, D) with W = W2 W1, attention
    vectors a with W2^T a = a1, and bias W2 b1 + b2: same outputs, at either depth."""
    decoder, edge_index, h, inner = _decoder_case(num_layers, factorized=True)
    hidden, d = HIDDEN, D
    expected = decoder(h, edge_index)

    last, project = decoder.gat.convs[-1], decoder.project
    w1, w2 = last.lin.weight.detach(), project.weight.detach()  # [h, h], [D, h]
    plain = GATConv(hidden, d, heads=1).eval()
    with torch.no_grad():
        plain.lin.weight.copy_(w2 @ w1)
        # least-norm a with W2^T a = a1 (W2 has full column rank: D > hidden)
        for name in ("att_src", "att_dst"):
            a1 = getattr(last, name).detach().reshape(hidden, 1)
            a = w2 @ torch.linalg.solve(w2.t() @ w2, a1)
            getattr(plain, name).copy_(a.reshape(1, 1, d))
        plain.bias.copy_(w2 @ last.bias.detach() + project.bias.detach())
    torch.testing.assert_close(plain(inner, edge_index), expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_plain_decoder_ends_in_a_gatconv_to_d(num_layers: int) -> None:
    """factorized=False is GraphMAE's form: the last layer is GATConv(hidden, D) itself,
    with no projection after it."""
    decoder, edge_index, h, inner = _decoder_case(num_layers, factorized=False)
    last = decoder.gat.convs[-1]
    assert (last.in_channels, last.out_channels, last.heads) == (HIDDEN, D, 1)
    torch.testing.assert_close(decoder(h, edge_index), last(inner, edge_index))


def test_decoder_rejects_other_depths() -> None:
    with pytest.raises(ValueError, match="1 or 2 layers"):
        GATDecoder(8, 5, heads=2, num_layers=3)


def test_decoder_output_has_no_activation() -> None:
    torch.manual_seed(1)
    decoder = GATDecoder(8, 5, heads=2).eval()
    z = decoder(torch.randn(12, 8), _graph())
    assert z.shape == (12, 5)
    assert bool((z < 0).any())  # a PReLU/ReLU output would be (mostly) non-negative
