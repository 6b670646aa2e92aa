"""SIGMA estimator: contract, loss and prototype detachment against hand formulas, resume."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphclust.adapters import moving_digits, to_tubes, tube_grid, tube_mask
from graphclust.adapters.video import TubeBatch, normalize_tubes, split_positions
from graphclust.assign import sinkhorn
from graphclust.methods.base import NotFittedError
from graphclust.methods.sigma import SIGMA, SIGMANet
from graphclust.nn.vit import gather_tokens
from graphclust.training import Checkpointer
from tests.markers import requires_cuda

TINY = dict(
    tube_size=(2, 4),
    dim=16,
    depth=1,
    heads=2,
    decoder_dim=16,
    feature_dim=8,
    n_prototypes=6,
    epochs=2,
    batch_size=8,
    progress=False,
    kmeans_n_init=2,
    device="cpu",
)


def _clips(n: int = 24, seed: int = 0) -> torch.Tensor:
    glyphs = torch.zeros(2, 1, 4, 4)
    glyphs[0, 0, 1:3, :] = 1.0
    glyphs[1, 0, :, 1:3] = 1.0
    data = moving_digits(
        glyphs, torch.tensor([0, 1]), n_clips=n, n_frames=4, frame_size=8, speed=1.0, seed=seed
    )
    return data.clips


@pytest.mark.parametrize("target", ["sigma", "pixels"])
def test_fit_sets_the_fitted_attributes(target: str) -> None:
    clips = _clips()
    model = SIGMA(n_clusters=3, target=target, **TINY).fit(clips)
    assert model.labels_.shape == (24,) and int(model.labels_.max()) < 3
    assert model.embeddings_.shape == (24, 16)
    assert len(model.history_["loss"]) == 2
    assert model.transform(_clips(5, seed=1)).shape == (5, 16)
    if target == "sigma":
        assert 0 < model.history_["prototypes_used"][-1] <= 1
    else:
        assert "mse" in model.history_


def test_soft_codes_and_same_seed_same_result() -> None:
    a = SIGMA(n_clusters=2, codes="soft", **TINY).fit(_clips())
    b = SIGMA(n_clusters=2, codes="soft", **TINY).fit(_clips())
    assert torch.equal(a.embeddings_, b.embeddings_)


def _net_and_batch(seed: int = 0):
    torch.manual_seed(seed)
    clips = _clips(8)
    grid = tube_grid(tuple(clips.shape[1:]), (2, 4))
    net = SIGMANet(2 * 16, grid.n_tubes, "sigma", 16, 1, 2, 16, 1, 8, 6)
    tokens = to_tubes(clips, (2, 4))
    mask = tube_mask(8, grid, 0.5, torch.Generator().manual_seed(seed))
    batch = TubeBatch(torch.arange(8), tokens, mask, *split_positions(mask))
    return net, batch


@pytest.mark.parametrize("codes", ["hard", "soft"])
def test_loss_is_the_symmetric_cross_entropy_sum(codes: str) -> None:
    """Reference: CE(q_Psi, p_phi) + CE(q_phi, p_Psi), written out from the branch outputs."""
    net, batch = _net_and_batch()
    model = SIGMA(codes=codes, temperature=0.1, epsilon=0.05, sinkhorn_iters=10)
    got = model._step(net, batch)["loss"]

    tokens, mask = batch.tokens, batch.mask
    b, n_tubes = mask.shape
    positions = torch.arange(n_tubes).expand(b, -1)
    visible, masked = positions[~mask].view(b, -1), positions[mask].view(b, -1)
    x_psi = net.decoder(net.encoder(tokens, visible), visible, masked).reshape(-1, 8)
    x_phi = net.projector(normalize_tubes(gather_tokens(tokens, masked)).reshape(-1, 32))
    protos = F.normalize(net.prototypes.heads[0].weight, dim=1)
    s_psi, s_phi = F.normalize(x_psi, dim=1) @ protos.t(), F.normalize(x_phi, dim=1) @ protos.t()
    hard = codes == "hard"
    q_psi = sinkhorn(s_psi, 0.05, 10, hard=hard)
    q_phi = sinkhorn(s_phi, 0.05, 10, hard=hard)
    expected = (
        -(q_psi * F.log_softmax(s_phi / 0.1, 1)).sum(1).mean()
        - (q_phi * F.log_softmax(s_psi / 0.1, 1)).sum(1).mean()
    )
    torch.testing.assert_close(got, expected)
    if hard:
        assert set(q_psi.unique().tolist()) <= {0.0, 1.0}


def test_prototypes_learn_from_the_projection_branch_only() -> None:
    """With the video branch's prototypes detached, the prototype gradient equals that of
    the phi-branch term CE(code(Psi), softmax(s_phi / tau)) alone."""
    net, batch = _net_and_batch(1)
    model = SIGMA(codes="soft")
    model._step(net, batch)["loss"].backward()
    got = net.prototypes.heads[0].weight.grad.clone()

    net.zero_grad()
    tokens, mask = batch.tokens, batch.mask
    b, n_tubes = mask.shape
    positions = torch.arange(n_tubes).expand(b, -1)
    visible, masked = positions[~mask].view(b, -1), positions[mask].view(b, -1)
    with torch.no_grad():
        x_psi = net.decoder(net.encoder(tokens, visible), visible, masked).reshape(-1, 8)
    x_phi = net.projector(normalize_tubes(gather_tokens(tokens, masked)).reshape(-1, 32))
    w = net.prototypes.heads[0].weight
    q_psi = sinkhorn(F.normalize(x_psi, dim=1) @ w.detach().t(), 0.05, 10)
    s_phi = F.normalize(x_phi, dim=1) @ w.t()
    (-(q_psi * F.log_softmax(s_phi / 0.1, 1)).sum(1).mean()).backward()
    torch.testing.assert_close(got, w.grad)


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path, monkeypatch) -> None:
    clips = _clips()
    params = dict(n_clusters=2, **{**TINY, "epochs": 3})
    full = SIGMA(**params).fit(clips)
    path = tmp_path / "sigma.pt"
    original = Checkpointer.maybe_save

    def save_then_stop(self, epoch, *args, **kwargs):
        written = original(self, epoch, *args, **kwargs)
        if epoch == 2:
            raise KeyboardInterrupt
        return written

    monkeypatch.setattr(Checkpointer, "maybe_save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        SIGMA(checkpoint=str(path), **params).fit(clips)
    monkeypatch.setattr(Checkpointer, "maybe_save", original)
    resumed = SIGMA(checkpoint=str(path), **params).fit(clips)
    torch.testing.assert_close(resumed.embeddings_, full.embeddings_)
    assert resumed.history_["loss"] == pytest.approx(full.history_["loss"])


def test_input_and_parameter_errors() -> None:
    clips = _clips()
    with pytest.raises(ValueError, match="divide"):
        SIGMA(**{**TINY, "tube_size": (3, 4)}).fit(clips)
    with pytest.raises(ValueError, match="target"):
        SIGMA(target="flow", **TINY).fit(clips)
    with pytest.raises(ValueError, match="codes"):
        SIGMA(codes="argmax", **TINY).fit(clips)
    with pytest.raises(ValueError, match=r"\[N, T, C, H, W\]"):
        SIGMA(**TINY).fit(torch.rand(10, 8, 8))
    with pytest.raises(NotFittedError):
        SIGMA().transform(clips)
    model = SIGMA(n_clusters=2, **TINY).fit(clips)
    with pytest.raises(ValueError, match="training shape"):
        model.transform(torch.rand(3, 4, 1, 16, 16))


def test_a_tube_as_large_as_the_frame_is_refused_by_name() -> None:
    """Tube masking hides some spatial positions and shows the others: with p = H = W
    there is one position, so no batch has a tube to predict (it used to fail inside
    Sinkhorn on a (0, n_prototypes) score matrix). Refused at fit, naming tube_size;
    two positions (p = H, W = 2p) are enough to train."""
    clips = torch.rand(8, 2, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    for batch_size in (1, 8):
        with pytest.raises(ValueError, match=r"tube_size=\(2, 4\).* 1 spatial position"):
            SIGMA(n_clusters=2, **{**TINY, "batch_size": batch_size}).fit(clips)
    wide = torch.rand(8, 2, 1, 4, 8, generator=torch.Generator().manual_seed(0))
    model = SIGMA(n_clusters=2, **{**TINY, "batch_size": 1}).fit(wide)
    assert len(model.history_["loss"]) == TINY["epochs"]
    assert sorted(model.labels_.unique().tolist()) == [0, 1]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tube_size": 4}, "tube_size must be two positive integers"),
        ({"mask_ratio": 1.0}, "mask_ratio"),
        ({"heads": 3}, "dim=16 must be a multiple of heads=3"),
        ({"temperature": 0}, "temperature"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"warmup_epochs": -1}, "warmup_epochs"),
        ({"kmeans_n_init": 0}, "kmeans_n_init"),
        ({"progress": "yes"}, "progress"),
    ],
)
def test_bad_parameters_are_refused_at_fit(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SIGMA(n_clusters=2, **{**TINY, **params}).fit(_clips(8))


@requires_cuda
def test_fits_on_cuda() -> None:
    model = SIGMA(n_clusters=2, **{**TINY, "device": "cuda"}).fit(_clips())
    assert model.embeddings_.device.type == "cpu"
