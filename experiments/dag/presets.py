"""DAG's presets measured: NMI, ARI, K found vs true K and seconds per fit.

Every fit uses a label-free ``k_max`` (the default rule of N, ``max(16, ceil(2 sqrt N))``)
unless ``--k-max 2k`` asks for the paper's protocol (2 x the true number of classes,
which reads the labels: kept for comparison only, and labelled so in the table). Labels
are read after the fit, for the report. One JSON line per fit; a rerun skips fits that
are already in the output file.

Usage (from the repository root)::

    OMP_NUM_THREADS=2 python experiments/dag/presets.py --preset cpu \\
        --datasets cora,citeseer --seeds 5 --out experiments/dag/presets.jsonl
    python experiments/dag/presets.py --preset gpu --device cuda --datasets cora,citeseer \\
        --seeds 5 --out experiments/dag/presets_gpu.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from graphclust.bench.environment import run_context
from graphclust.bench.memory import peak_rss_mb, reset_peak_rss
from graphclust.data import load_dataset
from graphclust.methods import DAG
from graphclust.metrics import ari, nmi


def _done(path: Path) -> set[tuple]:
    if not path.is_file():
        return set()
    keys = set()
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        keys.add((r["dataset"], r["preset"], r["k_max_rule"], r["seed"], r["device"]))
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu", choices=["cpu", "gpu", "paper"])
    parser.add_argument("--datasets", default="cora,citeseer")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--k-max", default="rule", choices=["rule", "2k"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-time-s", type=float, default=None)
    parser.add_argument("--out", type=Path, default=Path("experiments/dag/presets.jsonl"))
    args = parser.parse_args()
    done = _done(args.out)
    context = run_context()
    for name in args.datasets.split(","):
        data = load_dataset(name)
        true_k = int(data.y[data.y >= 0].unique().numel())
        for seed in range(args.seeds):
            key = (name, args.preset, args.k_max, seed, args.device)
            if key in done:
                continue
            k_max = 2 * true_k if args.k_max == "2k" else None
            model = DAG(
                preset=args.preset,
                k_max=k_max,
                max_time_s=args.max_time_s,
                progress=False,
                seed=seed,
                device=args.device,
            )
            reset_peak_rss()
            wall, cpu = time.perf_counter(), time.process_time()
            labels = model.fit_predict(data)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            record = {
                "dataset": name,
                "preset": args.preset,
                "k_max_rule": args.k_max,
                "seed": seed,
                "device": args.device,
                "true_k": true_k,
                "settings": model.settings_,
                "k": int(model.n_clusters_),
                "nmi": nmi(data.y, labels),
                "ari": ari(data.y, labels),
                "epochs_run": model.epochs_run_,
                "selected_epoch": model.selected_epoch_,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "torch_threads": torch.get_num_threads(),
                "peak_rss_mb": peak_rss_mb(),
                "date": context["date"],
                "machine": context["machine"],
                "versions": context["versions"],
                "command": context.get("command"),
            }
            with args.out.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            print(
                f"{name} seed {seed}: NMI {record['nmi']:.3f} K {record['k']} "
                f"(true {true_k}, k_max {model.settings_['k_max']}) {wall:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
