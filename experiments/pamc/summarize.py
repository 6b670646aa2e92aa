"""Turn the JSON lines of quality.py, speed.py and million.py into markdown tables.

Usage (from the repository root)::

    python experiments/pamc/summarize.py \
        --quality experiments/pamc/results/quality.jsonl \
        --baselines experiments/baselines/results.jsonl \
        --curves experiments/pamc/results/usps_curves.jsonl \
        --hard-soft experiments/pamc/results/curves_200ep.jsonl \
        --hard-soft experiments/pamc/results/quality.jsonl \
        --hard-soft experiments/pamc/results/soft_40ep.jsonl \
        --speed experiments/pamc/results/speed.jsonl \
        --speed experiments/pamc/results/speed_gpu.jsonl \
        --scatter-plain experiments/pamc/results/speed_noscatter.jsonl \
        --speed-scatter experiments/pamc/results/speed_scatter.jsonl \
        --million experiments/pamc/results/million.json \
        --pretrain experiments/pamc/results/quality.jsonl \
        --pretrain experiments/pamc/results/pretrain100.jsonl \
        --pretrain experiments/pamc/results/usps_pretrain100.jsonl \
        --out experiments/pamc/results/tables.md
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

METRICS = ("acc", "nmi", "ari", "f1")
DATASETS = ("acm", "dblp", "cite", "usps", "cora", "photo")
# METHODS.md section 2. Published: the paper (mean of 10 runs of each run's best epoch
# per metric). Released code: run on this machine's SDCN files, 3 seeds, 200 epochs.
PUBLISHED = {"usps": (0.842, 0.803, 0.778, 0.788)}
RELEASED_LAST = {
    "acm": (0.896, 0.672, 0.722, 0.894),
    "dblp": (0.482, 0.213, 0.208, 0.330),
    "cite": (0.638, 0.377, 0.374, 0.579),
}
RELEASED_BEST = {
    "acm": (0.922, 0.733, 0.784, 0.922),
    "dblp": (0.561, 0.256, 0.238, 0.481),
    "cite": (0.644, 0.383, 0.378, 0.582),
}


def read(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def cell(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def epoch_cell(values: list[int]) -> str:
    if len(values) == 1:
        return str(values[0])
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def baseline_records(path: str | Path, method: str = "kmeans") -> list[dict]:
    """KMeans-on-features runs of the project's baseline table, in quality.py's layout."""
    out = []
    for r in read(path):
        if r.get("method") == method and r.get("status") == "ok" and r["dataset"] in DATASETS:
            metrics = {k: r["metrics"][k] for k in (*METRICS, "modularity", "k")}
            out.append(
                {
                    "dataset": r["dataset"],
                    "method": f"{method} (baselines table)",
                    "seed": r["seed"],
                    "final": metrics,
                    "selected": metrics,
                    "wall_time_s": r["wall_time_s"],
                }
            )
    return out


def four(values: tuple[float, ...] | None) -> str:
    return " / ".join(f"{v:.3f}" for v in values) if values else "-"


def quality_tables(records: list[dict]) -> list[str]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        groups[(record["dataset"], record["method"])].append(record)
    methods = sorted({m for _, m in groups}, key=lambda m: (m != "pamc-hard", m))
    lines = [
        "| dataset | method | runs | epoch | ACC | NMI | ARI | F1 | selected epoch | s/run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        for method in methods:
            runs = groups.get((name, method), [])
            if not runs:
                continue
            views = ("final",) if method.startswith("kmeans") else ("final", "selected")
            for view in views:
                cells = [cell([r[view][m] for r in runs]) for m in METRICS]
                epochs = (
                    epoch_cell([r["selected_epoch"] for r in runs]) if view == "selected" else "-"
                )
                label = (
                    "label-free"
                    if view == "selected"
                    else ("-" if method.startswith("kmeans") else "final")
                )
                seconds = statistics.mean(r["wall_time_s"] for r in runs)
                lines.append(
                    f"| {name} | {method} | {len(runs)} | {label} | {' | '.join(cells)} | "
                    f"{epochs} | {seconds:.0f} |"
                )
        refs = [
            ("published (paper, label-chosen best epochs)", PUBLISHED.get(name)),
            ("released code, last epoch (METHODS.md)", RELEASED_LAST.get(name)),
            ("released code, label-chosen best (METHODS.md)", RELEASED_BEST.get(name)),
        ]
        for label, values in refs:
            if values:
                lines.append(
                    f"| {name} | {label} | | | {' | '.join(f'{v:.3f}' for v in values)} | | |"
                )
    return lines


def _fmt(entry: object, key: str) -> str:
    if isinstance(entry, dict):
        return f"{entry[key]:.3f}" if key == "s" else f"{entry[key]:.0f}"
    if entry is None:
        return "n/a"
    return str(entry).replace("skipped: ", "skipped, ").split(" of ")[0]


def _ratio(a: object, b: object, key: str) -> str:
    if isinstance(a, dict) and isinstance(b, dict) and a[key] > 0:
        return f"{b[key] / a[key]:.1f}x"
    return "-"


def speed_table(records: list[dict]) -> list[str]:
    lines = [
        "| N | nnz(S) | part | PamC s | dense s | dense/PamC time | PamC peak MB | "
        "dense peak MB | dense/PamC memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if "skipped" in r:
            lines.append(f"| {r['n']:,} | - | all | {r['skipped']} | | | | | |")
            continue
        for part, a_key, b_key in (
            ("loss fwd+bwd", "loss_pamc", "loss_dense"),
            ("full-batch epoch", "epoch_pamc", "epoch_dense"),
            ("mini-batch epoch (B=4096)", "minibatch_epoch_pamc", None),
        ):
            a = r.get(a_key)
            if a is None and b_key and r.get(b_key) is not None:
                a = "not run"
            if a is None:
                continue
            b = r.get(b_key) if b_key else "not applicable"
            b_mem = _fmt(b, "peak_mb") if isinstance(b, dict) else "-"
            lines.append(
                f"| {r['n']:,} | {r['nnz_S']:,} | {part} | {_fmt(a, 's')} | {_fmt(b, 's')} | "
                f"{_ratio(a, b, 's')} | {_fmt(a, 'peak_mb')} | {b_mem} | "
                f"{_ratio(a, b, 'peak_mb')} |"
            )
    return lines


def scatter_table(plain: list[dict], scatter: list[dict]) -> list[str]:
    """Seconds without / with torch-scatter: medians over the repeated runs of each file
    (the runs alternate between the two environments, so load drifts hit both)."""

    def medians(records: list[dict]) -> dict[tuple[int, str], tuple[float, int]]:
        found: dict[tuple[int, str], list[float]] = defaultdict(list)
        for r in records:
            for key in ("loss_pamc", "epoch_pamc", "minibatch_epoch_pamc"):
                if isinstance(r.get(key), dict):
                    found[(r["n"], key)].append(r[key]["s"])
        return {k: (statistics.median(v), len(v)) for k, v in found.items()}

    names = {
        "loss_pamc": "loss fwd+bwd",
        "epoch_pamc": "full-batch epoch",
        "minibatch_epoch_pamc": "mini-batch epoch",
    }
    a_all, b_all = medians(plain), medians(scatter)
    lines = [
        "| N | part | runs | without torch-scatter s | with torch-scatter s | with / without |",
        "|---|---|---|---|---|---|",
    ]
    for key in sorted(a_all, key=lambda k: (k[0], list(names).index(k[1]))):
        if key not in b_all:
            continue
        (a, na), (b, nb) = a_all[key], b_all[key]
        lines.append(
            f"| {key[0]:,} | {names[key[1]]} | {na} + {nb} | {a:.3f} | {b:.3f} | {b / a:.2f} |"
        )
    return lines


def _group(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        groups[(record["dataset"], record["method"])].append(record)
    return groups


def protocol_table(records: list[dict]) -> list[str]:
    """Honest selections beside the released code's label-chosen best epoch per metric.

    Needs ``metric_curves_diagnostic`` (quality.py ``--curves``): the label-chosen row
    takes, for each run and each metric separately, the best epoch read with the labels.
    Runs are grouped by dataset, method, pre-training and training epochs.
    """
    lines = [
        "| dataset | method | AE pre-training epochs | epochs | seeds | protocol | ACC | NMI | "
        "ARI | F1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        if "metric_curves_diagnostic" in r:
            pretrain = r["params"]["pretrain_epochs"]
            pretrain = "/".join(map(str, pretrain)) if isinstance(pretrain, list) else pretrain
            key = (r["dataset"], r["method"], pretrain, r["params"]["epochs"])
            groups[key].append(r)
    for (name, method, pretrain, epochs), runs in sorted(groups.items()):
        seeds = ",".join(str(r["seed"]) for r in sorted(runs, key=lambda r: r["seed"]))
        head = f"| {name} | {method} | {pretrain} | {epochs} | {seeds} |"
        for label, values in (
            ("final epoch", [[r["final"][m] for m in METRICS] for r in runs]),
            ("label-free epoch", [[r["selected"][m] for m in METRICS] for r in runs]),
            (
                "label-chosen best epoch per metric (released-code protocol)",
                [[max(r["metric_curves_diagnostic"][m]) for m in METRICS] for r in runs],
            ),
        ):
            cells = [cell([v[i] for v in values]) for i in range(len(METRICS))]
            lines.append(f"{head} {label} | {' | '.join(cells)} |")
    for name in sorted({key[0] for key in groups} & set(PUBLISHED)):
        lines.append(
            f"| {name} | published (paper) | 30 (SDCN recipe) | 200 | 10 runs | label-chosen "
            f"best epoch per metric | {' | '.join(f'{v:.3f}' for v in PUBLISHED[name])} |"
        )
    return lines


def hard_soft_table(records: list[dict]) -> list[str]:
    """Hard vs soft meta-nodes on the same (dataset, seed, epochs): final and label-free
    ACC, and the label-chosen best ACC where the run stored its curve (diagnostic)."""
    lines = [
        "| dataset | seed | epochs | hard: final / label-free (/ best) ACC | "
        "soft: final / label-free (/ best) ACC | final ACC ahead |",
        "|---|---|---|---|---|---|",
    ]
    by_key: dict[tuple[str, int, int], dict[str, dict]] = defaultdict(dict)
    for r in records:
        if r["method"] in ("pamc-hard", "pamc-soft"):
            by_key[(r["dataset"], r["params"]["epochs"], r["seed"])][r["method"]] = r

    def three(r: dict) -> str:
        text = f"{r['final']['acc']:.3f} / {r['selected']['acc']:.3f}"
        curve = r.get("acc_curve_diagnostic")
        return text + (f" / {max(curve):.3f}" if curve else "")

    wins: dict[tuple[str, int], list[float]] = defaultdict(list)
    order = sorted(by_key, key=lambda key: (key[1], DATASETS.index(key[0]), key[2]))
    for name, epochs, seed in order:
        pair = by_key[(name, epochs, seed)]
        hard, soft = pair.get("pamc-hard"), pair.get("pamc-soft")
        if hard is None or soft is None:
            continue
        gap = hard["final"]["acc"] - soft["final"]["acc"]
        wins[(name, epochs)].append(gap)
        ahead = "hard" if gap > 0 else "soft"
        lines.append(
            f"| {name} | {seed} | {epochs} | {three(hard)} | {three(soft)} | "
            f"{ahead} ({abs(gap):.3f}) |"
        )
    lines += [
        "",
        "| dataset | epochs | pairs | hard ahead | mean final ACC hard minus soft |",
        "|---|---|---|---|---|",
    ]
    for (name, epochs), gaps in sorted(
        wins.items(), key=lambda kv: (kv[0][1], DATASETS.index(kv[0][0]))
    ):
        lines.append(
            f"| {name} | {epochs} | {len(gaps)} | {sum(g > 0 for g in gaps)} | "
            f"{statistics.mean(gaps):+.3f} |"
        )
    return lines


def pretrain_table(records: list[dict]) -> list[str]:
    """Pre-training lengths 30 and 100 per (dataset, seed), and the label-free choice.

    ``PamC(pretrain_epochs=(30, 100))`` trains from both snapshots of one pre-training
    run and keeps the state with the highest score over both; with the same seed its
    two trainings are the separate 30- and 100-epoch runs paired here, so the choice is
    read off their score curves (the 100-epoch run wins only with a strictly higher
    best score, as in the estimator). Rows with both lengths only.
    """
    by_key: dict[tuple[str, int], dict[int, dict]] = defaultdict(dict)
    for r in records:
        pretrain = r["params"]["pretrain_epochs"]
        if r["method"] == "pamc-hard" and r["params"]["epochs"] == 40 and pretrain in (30, 100):
            by_key[(r["dataset"], r["seed"])][pretrain] = r
    lines = [
        "| dataset | seeds | ACC, 30 epochs | ACC, 100 epochs | ACC, label-free choice | "
        "100 chosen | choice = the better run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        pairs = [(seed, runs) for (d, seed), runs in sorted(by_key.items()) if d == name]
        pairs = [(seed, runs) for seed, runs in pairs if len(runs) == 2]
        if not pairs:
            continue
        short = [runs[30]["selected"]["acc"] for _, runs in pairs]
        long_ = [runs[100]["selected"]["acc"] for _, runs in pairs]
        pick_long = [
            max(runs[100]["modularity_curve"]) > max(runs[30]["modularity_curve"])
            for _, runs in pairs
        ]
        chosen = [b if p else a for a, b, p in zip(short, long_, pick_long, strict=True)]
        right = sum((b >= a) == p for a, b, p in zip(short, long_, pick_long, strict=True))
        seeds = ",".join(str(seed) for seed, _ in pairs)
        lines.append(
            f"| {name} | {seeds} | {cell(short)} | {cell(long_)} | {cell(chosen)} | "
            f"{sum(pick_long)}/{len(pairs)} | {right}/{len(pairs)} |"
        )
    return lines


def million_lines(record: dict) -> list[str]:
    keys = (
        "n",
        "edges",
        "data_generation_s",
        "fit_s",
        "peak_rss_gb_after_data",
        "peak_rss_gb",
        "acc_final",
        "nmi_final",
        "selected_epoch",
    )
    params = record["params"]
    return [
        f"- command: `{record['context']['command']}` ({record['context']['date']})",
        f"- batch_size {params['batch_size']}, pretrain_epochs {params['pretrain_epochs']}, "
        f"epochs {params['epochs']}, order {params['order']}",
        "",
        "| " + " | ".join(keys) + " |",
        "|" + "---|" * len(keys),
        "| " + " | ".join(str(record[k]) for k in keys) + " |",
    ]


def speed_header(ctx: dict) -> list[str]:
    machine = ctx["machine"]
    device = ctx.get("gpu_name") or f"CPU, {machine['cpu_count']} cores"
    return [
        f"- device: {device}; torch {ctx['versions']['torch']}, "
        f"torch threads {machine['torch_threads']}",
        f"- command: `{ctx['command']}`",
        f"- date (UTC): {ctx['date']}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality")
    parser.add_argument("--baselines", help="results.jsonl of experiments/baselines (KMeans)")
    parser.add_argument("--curves", action="append", default=[], help="quality.py --curves runs")
    parser.add_argument(
        "--hard-soft",
        action="append",
        default=[],
        help="quality.py runs (repeat); hard and "
        "soft runs of the same dataset, seed and epochs are paired",
    )
    parser.add_argument(
        "--pretrain",
        action="append",
        default=[],
        help="quality.py runs (repeat) with 30 and 100 pre-training epochs, paired by seed",
    )
    parser.add_argument("--speed", action="append", default=[], help="speed.py output (repeat)")
    parser.add_argument("--scatter-plain", help="speed.py run without torch-scatter")
    parser.add_argument("--speed-scatter", help="the same run with torch-scatter")
    parser.add_argument("--million", help="million.py output")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    out: list[str] = ["# PamC results (generated by experiments/pamc/summarize.py)", ""]
    if args.quality:
        records = read(args.quality)
        ctx = records[0]["context"]
        if args.baselines:
            records += baseline_records(args.baselines)
        out += [
            "## Quality",
            "",
            f"- command: `{ctx['command']}`",
            f"- date (UTC): {ctx['date']}; machine: {ctx['machine']['platform']}, "
            f"{ctx['machine']['cpu_count']} CPUs, GPU: {ctx['machine']['gpu']}",
            f"- versions: {', '.join(f'{k} {v}' for k, v in ctx['versions'].items())}",
            "- cells: mean ± sample std over seeds; `final` = last epoch, `label-free` = "
            "epoch of highest modularity (labels never read); ACC/F1 after Hungarian matching",
            "",
            *quality_tables(records),
            "",
        ]
    for title, paths, table, notes in (
        (
            "The same runs under three protocols (label-chosen = diagnostic only)",
            args.curves,
            protocol_table,
            [],
        ),
        ("Hard vs soft meta-nodes", args.hard_soft, hard_soft_table, []),
        (
            "Autoencoder pre-training length: 30, 100, or chosen label-free",
            args.pretrain,
            pretrain_table,
            ["- ACC at the label-free epoch; choice: the run with the higher best modularity"],
        ),
    ):
        records = [r for path in paths for r in read(path)]
        if records:
            commands = sorted({r["context"]["command"] for r in records})
            out += [f"## {title}", "", *[f"- command: `{c}`" for c in commands], *notes, ""]
            out += [*table(records), ""]
    for path in args.speed:
        records = read(path)
        out += [
            "## Speed and memory: PamC loss vs the dense Graph-MLP loss (one run)",
            "",
            *speed_header(records[0]["context"]),
            "",
            *speed_table(records),
            "",
        ]
    if args.scatter_plain and args.speed_scatter:
        plain, scatter = read(args.scatter_plain), read(args.speed_scatter)
        out += [
            "## With and without torch-scatter",
            "",
            f"- without: `{plain[0]['context']['command']}` (PyG WITH_TORCH_SCATTER: "
            f"{plain[0]['context'].get('torch_scatter_used_by_pyg')})",
            f"- with: `{scatter[0]['context']['command']}` (PyG WITH_TORCH_SCATTER: "
            f"{scatter[0]['context'].get('torch_scatter_used_by_pyg')}, "
            f"{scatter[0]['context']['versions'].get('torch-scatter')})",
            "",
            *scatter_table(plain, scatter),
            "",
        ]
    if args.million:
        record = json.loads(Path(args.million).read_text())
        out += ["## 1,000,000-node SBM, mini-batch mode", "", *million_lines(record), ""]
    Path(args.out).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
