"""SIGMA vs VideoMAE-style pixel targets vs a frame-only encoder, on moving digits.

Moving-digits clips are built from USPS digits (``graphclust.adapters.moving_digits``):
each clip's class is (digit, direction), and opposite directions give the same frames
in reverse order, so a model that ignores frame order cannot tell them apart. Each
model is trained without labels on all clips; its frozen clip embeddings are then read
two ways, for motion direction and for digit identity:

- clustering: k-means with K = the number of classes (ACC, NMI);
- linear probe: logistic regression trained on the first ``--probe-train`` clips and
  scored on the rest (accuracy).

Models: ``SIGMA`` (feature targets from the jointly trained projection, Sinkhorn
codes), ``VideoMAE`` (same network, normalised-pixel targets), ``frame-only`` (SwAV's
CNN trained on single frames, clip embedding = mean of its frame embeddings, so it
cannot see the order of frames), and ``raw pixels`` (the clip itself, as a reference).

    OMP_NUM_THREADS=1 flock /tmp/graphclust-heavy.lock \
        python experiments/sigma/run.py --root ../shared/data --seeds 0 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from graphclust.adapters import load_images, moving_digits
from graphclust.bench.environment import run_context
from graphclust.data import cache_root
from graphclust.methods.sigma import SIGMA
from graphclust.methods.swav import SwAV
from graphclust.metrics import clustering_accuracy, nmi

HERE = Path(__file__).resolve().parent
COLUMNS = ("dir_probe", "dir_acc", "dir_nmi", "digit_probe", "digit_acc", "digit_nmi")


def evaluate(
    z: torch.Tensor, direction: torch.Tensor, digit: torch.Tensor, n_train: int, seed: int
) -> dict[str, float]:
    """Clustering and linear-probe scores of frozen clip embeddings ``z [N, d]``."""
    x = StandardScaler().fit_transform(z.numpy().astype(np.float64))
    out: dict[str, float] = {}
    for name, y in (("dir", direction), ("digit", digit)):
        k = int(y.unique().numel())
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(x)
        out[f"{name}_acc"] = round(clustering_accuracy(y, torch.from_numpy(labels)), 4)
        out[f"{name}_nmi"] = round(nmi(y, torch.from_numpy(labels)), 4)
        probe = LogisticRegression(max_iter=2000).fit(x[:n_train], y[:n_train].numpy())
        out[f"{name}_probe"] = round(float(probe.score(x[n_train:], y[n_train:].numpy())), 4)
    return out


def embed(model: str, params: dict[str, Any], clips: torch.Tensor, seed: int) -> torch.Tensor:
    """Train ``model`` on the clips without labels; return clip embeddings ``[N, d]``."""
    tag = hashlib.sha1(json.dumps([model, params], sort_keys=True).encode()).hexdigest()[:8]
    ckpt = str(cache_root() / "experiments" / "sigma" / f"{tag}-{seed}.pt")
    if model in ("SIGMA", "VideoMAE"):
        target = "sigma" if model == "SIGMA" else "pixels"
        est = SIGMA(target=target, seed=seed, checkpoint=ckpt, **params).fit(clips)
        return est.embeddings_
    if model == "frame-only":
        n, t = clips.shape[:2]
        gen = torch.Generator().manual_seed(seed)
        one_frame = clips[torch.arange(n), torch.randint(t, (n,), generator=gen)]
        est = SwAV(seed=seed, checkpoint=ckpt, **params).fit(one_frame)
        frames = est.transform(clips.flatten(0, 1))  # [N*T, d]
        return frames.view(n, t, -1).mean(dim=1)
    if model == "raw pixels":
        return clips.flatten(1)
    raise ValueError(f"unknown model {model!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="data root (default $GRAPHCLUST_DATA)")
    parser.add_argument("--seeds", nargs="*", type=int, help="seeds (default: the suite's)")
    parser.add_argument("--models", nargs="*", help="models to run (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    suite = yaml.safe_load((HERE / "suite.yaml").read_text())
    out = HERE / "results.jsonl"
    records = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    done = {(r["model"], r["seed"]) for r in records}
    if not args.table_only:
        usps = load_images("usps", args.root)
        data = moving_digits(usps.images, usps.labels, **suite["data"])
        n_train = suite["probe_train"]
        for seed in args.seeds if args.seeds is not None else suite["seeds"]:
            for model, params in suite["models"].items():
                if (args.models and model not in args.models) or (model, seed) in done:
                    continue
                start = time.perf_counter()
                z = embed(model, params or {}, data.clips, seed)
                wall = round(time.perf_counter() - start, 1)
                rec = {
                    "model": model,
                    "seed": seed,
                    "train_s": wall,
                    "params": params,
                    "metrics": evaluate(z, data.direction, data.digit, n_train, seed),
                }
                records.append(rec)
                with out.open("a") as handle:
                    handle.write(json.dumps(rec) + "\n")
                print(model, seed, wall, rec["metrics"], flush=True)
    write_table(records, suite, HERE / "results.md")


def write_table(records: list[dict], suite: dict, path: Path) -> None:
    context = run_context()
    lines = [
        "# SIGMA on moving digits",
        "",
        f"- command: `{context['command']}`",
        f"- date (UTC): {context['date']}; torch threads {context['machine']['torch_threads']}",
        f"- data: {json.dumps(suite['data'])}; linear probe trained on the first "
        f"{suite['probe_train']} clips, scored on the rest; k-means on all clips",
        "- dir = motion direction (chance 0.25), digit = digit identity (chance ~0.1);",
        "  *_probe: linear-probe test accuracy; *_acc / *_nmi: k-means clustering.",
        "- cells: mean ± sample std over seeds; train_s: mean wall seconds to train + embed",
        "",
        "| model | seeds | " + " | ".join(COLUMNS) + " | train_s |",
        "|" + "---|" * (len(COLUMNS) + 3),
    ]
    for model in suite["models"]:
        runs = [r for r in records if r["model"] == model]
        if not runs:
            continue
        cells = []
        for col in (*COLUMNS, "train_s"):
            vals = np.array([r["train_s"] if col == "train_s" else r["metrics"][col] for r in runs])
            std = vals.std(ddof=1) if len(vals) > 1 else 0.0
            cells.append(
                f"{vals.mean():.1f}" if col == "train_s" else f"{vals.mean():.3f} ± {std:.3f}"
            )
        lines.append(f"| {model} | {len(runs)} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
