"""Diagnostic: how good is DAG's encoder, trained by masked attribute reconstruction alone?

Trains ``graphclust.nn.masked_ae.MaskedGraphAutoencoder`` with the scaled cosine error
only (no readout, no BPR, no group sparsity) at DAG's settings for one dataset, and
every ``--every`` epochs clusters the clean graph's embeddings with k-means at the
true K. It reads the labels (NMI of that k-means), so it is a diagnosis of the
encoder, never a model-selection step; epoch 0 is the untrained encoder.

Question it answers: does the decoder change what the encoder learns? The spec
(docs/METHODS.md section 3) says a 2-layer GAT decoder; GraphMAE, whose encoder DAG
uses, decodes with one plain GATConv(hidden, D) layer; this toolkit's decoder
factorises its last layer by default (``GATDecoder``). A decoder is named
``<layers>-<form>``: 1-plain, 1-factorized, 2-plain, 2-factorized.

    OMP_NUM_THREADS=2 GRAPHCLUST_DATA=../shared/data flock /tmp/graphclust-heavy.lock \\
        python experiments/dag/encoder_probe.py --dataset cora \\
        --decoders 1-plain 1-factorized 2-plain 2-factorized

Appends one JSON line per (decoder, evaluation) to logs/encoder_probe.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from graphclust.bench.environment import run_context
from graphclust.data import load_dataset
from graphclust.nn.masked_ae import MaskedGraphAutoencoder, sample_mask
from graphclust.utils import seed_everything

HERE = Path(__file__).resolve().parent
OUT = HERE / "logs" / "encoder_probe.jsonl"
# the paper's settings (hidden, heads, weight decay, mask rate); docs/METHODS.md
PAPER = {
    "cora": (512, 4, 1e-3, 0.5),
    "citeseer": (256, 2, 1e-4, 0.5),
    "pubmed": (1024, 4, 1e-2, 0.75),
}


def kmeans_nmi(h: torch.Tensor, y: torch.Tensor, k: int, seed: int) -> float:
    labels = KMeans(k, n_init=10, random_state=seed).fit_predict(h.numpy())
    return float(normalized_mutual_info_score(y.numpy(), labels))


def parse_decoder(name: str) -> tuple[int, bool]:
    """ "2-factorized" -> (2, True); "1-plain" -> (1, False)."""
    layers, _, form = name.partition("-")
    if layers not in ("1", "2") or form not in ("plain", "factorized"):
        raise ValueError(f"a decoder is <1|2>-<plain|factorized>, got {name!r}")
    return int(layers), form == "factorized"


def probe(dataset: str, decoder: str, epochs: int, every: int, seed: int) -> list[dict]:
    hidden, heads, weight_decay, mask_rate = PAPER[dataset]
    data = load_dataset(dataset)
    y, k = data.y, int(data.num_classes)
    layers, factorized = parse_decoder(decoder)
    seed_everything(seed)
    model = MaskedGraphAutoencoder(
        data.num_features,
        hidden,
        heads,
        feat_dropout=0.2,
        decoder_layers=layers,
        decoder_factorized=factorized,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    rows, start = [], time.perf_counter()
    for epoch in range(epochs + 1):
        if epoch:
            model.train()
            out = model(data.x, data.edge_index, sample_mask(data.num_nodes, mask_rate))
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
        if epoch % every == 0:
            model.eval()
            with torch.no_grad():
                h = model.embed(data.x, data.edge_index)
            row = {
                "dataset": dataset,
                "decoder": decoder,
                "seed": seed,
                "epoch": epoch,
                "sce": round(float(out.loss), 4) if epoch else None,
                "kmeans_nmi_true_k": round(kmeans_nmi(h, y, k, seed), 4),
                "elapsed_s": round(time.perf_counter() - start, 1),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(PAPER), default="cora")
    parser.add_argument(
        "--decoders", nargs="+", default=["1-plain", "2-factorized"], help="<layers>-<form>"
    )
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT, help="JSON lines, appended")
    args = parser.parse_args(argv)
    context = run_context()
    args.out.parent.mkdir(exist_ok=True)
    for decoder in args.decoders:
        parse_decoder(decoder)  # refuse a bad name before any training
    for decoder in args.decoders:
        rows = probe(args.dataset, decoder, args.epochs, args.every, args.seed)
        with args.out.open("a") as handle:
            for row in rows:
                handle.write(json.dumps({**row, "context": context}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
