"""Plain vs regularised spectral clustering on the benchmark graphs (seed 0).

Run:  GRAPHCLUST_DATA=../shared/data python experiments/baselines/spectral_regularization.py
Writes experiments/baselines/spectral_regularization.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from graphclust.bench.environment import run_context
from graphclust.data import load_dataset
from graphclust.methods import SpectralClustering
from graphclust.metrics import evaluate_partition

DATASETS = ("cora", "citeseer", "pubmed", "photo", "acm", "dblp", "polblogs")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    context = run_context()
    lines = [
        "# Spectral clustering: plain vs regularised (tau = mean degree), seed 0",
        "",
        f"- command: `{context['command']}`; date (UTC): {context['date']}",
        f"- versions: {context['versions']}",
        "",
        "| dataset | variant | ACC | NMI | ARI | modularity | fit s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        data = load_dataset(name)
        for reg in (None, "auto"):
            model = SpectralClustering(n_clusters=data.num_classes, regularization=reg).fit(data)
            m = evaluate_partition(model.labels_, data)
            lines.append(
                f"| {name} | {reg or 'plain'} | {m['acc']:.3f} | {m['nmi']:.3f} | {m['ari']:.3f} "
                f"| {m['modularity']:.3f} | {model.fit_time_:.2f} |"
            )
    out = Path(__file__).with_suffix(".md")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
