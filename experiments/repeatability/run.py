"""Does each estimator repeat bit for bit on several torch threads? (CPU)

Fits every trained estimator twice with one seed at ``--threads`` threads, on inputs big
enough that PyTorch's CPU kernels take their parallel paths (tiny test graphs stay on one
thread and hide order-dependent sums), and reports the largest difference between the
two fits' embeddings and whether the labels agree. Writes ``results.md`` beside this file.

    OMP_NUM_THREADS=2 python experiments/repeatability/run.py --threads 2

Found this way: DAG's BPR gather (eleventh session) and PamC's mini-batch gather of
in-batch positives (twelfth) used advanced indexing, whose backward (``index_put_`` with
accumulation) sums in a thread-dependent order; both now gather with ``index_select``.
With the old PamC gather checked out, these cases gave a largest difference of 6.7e-6
and 8.6e-6 (mini-batch, two runs; the size varies, being order-dependent) and 5.1e-5
(soft meta-nodes) on two threads; the regression tests are in tests/methods.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph, to_undirected

from graphclust.adapters import moving_digits
from graphclust.bench.environment import run_context
from graphclust.methods.dag import DAG
from graphclust.methods.pamc import PamC
from graphclust.methods.sigma import SIGMA
from graphclust.methods.swav import SwAV

HERE = Path(__file__).resolve().parent


def _sbm(n_blocks: int = 8, size: int = 250, dim: int = 64) -> Data:
    """Attributed SBM: 2,000 nodes, ~4,500 undirected edges, Gaussian features."""
    torch.manual_seed(0)
    probs = torch.full((n_blocks, n_blocks), 0.002)
    probs.fill_diagonal_(0.04)
    edge_index = to_undirected(stochastic_blockmodel_graph([size] * n_blocks, probs))
    truth = torch.arange(n_blocks).repeat_interleave(size)
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(n_blocks, dim, generator=gen)
    return Data(
        x=centres[truth] + torch.randn(truth.numel(), dim, generator=gen), edge_index=edge_index
    )


def _clips() -> torch.Tensor:
    glyphs = torch.zeros(2, 1, 4, 4)
    glyphs[0, 0, 1:3, :] = 1.0
    glyphs[1, 0, :, 1:3] = 1.0
    return moving_digits(
        glyphs, torch.tensor([0, 1]), n_clips=256, n_frames=4, frame_size=16, speed=1.0, seed=0
    ).clips


def cases() -> list[tuple[str, object, object]]:
    """``(name, factory, input)`` for every configuration checked."""
    graph = _sbm()
    images = torch.rand(512, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    clips = _clips()
    pamc = dict(
        hidden=(64, 64, 128),
        latent_dim=16,
        pretrain_epochs=5,
        pretrain_batch_size=256,
        epochs=10,
        n_init=2,
        seed=0,
        device="cpu",
    )
    dag = dict(preset="paper", hidden=32, heads=2, k_max=16, epochs=15, eval_every=15, seed=0)
    swav = dict(
        width=8,
        hidden_dim=64,
        embedding_dim=32,
        batch_size=128,
        progress=False,
        n_local=2,
        epochs=2,
        kmeans_n_init=2,
        device="cpu",
        seed=0,
    )
    sigma = dict(
        tube_size=(2, 4),
        dim=64,
        depth=2,
        heads=4,
        decoder_dim=32,
        feature_dim=32,
        n_prototypes=16,
        epochs=2,
        batch_size=64,
        progress=False,
        kmeans_n_init=2,
        device="cpu",
        seed=0,
    )
    return [
        ("PamC, full batch", lambda: PamC(n_clusters=8, **pamc), graph),
        ("PamC, mini-batch", lambda: PamC(n_clusters=8, batch_size=512, **pamc), graph),
        (
            "PamC, mini-batch, soft meta-nodes",
            lambda: PamC(n_clusters=8, batch_size=512, meta_nodes="soft", **pamc),
            graph,
        ),
        ("DAG, joint", lambda: DAG(**dag), graph),
        ("DAG, mini-batch", lambda: DAG(batch_size=500, **dag), graph),
        (
            "DAG, detached, k-means read-out",
            lambda: DAG(detach_readout=True, k_readout="kmeans", **dag),
            graph,
        ),
        (
            "SwAV, queue + over-clustering",
            lambda: SwAV(n_clusters=8, overcluster=16, queue_size=128, **swav),
            images,
        ),
        ("SwAV, kNN-graph term", lambda: SwAV(n_clusters=8, graph_weight=0.5, **swav), images),
        ("SIGMA, hard codes", lambda: SIGMA(n_clusters=4, **sigma), clips),
        ("SIGMA, soft codes", lambda: SIGMA(n_clusters=4, codes="soft", **sigma), clips),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    context = run_context()
    rows = []
    for name, make, data in cases():
        start = time.perf_counter()
        first, second = make().fit(data), make().fit(data)
        diff = (first.embeddings_ - second.embeddings_).abs().max().item()
        same_labels = torch.equal(first.labels_, second.labels_)
        rows.append((name, diff, same_labels, time.perf_counter() - start))
        print(f"{name}: max |diff| {diff:.3g}, labels equal {same_labels}", flush=True)
    lines = [
        "# Repeatability on several CPU threads",
        "",
        f"Two fits of one seed at {args.threads} torch threads (`{context['command']}`, "
        f"{context['date']}).",
        "",
        "| estimator | max abs difference of embeddings | labels equal | seconds (both fits) |",
        "|---|---|---|---|",
        *(f"| {n} | {d:.3g} | {'yes' if s else 'NO'} | {t:.0f} |" for n, d, s, t in rows),
        "",
        "Versions and machine:",
        "",
        "```json",
        json.dumps({k: context[k] for k in ("versions", "machine")}, indent=1),
        "```",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
