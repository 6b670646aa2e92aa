"""Data-parallel training on 2 gloo processes against one process on the same batches.

One spawn of two CPU processes (module fixture, imports are the slow part) runs every
distributed check; the single-process references run here. Tolerances: losses are
compared to a relative 1e-4 (float32 sums in another order: per-rank partial sums
reduced over the group), embeddings to an absolute 1e-3 after a few steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from graphclust.methods.pamc import PamC
from graphclust.methods.sigma import SIGMA
from graphclust.methods.swav import SwAV
from graphclust.metrics import ari
from graphclust.training import Checkpointer
from graphclust.utils.distributed import (
    all_reduce_mean,
    broadcast_tensors,
    check_same,
    gather_rows,
    resolve_group,
    shard,
    shard_batch,
)
from graphclust.utils.sync_batchnorm import GlooSyncBatchNorm, synced_batch_norm
from tests.assign.dist_utils import run_distributed
from tests.methods.test_pamc import FAST as PAMC_FAST
from tests.methods.test_pamc import _sbm
from tests.methods.test_sigma import TINY as SIGMA_TINY
from tests.methods.test_sigma import _clips
from tests.methods.test_swav import TINY as SWAV_TINY
from tests.methods.test_swav import _images

SWAV = dict(SWAV_TINY, n_clusters=3, overcluster=4, queue_size=64)
SIGMA_KW = dict(SIGMA_TINY, n_clusters=2, epochs=3)
# 150 nodes in batches of 33: the last batch (18) and the others (17 + 16) split unevenly.
PAMC = dict(PAMC_FAST, n_clusters=3, batch_size=33, epochs=4, device="cpu")
PAMC_SOFT = dict(PAMC, meta_nodes="soft", epochs=2)
LOSS_RTOL = 1e-4


def _bn_reference() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return torch.randn(6, 3, 2, 2, generator=gen), torch.randn(6, 3, 2, 2, generator=gen)


def _per_rank(rank: int, world_size: int, group: Any, tmp: str) -> dict[str, Any]:
    """Everything one rank computes; compared with one process in the tests below."""
    out: dict[str, Any] = {}
    # helpers
    out["gathered"] = gather_rows(torch.arange(3 + rank).float().view(-1, 1), group)
    out["mean"] = all_reduce_mean({"a": torch.tensor(float(rank)), "b": 2.0}, group)
    t = torch.tensor([float(rank + 1)])
    broadcast_tensors([t], group)
    out["broadcast"] = t
    try:
        check_same(rank, "seed", group)
    except ValueError as err:
        out["check_same"] = str(err)
    # BatchNorm over the global batch: this rank's rows of the reference batch
    x, w = _bn_reference()
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    nn.init.normal_(bn.weight)
    own = shard(x.shape[0], group)
    xs = x[own].clone().requires_grad_(True)
    # synced_batch_norm swaps the BatchNorm children of a module
    holder = nn.Sequential(bn)
    with synced_batch_norm(holder, group):
        assert isinstance(holder[0], GlooSyncBatchNorm)
        y = holder(xs)
    assert type(holder[0]) is nn.BatchNorm2d  # put back on exit
    (y * w[own]).sum().backward()
    out["bn"] = {
        "y": gather_rows(y.detach(), group),
        "x_grad": gather_rows(xs.grad, group),
        "w_grad": bn.weight.grad,
        "running_var": bn.running_var.clone(),
    }
    # estimators
    swav = SwAV(**SWAV).fit(_images(64))
    out["swav"] = {k: getattr(swav, k) for k in ("history_", "labels_", "embeddings_")}
    ckpt = str(Path(tmp) / "sigma.pt")
    sigma = SIGMA(**SIGMA_KW, checkpoint=ckpt).fit(_clips())
    resumed = SIGMA(**SIGMA_KW, checkpoint=ckpt).fit(_clips())  # finished run: reloaded
    out["sigma"] = {k: getattr(sigma, k) for k in ("history_", "labels_", "embeddings_")}
    out["sigma_resumed"] = resumed.embeddings_
    for name, params in (("pamc", PAMC), ("pamc_soft", PAMC_SOFT)):
        pamc = PamC(**params).fit(_sbm()[0])
        out[name] = {k: getattr(pamc, k) for k in ("history_", "labels_", "embeddings_")}
    try:
        SwAV(**{**SWAV, "batch_size": 31}).fit(_images(64))
    except ValueError as err:
        out["odd_batch"] = str(err)
    return out


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("ddp")
    return run_distributed(_per_rank, 2, tmp, str(tmp))


def test_shard_splits_rows_in_rank_order() -> None:
    assert shard(5, None) == slice(0, 5)
    batch = (torch.arange(4), [torch.ones(4, 2)], "tag")
    assert shard_batch(batch, None)[2] == "tag"
    assert torch.equal(shard_batch(batch, None)[0], torch.arange(4))


def test_resolve_group_contract() -> None:
    assert resolve_group(None) is None and resolve_group(False) is None
    with pytest.raises(ValueError, match="not initialised"):
        resolve_group(True)
    with pytest.raises(ValueError, match="distributed must be"):
        resolve_group("yes")  # type: ignore[arg-type]


def test_checkpointer_that_does_not_write(tmp_path: Path) -> None:
    ckpt = Checkpointer(tmp_path / "c.pt", {"a": 1}, write=False)
    assert not ckpt.maybe_save(1, 1, {}, {})
    assert not (tmp_path / "c.pt").exists()


def test_collective_helpers(ranks: list[dict[str, Any]]) -> None:
    for r in ranks:
        assert r["gathered"].view(-1).tolist() == [0, 1, 2, 0, 1, 2, 3]
        assert float(r["mean"]["a"]) == 0.5 and float(r["mean"]["b"]) == 2.0
        assert float(r["broadcast"]) == 1.0
        assert "seed differs between ranks" in r["check_same"]


def test_synced_batch_norm_matches_one_batch(ranks: list[dict[str, Any]]) -> None:
    """Reference: torch's BatchNorm on the whole batch in one process."""
    x, w = _bn_reference()
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    nn.init.normal_(bn.weight)
    xr = x.clone().requires_grad_(True)
    y = bn(xr)
    (y * w).sum().backward()
    for r in ranks:
        torch.testing.assert_close(r["bn"]["y"], y.detach())
        torch.testing.assert_close(r["bn"]["x_grad"], xr.grad)
        torch.testing.assert_close(r["bn"]["running_var"], bn.running_var)
    # each rank holds the gradient through its rows; DDP sums (then averages) them
    torch.testing.assert_close(ranks[0]["bn"]["w_grad"] + ranks[1]["bn"]["w_grad"], bn.weight.grad)


@pytest.mark.parametrize(
    ("name", "make", "data"),
    [
        ("swav", lambda: SwAV(**SWAV), lambda: _images(64)),
        ("sigma", lambda: SIGMA(**SIGMA_KW), _clips),
        ("pamc", lambda: PamC(**PAMC), lambda: _sbm()[0]),
        ("pamc_soft", lambda: PamC(**PAMC_SOFT), lambda: _sbm()[0]),
    ],
)
def test_two_processes_match_one(ranks: list[dict[str, Any]], name: str, make, data) -> None:
    one = make().fit(data())
    for r in ranks:
        got = r[name]
        assert torch.equal(got["labels_"], ranks[0][name]["labels_"])  # same on every rank
        assert torch.equal(got["embeddings_"], ranks[0][name]["embeddings_"])
        assert got["history_"].keys() == one.history_.keys()
        for key, curve in one.history_.items():
            torch.testing.assert_close(
                torch.tensor(got["history_"][key]), torch.tensor(curve), rtol=LOSS_RTOL, atol=1e-6
            )
        torch.testing.assert_close(got["embeddings_"], one.embeddings_, rtol=0, atol=1e-3)
    assert ari(ranks[0][name]["labels_"], one.labels_) > 0.9


def test_resume_and_batch_checks(ranks: list[dict[str, Any]]) -> None:
    for r in ranks:
        assert torch.equal(r["sigma_resumed"], r["sigma"]["embeddings_"])
        assert "multiple of the 2 processes" in r["odd_batch"]
