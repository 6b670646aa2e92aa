"""Diagnostic: does the released code's self-similarity convention explain the USPS gap?

The released PamC code sets the cosine similarity of a node with itself to 0 before the
exponential, in the positive term (the diagonal of S, from the self-loops of A + I) and
in the meta-node term (c_k with itself), so those entries weigh 1 x S_ii and 1. This
project's terms keep the similarity, 1, so they weigh e^tau x S_ii and e^tau. Both are
constants with respect to the embeddings, but they change the gradient scale. This
script trains PamC both ways from the same pre-trained autoencoder per seed (the
released variant by swapping the two term functions of ``graphclust.losses.pamc``
for this file's versions) and appends ACC at the last and at the label-free epoch::

    OMP_NUM_THREADS=2 python experiments/pamc/self_similarity.py --seeds 0 1 2 \\
        --out experiments/pamc/results/usps_self_similarity.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch_geometric.utils import scatter

import graphclust.losses.pamc as contrastive
from graphclust.bench.environment import run_context
from graphclust.data import load_dataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from quality import _metrics, make_pamc  # noqa: E402

OURS = (contrastive.influence_term, contrastive.meta_node_term)


def influence_term_released(z_rows, z_cols, row, col, value, tau=1.0):
    """The positive term with sim(z_i, z_i) := 0 (full batch only)."""
    keep = value > 0
    row, col, value = row[keep], col[keep], value[keep]
    z = F.normalize(z_rows, dim=1)
    sim = (z.index_select(0, row) * z.index_select(0, col)).sum(dim=1)
    sim = torch.where(row == col, torch.zeros_like(sim), sim)
    n = z_rows.size(0)
    total = scatter(value * torch.exp(tau * sim), row, dim=0, dim_size=n, reduce="sum")
    has_positive = scatter(torch.ones_like(sim), row, dim=0, dim_size=n, reduce="sum") > 0
    return -torch.log(total[has_positive]).mean()


def meta_node_term_released(z, assignment, num_clusters=None, tau=1.0, min_mass=1e-6):
    """The meta-node term with sim(c_k, c_k) := 0."""
    centres = contrastive.meta_nodes(z, assignment, num_clusters)
    mass = contrastive.cluster_mass(assignment, centres.size(0)).to(centres.device)
    c = F.normalize(centres[mass > min_mass], dim=1)
    sim = c @ c.t()
    sim = sim - torch.diag(torch.diagonal(sim))
    return torch.logsumexp(tau * sim, dim=1).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    data = load_dataset("usps")
    context = run_context()
    variants = {"ours": OURS, "released": (influence_term_released, meta_node_term_released)}
    with open(args.out, "a") as handle:
        for seed in args.seeds:
            for variant, (positive, negative) in variants.items():
                contrastive.influence_term, contrastive.meta_node_term = positive, negative
                model = make_pamc("usps", 10, seed, "hard", args.epochs, args.pretrain_epochs)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(data)
                record = {
                    "dataset": "usps",
                    "seed": seed,
                    "variant": variant,
                    "epochs": args.epochs,
                    "pretrain_epochs": args.pretrain_epochs,
                    "final": _metrics(model.final_labels_, data),
                    "selected": _metrics(model.labels_, data),
                    "context": context,
                }
                handle.write(json.dumps(record) + "\n")
                print(seed, variant, record["final"]["acc"], record["selected"]["acc"], flush=True)
    contrastive.influence_term, contrastive.meta_node_term = OURS


if __name__ == "__main__":
    main()
