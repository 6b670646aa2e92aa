"""Tables (results.md) and plots (plots/*.png) from experiments/dag/results.jsonl.

Usage (from the repository root):

    python experiments/dag/summarize.py [--gpu FILE ...]

The tables cover results.jsonl and the committed full-settings records, results_gpu.jsonl
and results_full_cpu.jsonl (``run.py --suite gpu`` output: result lines only; header,
skip and footer lines are not averaged); ``--gpu`` names other such files instead. The
gpu suite run with ``--device cpu`` (the paper's full settings on this CPU) is tabled
apart, as suite ``full-cpu``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
METRICS = (
    "nmi",
    "ari",
    "edge",
    "edge_trivial",
    "edge_minus_trivial",
    "edge_inter_f1",
    "modularity",
)
PAPER = {
    "cora": (0.5171, 0.9004, 7.4),
    "citeseer": (0.4118, 0.8677, 6.4),
    "pubmed": (0.2828, 0.8938, 3.4),
}


def load(extra: list[Path] | None = None) -> list[dict]:
    records = []
    for path in [HERE / "results.jsonl", *(extra or [])]:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        records += [r for r in lines if "metrics" in r]
    for record in records:
        if record["suite"].startswith("gpu") and record.get("device") == "cpu":
            # the gpu suite run on a CPU; "gpu-<overrides>" becomes "full-cpu-<overrides>"
            record["suite"] = "full-cpu" + record["suite"][len("gpu") :]
        for m in (record["metrics"], record.get("metrics_argmax")):
            if m:  # metrics_argmax: the argmax read-out of a k_readout="kmeans" fit
                m["edge_minus_trivial"] = m["edge"] - m["edge_trivial"]
                m["abs_k_error"] = abs(m["k"] - record["true_k"])
    return records


def cell(values: list[float], digits: int = 4) -> str:
    if not values:
        return ""
    mean, std = float(np.mean(values)), float(np.std(values))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def group(records: list[dict], suite: str) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        if r["suite"] == suite:
            tag = ",".join(f"{k}={v}" for k, v in r["variant"].items() if k != "k_factor")
            groups[(r["dataset"], r["method"], r["variant"].get("k_factor", ""), tag)].append(r)
    return groups


def main_table(records: list[dict], suite: str) -> list[str]:
    header = (
        "| dataset | method | seeds | true K | found K | K exact | mean abs(K - K_true) "
        "| NMI | ARI | EDGE | trivial EDGE | EDGE - trivial | inter F1 | modularity | fit s |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    groups = group(records, suite)
    first_seen = {key[0]: i for i, key in reversed(list(enumerate(groups)))}
    methods = {"dag": 0, "louvain": 1, "kmeans": 2}

    def order(key: tuple) -> tuple:  # datasets as first run, DAG rows before baselines
        return first_seen[key[0]], methods.get(key[1], 3), str(key[2]), key[3]

    for (dataset, method, factor, tag), runs in sorted(groups.items(), key=lambda kv: order(kv[0])):
        ms = [r["metrics"] for r in runs]
        name = method + (
            f" (k_max {factor}K{', ' + tag if tag else ''})" if method == "dag" else ""
        )
        row = [
            dataset,
            name,
            str(len(runs)),
            str(runs[0]["true_k"]),
            cell([m["k"] for m in ms], 1),
            f"{sum(m['abs_k_error'] == 0 for m in ms)}/{len(ms)}",
            cell([m["abs_k_error"] for m in ms], 1),
        ]
        row += [cell([m[k] for m in ms]) for k in METRICS]
        row.append(f"{np.mean([r['fit_time_s'] for r in runs]):.0f}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


# the side-by-side table: (suite, method, column title); DAG rows use k_max = 2 x K
GLANCE = (
    ("default", "dag", "DAG() defaults"),
    ("auto", "dag", "DAG() defaults, old factorised decoder layer"),
    ("decoder", "dag", "paper's readout (readout_norm='none')"),
    ("main", "dag", "paper's readout, old factorised decoder layer"),
    ("detach", "dag", "detached, k-means read-out"),
    ("detachauto", "dag", "detached + readout_norm='auto'"),
    ("detachsel", "dag", "detached + selection='readout'"),
    ("main", "louvain", "Louvain"),
    ("main", "kmeans", "KMeans, true K"),
)


def glance_table(records: list[dict]) -> list[str]:
    """Real graphs, reduced settings: one row per graph, one column per configuration,
    each cell NMI mean ± std, then mean K and mean abs(K - K_true), then the seeds."""
    present = [c for c in GLANCE if any(r["suite"] == c[0] for r in records)]
    lines = [
        "| graph (true K) | " + " | ".join(title for _, _, title in present) + " |",
        "|---|" + "---|" * len(present),
    ]
    for dataset in ("cora", "citeseer", "pubmed", "acm", "dblp", "polblogs", "photo"):
        cells, true_k = [], None
        for suite, method, _ in present:
            runs = [
                r
                for r in records
                if r["suite"] == suite
                and r["method"] == method
                and r["dataset"] == dataset
                and r["variant"].get("k_factor", 2) == 2
            ]
            if not runs:
                cells.append("")
                continue
            true_k = runs[0]["true_k"]
            ms = [r["metrics"] for r in runs]
            k = f"K {np.mean([m['k'] for m in ms]):.1f}" if method != "kmeans" else "K given"
            cells.append(
                f"{cell([m['nmi'] for m in ms], 3)}; {k}, "
                f"abs dK {np.mean([m['abs_k_error'] for m in ms]):.1f}; n={len(runs)}"
            )
        if true_k is not None:
            lines.append(f"| {dataset} ({true_k}) | " + " | ".join(cells) + " |")
    return lines


def stability_table(records: list[dict], suite: str) -> list[str]:
    lines = [
        "| dataset | setting | true K | K per seed | found K | NMI | EDGE - trivial |",
        "|---|---|---|---|---|---|---|",
    ]
    for (dataset, method, factor, tag), runs in group(records, suite).items():
        if method != "dag":
            continue
        ks = [r["metrics"]["k"] for r in sorted(runs, key=lambda r: r["seed"])]
        setting = f"k_max = {factor} x K" + (f", {tag}" if tag else "")
        lines.append(
            f"| {dataset} | {setting} | {runs[0]['true_k']} | {ks} | "
            f"{cell(ks, 1)} | {cell([r['metrics']['nmi'] for r in runs])} | "
            f"{cell([r['metrics']['edge_minus_trivial'] for r in runs])} |"
        )
    return lines


def auto_table(records: list[dict], suite: str) -> list[str]:
    """How often readout_norm="auto" restarted with the standardised readout, and why."""
    lines = [
        "| dataset | seeds | restarted as 'layer' | per-edge BPR at the check | "
        "largest community at the check | reasons |",
        "|---|---|---|---|---|---|",
    ]
    for (dataset, _, _, _), runs in group(records, suite).items():
        checks = [r["readout_check"] for r in runs if r.get("readout_check")]
        if not checks:
            continue
        kinds = [
            "per-edge BPR near ln 2" if c["reason"].startswith("per-edge") else "one community"
            for c in checks
            if c["reason"]
        ]
        reasons = [f"{kind} ({kinds.count(kind)})" for kind in sorted(set(kinds))]
        lines.append(
            f"| {dataset} | {len(runs)} | {sum(c['dead'] for c in checks)}/{len(checks)} | "
            f"{cell([c['per_edge_bpr'] for c in checks], 3)} | "
            f"{cell([c['top_share'] for c in checks], 3)} | {'; '.join(reasons) or '-'} |"
        )
    return lines


def plot_histories() -> list[str]:
    out = HERE / "plots"
    out.mkdir(exist_ok=True)
    written = []
    for path in sorted((HERE / "histories").glob("*.json")):
        h = json.loads(path.read_text())
        fig, (ax_k, ax_w) = plt.subplots(1, 2, figsize=(11, 3.8))
        ax_k.plot(
            range(1, len(h["k_train"]) + 1),
            h["k_train"],
            color="0.7",
            lw=0.8,
            label="K of the training pass",
        )
        ax_k.plot(h["eval_epoch"], h["k"], "o-", label="K at evaluation")
        # k_readout="kmeans" fits read K from the embeddings, not from the curve's argmax
        how = "K read from the embeddings" if h.get("k_readout") == "kmeans" else "K"
        ax_k.axvline(
            h["selected_epoch"], color="red", ls="--", label=f"selected ({how} = {h['n_clusters']})"
        )
        ax_k.set_xlabel("epoch")
        ax_k.set_ylabel("number of non-empty communities K")
        ax_k.legend(fontsize=8)
        norms = np.array(h["w_col_norms"])
        ax_w.plot(h["w_epochs"], norms, lw=0.9)
        ax_w.set_xlabel("epoch")
        ax_w.set_ylabel("||W[:, k]||_2 (one line per column)")
        seed = h.get("seed")
        if seed is None:  # written before run.py recorded the seed; matched to the records
            candidates = h.get("seed_candidates")
            seed = "one of " + ", ".join(map(str, candidates)) if candidates else "unknown"
        note = (
            " (refit by today's code; not the recorded fit)"
            if h.get("reproduces_record") is False
            else ""
        )
        fig.suptitle(f"DAG on {path.stem}\nseed {seed}{note}: how K was found", fontsize=9)
        fig.tight_layout()
        target = out / f"{path.stem}.png"
        fig.savefig(target, dpi=90)
        plt.close(fig)
        written.append(target.name)
    return written


def truncation_note(records: list[dict], suite: str) -> list[str]:
    """For runs stopped by a time guard: how many, and how far they got."""
    lines = []
    for dataset in sorted({r["dataset"] for r in records if r["suite"] == suite}):
        runs = [r for r in records if r["suite"] == suite and r["dataset"] == dataset]
        cut = [r for r in runs if r.get("truncated")]
        if cut:
            done = [r["epochs_run"] for r in cut]
            lines.append(
                f"- **{dataset}: {len(cut)} of {len(runs)} runs truncated by the time guard**"
                f" after {min(done)}-{max(done)} of {cut[0]['params']['epochs']} epochs: "
                "not the paper's full training."
            )
    return [*lines, ""] if lines else []


def paper_lines(records: list[dict], suite: str = "main") -> list[str]:
    lines = [
        "| dataset | paper NMI / EDGE / K | seeds | ours NMI | ours EDGE | ours K | targets met |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset, (p_nmi, p_edge, p_k) in PAPER.items():
        runs = [
            r
            for r in records
            if r["suite"] == suite and r["dataset"] == dataset and r["method"] == "dag"
        ]
        if not runs:
            continue
        rows = [(dataset, [r["metrics"] for r in runs])]
        if all(r.get("metrics_argmax") for r in runs):
            # k_readout="kmeans" fits also record the paper's argmax read-out
            rows.append(
                (f"{dataset} (argmax read-out, same fits)", [r["metrics_argmax"] for r in runs])
            )
        for label, ms in rows:
            nmi_, edge_ = np.mean([m["nmi"] for m in ms]), np.mean([m["edge"] for m in ms])
            k_err = np.mean([m["abs_k_error"] for m in ms])
            met = [
                ("NMI", nmi_ >= p_nmi),
                ("EDGE", edge_ >= p_edge),
                ("abs(K - K_true) <= 1", k_err <= 1),
            ]
            verdict = ", ".join(f"{name} {'yes' if ok else 'no'}" for name, ok in met)
            lines.append(
                f"| {label} | {p_nmi} / {p_edge} / {p_k} | {len(runs)} | "
                f"{cell([m['nmi'] for m in ms])}"
                f" | {cell([m['edge'] for m in ms])} | {cell([m['k'] for m in ms], 1)} | "
                f"{verdict} |"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gpu",
        action="append",
        default=[],
        help="run.py --suite gpu output (default: results_gpu.jsonl and results_full_cpu.jsonl)",
    )
    args = parser.parse_args(argv)
    full = [Path(p) for p in args.gpu] or [
        HERE / "results_gpu.jsonl",
        HERE / "results_full_cpu.jsonl",
    ]
    records = load([p for p in full if p.is_file()])
    parts = ["# DAG benchmark results (generated by summarize.py)", ""]
    parts += [
        "## Side by side: DAG configurations and baselines on the real graphs (CPU, reduced "
        "settings)",
        "",
        "Final label-free-selected model; NMI mean ± population std over seeds; K: mean "
        "found K; abs dK: mean abs(K - K_true); n: seeds. Columns: the suites below.",
        "",
        *glance_table(records),
        "",
    ]
    full_suites = sorted(
        {r["suite"] for r in records if r["suite"].startswith(("gpu", "full-cpu"))}
    )

    def full_title(suite: str) -> str:
        device = "CPU" if suite.startswith("full-cpu") else "GPU"
        overrides = "" if suite in ("gpu", "full-cpu") else ", with overrides"
        return f"{device}, the paper's full settings{overrides}"

    for suite, title in (
        ("main", "CPU, reduced settings"),
        *[(s, full_title(s)) for s in full_suites],
    ):
        if any(r["suite"] == suite for r in records):
            parts += [f"## Against the paper: {title} (suite {suite})", ""]
            parts += truncation_note(records, suite)
            parts += paper_lines(records, suite) + [""]
    for suite, title in (
        ("main", "Real graphs"),
        *[(s, f"Real graphs, {full_title(s)} (suite {s})") for s in full_suites],
        ("norm", "Real graphs, DAG with readout_norm='layer' (suite norm; compare with main)"),
        ("auto", "Real graphs, DAG with readout_norm='auto' (suite auto; compare with main)"),
        (
            "decoder",
            "Real graphs, DAG with a plain last decoder layer, decoder_factorized=False "
            "(suite decoder; compare with main)",
        ),
        (
            "kreadout",
            "Real graphs, DAG with K read from the embeddings, k_readout='kmeans' "
            "(suite kreadout; the same training as decoder, seed for seed)",
        ),
        (
            "detach",
            "Real graphs, DAG with detach_readout=True and k_readout='kmeans' "
            "(suite detach; compare with kreadout)",
        ),
        (
            "detachsel",
            "Real graphs, the detach suite's DAG with selection='readout' (checkpoints "
            "scored by their k-means read-out; suite detachsel, compare with detach)",
        ),
        (
            "detachauto",
            "Real graphs, the detach suite's DAG with readout_norm='auto' (suite "
            "detachauto; the same encoder training as detach, seed for seed)",
        ),
        (
            "default",
            "Real graphs, DAG()'s defaults at the reduced widths: plain decoder layer, "
            "readout_norm='auto' (suite default; compare with decoder and auto)",
        ),
        ("synthetic", "Synthetic graphs (known K)"),
    ):
        if any(r["suite"] == suite for r in records):
            parts += [f"## {title}", ""] + truncation_note(records, suite)
            parts += main_table(records, suite) + [""]
    for suite in ("auto", "default", "detachauto"):
        checked = [r for r in records if r["suite"] == suite and r.get("readout_check")]
        if checked:
            epochs = sorted({r["readout_check"]["epoch"] for r in checked})
            parts += [
                f"## readout_norm='auto' in suite {suite}: the label-free check at epoch {epochs}",
                "",
            ]
            parts += auto_table(records, suite) + [""]
    for suite, title in (
        ("stability", "K stability across seeds and k_max"),
        ("beta", "K against the group-sparsity weight beta (Cora, SBM K=10)"),
        (
            "detachstab",
            "K stability of the detached configuration (detach_readout=True, "
            "k_readout='kmeans') across seeds and k_max",
        ),
    ):
        if any(r["suite"] == suite for r in records):
            parts += [f"## {title}", ""] + stability_table(records, suite) + [""]
    parts += ["## Where these numbers come from", ""]
    for suite in sorted({r["suite"] for r in records}):
        runs = [r for r in records if r["suite"] == suite]
        parts += [
            f"- suite {suite}: machine {runs[0]['machine']}",
            f"  versions {runs[0]['versions']}",
            f"  dates {min(r['date'] for r in runs)} to {max(r['date'] for r in runs)}",
        ]
    parts.append("")
    (HERE / "results.md").write_text("\n".join(parts) + "\n")
    plots = plot_histories()
    print(f"wrote results.md ({len(records)} runs) and {len(plots)} plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
