"""What k-means finds on the real-world suite with each feature choice (issue 20).

KMeans (graphclust.methods.baselines) at K = num_classes on identity / laplacian /
randomwalk features (and the published attributes for fb-*), 3 seeds, mean ± std of
NMI (labelled nodes) and, for fb-*, overlapping NMI / F1 against ``y_overlap``. The
final model of each run is scored (no selection). CPU only, seconds.

    OMP_NUM_THREADS=1 python experiments/data_features/compare_features.py
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import warnings
from pathlib import Path

import numpy as np
import torch

from graphclust.data import load_dataset
from graphclust.methods.baselines import KMeans
from graphclust.metrics import evaluate_partition

DATASETS = {
    "football": ("identity", "laplacian", "randomwalk"),
    "email-eu-core": ("identity", "laplacian", "randomwalk"),
    "fb-0": ("attributes", "identity", "laplacian", "randomwalk"),
    "fb-348": ("attributes", "identity", "laplacian", "randomwalk"),
    "fb-3437": ("attributes", "identity", "laplacian", "randomwalk"),
}


def _cell(row: dict, key: str) -> str:
    return f"{row[key][0]:.3f} ± {row[key][1]:.3f}" if key in row else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # placeholder warnings are the point here
    rows = []
    for name, kinds in DATASETS.items():
        for kind in kinds:
            data = load_dataset(name, features=kind)
            runs = []
            for seed in range(args.seeds):
                labels = KMeans(n_clusters=data.num_classes, seed=seed).fit(data).labels_
                runs.append(evaluate_partition(labels, data))
            row = {"dataset": name, "features": kind, "dim": int(data.x.size(1))}
            for key in ("nmi", "ari", "onmi", "overlap_f1", "modularity"):
                if key in runs[0]:
                    values = np.array([r[key] for r in runs])
                    row[key] = [float(values.mean()), float(values.std())]
            rows.append(row)
            print(json.dumps(row))
    meta = {
        "command": "python experiments/data_features/compare_features.py",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "torch": torch.__version__,
        "seeds": args.seeds,
    }
    with open(args.out / "results.jsonl", "w") as fh:
        fh.write(json.dumps(meta) + "\n")
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    lines = ["| dataset | features | D | NMI | oNMI | overlap F1 |", "|---|---|---:|---|---|---|"]
    for row in rows:
        nmi, onmi, f1 = (_cell(row, k) for k in ("nmi", "onmi", "overlap_f1"))
        lines.append(
            f"| {row['dataset']} | {row['features']} | {row['dim']} | {nmi} | {onmi} | {f1} |"
        )
    (args.out / "results.md").write_text(
        f"Command: `{meta['command']}`; {meta['date']}; {meta['machine']}; torch "
        f"{meta['torch']}; KMeans at K = num_classes, {args.seeds} seeds, final model.\n\n"
        + "\n".join(lines)
        + "\n"
    )


if __name__ == "__main__":
    main()
