"""Diagnostic: why does the k-means read-out under-count K at the paper's widths?

On the H200 (ninth session) the detached configuration read K = 5-7 for Cora's 7 and
4-5 for CiteSeer's 6, and the seeds that read K = 5 on Cora were the low-NMI ones. At
this CPU's reduced width the under-count does not appear, so this script trains at the
paper's widths (hidden, heads, weight decay; fewer epochs: the H200 fits kept epochs
50-300 of 1500; all else as ``gpu_suite.py`` ran on the H200), keeps the embeddings of
every evaluated checkpoint, and clusters each by k-means for every K in 2..k_max, as
``kmeans_k_search`` does. Per (checkpoint, K)
it logs label-free scores (modularity, Calinski-Harabasz in the embedding space and in
the input features, silhouette) and, as a diagnosis only, NMI and ARI against the
labels (ARI since the twelfth session's Cora rerun).

Since the thirteenth session each checkpoint is also clustered after two propagation
steps by the GCN-normalised adjacency, ``A_hat^2 H`` with ``A_hat = D^-1/2 (A + I)
D^-1/2`` (the propagation the paper's 2-layer GCN readout applies before its argmax),
scored by the same rule in that space, and every partition's EDGE is logged. This
candidate read-out was fixed before any measurement (depth 2 = the readout's two
layers; no other depth is tried); ``--settings reduced`` runs it at run.py's reduced
settings ("detach" suite) on graphs the rule was never looked at on (synthetic graphs,
ACM, DBLP).

Labels never steer anything here: the summary compares each label-free rule's K and
NMI with the true K and with the NMI that k-means at the true K would give, to say how
much the under-count costs and whether it comes from the K rule or from the kept
checkpoint.

    OMP_NUM_THREADS=1 GRAPHCLUST_DATA=../shared/data python experiments/dag/k_diagnosis.py \\
        --dataset cora --seeds 0,1,2,3 --epochs 300
    ... k_diagnosis.py --settings reduced --dataset acm --seeds 0,1,2,3

Appends one JSON line per (seed, checkpoint) to logs/k_diagnosis.jsonl.gz;
``--summary`` writes the tables from that file to k_diagnosis.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

from graphclust.bench.environment import run_context
from graphclust.bench.k_rules import K_RULES, at_k, pick_k, scores_over_k, summarize_picks
from graphclust.data import load_dataset
from graphclust.methods.dag import DAG
from graphclust.nn.readout import gcn_adjacency

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gpu_suite import COMMON, FULL  # noqa: E402
from run import SUITES, dag_params, dataset_label, variants  # noqa: E402

OUT = HERE / "logs" / "k_diagnosis.jsonl.gz"  # gzip: appended members read as one


def open_log(path: Path, mode: str):
    """A JSON-lines log, gzipped when its name ends in .gz (text ``mode``)."""
    return gzip.open(path, mode) if path.suffix == ".gz" else path.open(mode[0])


# the graphs of run.py's "detach" suite, by label, for --settings reduced
REDUCED_GRAPHS = {dataset_label(name, params): (name, params) for name, params in SUITES["detach"]}


# label-free rules for K (graphclust.bench.k_rules): (the record's list of per-K scores
# it reads, a function of one K's scores, higher is better). "per_k": k-means of H;
# "per_k_smoothed": of A_hat^2 H.
RULES = {
    "Q x CH(H) (DAG's k-means read-out)": ("per_k", K_RULES["Q x CH(H)"]),
    "Q x CH(X)": ("per_k", K_RULES["Q x CH(X)"]),
    "modularity Q": ("per_k", K_RULES["modularity Q"]),
    "silhouette(H)": ("per_k", K_RULES["silhouette(H)"]),
    "Q x CH(A_hat^2 H) (k-means of the propagated H)": ("per_k_smoothed", K_RULES["Q x CH(H)"]),
}


class KeepingDAG(DAG):
    """DAG that also keeps the embeddings of every evaluated checkpoint (of the run it
    returns: a run restarted by ``readout_norm="auto"`` starts the list again)."""

    def _evaluated(self, epoch, h, c, scores, first):
        if first:
            self.kept_ = []
        self.kept_.append((epoch, h.cpu()))


def propagate(h: torch.Tensor, a_hat: torch.Tensor, steps: int = 2) -> torch.Tensor:
    """``a_hat^steps h``; ``a_hat`` is DAG's readout operator, :func:`gcn_adjacency`
    (``D^-1/2 (A + I) D^-1/2``, sparse), built once per graph."""
    for _ in range(steps):
        h = a_hat @ h
    return h


def diagnosis_params(dataset: str, settings: str, epochs: int | None) -> tuple[object, dict]:
    """The graph and the detached DAG's settings: "full", the paper's widths as the H200
    ran them (``epochs`` of them); "reduced", run.py's "detach" suite."""
    if settings == "full":
        data = load_dataset(dataset)
        params = {
            "preset": "paper",
            **COMMON,
            **FULL[dataset],
            "epochs": epochs or 300,
            "decoder_factorized": False,
            "detach_readout": True,
            "k_readout": "kmeans",
            "k_max": 2 * (int(data.y.max()) + 1),
        }
        return data, params
    name, graph_params = REDUCED_GRAPHS[dataset]
    data = load_dataset(name, **graph_params)
    params = dag_params(name, int(data.y.max()) + 1, 0, variants("detach", "dag", [2])[0])
    del params["seed"]
    if epochs:
        params["epochs"] = epochs
    return data, params


def run(dataset: str, settings: str, seeds: list[int], epochs: int | None, out: Path) -> None:
    data, params = diagnosis_params(dataset, settings, epochs)
    true_k = int(data.y.max()) + 1
    a_hat = gcn_adjacency(data.edge_index, data.num_nodes)
    context = run_context()
    for seed in seeds:
        start = time.perf_counter()
        model = KeepingDAG(**params, seed=seed).fit(data)
        fit_s = time.perf_counter() - start
        for epoch, h in model.kept_:
            record = {
                "dataset": dataset,
                "settings": settings,
                "true_k": true_k,
                "seed": seed,
                "epoch": epoch,
                "selected": epoch == model.selected_epoch_,
                "n_clusters": model.n_clusters_,
                "per_k": scores_over_k(h, data, params["k_max"], seed),
                "per_k_smoothed": scores_over_k(propagate(h, a_hat), data, params["k_max"], seed),
                "params": params,
                "fit_s": round(fit_s, 1),
                "context": context,
            }
            with open_log(out, "at") as f:
                f.write(json.dumps(record) + "\n")
        print(f"{dataset} seed {seed}: kept epoch {model.selected_epoch_}, K {model.n_clusters_}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip


def _cell(stats: tuple[float, float], signed: bool = False) -> str:
    """``mean ± std`` to three decimals (the mean with its sign if ``signed``)."""
    mean, std = stats
    return f"{mean:+.3f} ± {std:.3f}" if signed else f"{mean:.3f} ± {std:.3f}"


def _mean_std(values: list[float]) -> str:
    """``mean ± population std`` of ``values``, to three decimals."""
    return _cell((statistics.mean(values), statistics.pstdev(values)))


def _columns(picks: list[dict], true_k: int, extra: list[str]) -> str:
    """Table cells of one row: K, exact / within 1, mean abs dK, NMI, then the ``extra``
    scores (ARI, EDGE - trivial) in that order."""
    found = summarize_picks(picks, true_k)
    cells = [
        f"{found['k_mean']:.1f}",
        f"{found['exact']} / {found['within_one']}",
        f"{found['mean_abs_dk']:.1f}",
        _cell(found["nmi"]),
    ]
    if "ari" in extra:
        cells.append(_cell(found["ari"]))
    if "edge" in extra:
        cells.append(_cell(found["edge_gain"], signed=True))
    return " | ".join(cells)


def summary(path: Path) -> list[str]:
    """Markdown tables, per dataset and settings: each rule's K at the kept checkpoint,
    |dK|, NMI, ARI and EDGE minus the one-cluster EDGE there (the last two where every
    record has them), beside k-means at the true K (a diagnosis: it needs the labels'
    K); then DAG's rule at every checkpoint."""
    with open_log(path, "rt") as f:
        records = [json.loads(line) for line in f]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["dataset"], r.get("settings", "full"))].append(r)
    first = records[0]["context"]
    dates = sorted(r["context"]["date"] for r in records)
    lines = [
        "# Why the k-means read-out under-counts K (generated by `k_diagnosis.py --summary`)",
        "",
        f"Records: `{path.name}`, {dates[0]} to {dates[-1]}; torch "
        f"{first['versions']['torch']}, {first['machine']['cpu_count']} CPU cores, "
        f"{first['machine']['torch_threads']} torch thread(s) per fit. Mean ± "
        "population std over seeds; NMI, ARI and EDGE (where recorded) are read for the "
        "diagnosis only. EDGE - trivial: EDGE minus the one-cluster partition's EDGE.",
    ]
    rule = RULES["Q x CH(H) (DAG's k-means read-out)"][1]
    for (dataset, settings), rows in groups.items():
        kept = [r for r in rows if r["selected"]]
        true_k = rows[0]["true_k"]
        params = rows[0]["params"]
        n = len(kept)
        extra = [key for key in ("ari", "edge") if all(key in p for r in kept for p in r["per_k"])]
        headers = {"ari": " ARI at its K |", "edge": " EDGE - trivial |"}
        lines += [
            "",
            f"## {dataset} (true K {true_k}), {settings} settings",
            "",
            f"Hidden {params['hidden']}, {params['heads']} heads, weight decay "
            f"{params.get('weight_decay', 0.0)}, {params['epochs']} epochs, k_max "
            f"{params['k_max']}; checkpoints kept by DAG's selection in {n} seeds: epochs "
            f"{sorted(r['epoch'] for r in kept)}.",
            "",
            "| rule for K at the kept checkpoint | K, mean | K exact / within 1 | "
            "mean abs dK | NMI at its K |" + "".join(headers[key] for key in extra),
            "|---|---|---|---|---|" + "---|" * len(extra),
        ]
        for name, (space, pick_rule) in RULES.items():
            if not all(space in r for r in kept):
                continue
            picks = [pick_k(r[space], pick_rule) for r in kept]
            lines.append(f"| {name} | {_columns(picks, true_k, extra)} |")
        for space, label in (("per_k", "H"), ("per_k_smoothed", "A_hat^2 H")):
            if all(space in r for r in kept):
                at_true = [at_k(r[space], true_k) for r in kept]
                lines.append(
                    f"| k-means of {label} at the true K (needs labels) | "
                    f"{_columns(at_true, true_k, extra)} |"
                )
        best = [max(p["nmi"] for p in r["per_k"]) for r in kept]
        lines += [
            f"| best K of H by NMI (oracle) | | | | {_mean_std(best)} |" + " |" * len(extra),
            "",
            "DAG's rule at every checkpoint (does the kept checkpoint matter?):",
            "",
            "| epoch | K, mean | NMI at its K | NMI at the true K | seeds that kept it |",
            "|---|---|---|---|---|",
        ]
        by_epoch: dict[int, list[dict]] = defaultdict(list)
        for r in rows:
            by_epoch[r["epoch"]].append(r)
        for epoch in sorted(by_epoch):
            picks = [pick_k(r["per_k"], rule) for r in by_epoch[epoch]]
            lines.append(
                f"| {epoch} | {statistics.mean(p['k'] for p in picks):.1f} | "
                f"{_mean_std([p['nmi'] for p in picks])} | "
                f"{_mean_std([at_k(r['per_k'], true_k)['nmi'] for r in by_epoch[epoch]])} | "
                f"{sum(r['selected'] for r in by_epoch[epoch])} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted({*FULL, *REDUCED_GRAPHS}), default="cora")
    parser.add_argument(
        "--settings",
        choices=("full", "reduced"),
        default="full",
        help="full: the paper's widths (cora, citeseer, pubmed); reduced: run.py's "
        '"detach" suite (any of its graphs)',
    )
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument(
        "--epochs", type=int, default=None, help="default: 300 (full), the suite's (reduced)"
    )
    parser.add_argument("--summary", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.summary:
        lines = summary(args.out)
        print("\n".join(lines))
        (HERE / "k_diagnosis.md").write_text("\n".join(lines) + "\n")
        return
    if args.settings == "full" and args.dataset not in FULL:
        parser.error(f"--settings full has the paper's settings for {sorted(FULL)} only")
    seeds = [int(s) for s in args.seeds.split(",")]
    run(args.dataset, args.settings, seeds, args.epochs, args.out)


if __name__ == "__main__":
    main()
