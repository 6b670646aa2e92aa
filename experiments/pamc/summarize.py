"""Turn the JSON lines of quality.py and speed.py into the markdown tables of results.md.

Usage (from the repository root)::

    python experiments/pamc/summarize.py --quality experiments/pamc/results/quality.jsonl \
        --speed experiments/pamc/results/speed.jsonl \
        --speed-scatter experiments/pamc/results/speed_scatter.jsonl \
        --out experiments/pamc/results.md
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
    return "n/a" if entry is None else str(entry).replace("skipped: ", "")


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
        for part, a_key, b_key in (
            ("loss fwd+bwd", "loss_pamc", "loss_dense"),
            ("full-batch epoch", "epoch_pamc", "epoch_dense"),
            ("mini-batch epoch (B=4096)", "minibatch_epoch_pamc", None),
        ):
            a = r.get(a_key)
            if a is None:
                continue
            b = r.get(b_key) if b_key else "not applicable"
            lines.append(
                f"| {r['n']:,} | {r['nnz_S']:,} | {part} | {_fmt(a, 's')} | {_fmt(b, 's')} | "
                f"{_ratio(a, b, 's')} | {_fmt(a, 'peak_mb')} | {_fmt(b, 'peak_mb')} | "
                f"{_ratio(a, b, 'peak_mb')} |"
            )
    return lines


def scatter_table(plain: list[dict], scatter: list[dict]) -> list[str]:
    by_n = {r["n"]: r for r in scatter}
    lines = [
        "| N | part | without torch-scatter s | with torch-scatter s | ratio |",
        "|---|---|---|---|---|",
    ]
    for r in plain:
        other = by_n.get(r["n"])
        if other is None:
            continue
        for part, key in (
            ("loss fwd+bwd", "loss_pamc"),
            ("full-batch epoch", "epoch_pamc"),
            ("mini-batch epoch", "minibatch_epoch_pamc"),
        ):
            a, b = r.get(key), other.get(key)
            if isinstance(a, dict) and isinstance(b, dict):
                lines.append(
                    f"| {r['n']:,} | {part} | {a['s']:.3f} | {b['s']:.3f} | {b['s'] / a['s']:.2f} |"
                )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality")
    parser.add_argument("--baselines", help="results.jsonl of experiments/baselines (KMeans)")
    parser.add_argument("--speed")
    parser.add_argument("--speed-scatter")
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
    if args.speed:
        records = read(args.speed)
        ctx = records[0]["context"]
        out += [
            "## Speed and memory: PamC loss vs the dense Graph-MLP loss (one run)",
            "",
            f"- command: `{ctx['command']}`",
            f"- date (UTC): {ctx['date']}; {ctx['machine']['cpu_count']} CPUs, "
            f"torch threads {ctx['machine']['torch_threads']}, GPU: {ctx['machine']['gpu']}",
            "",
            *speed_table(records),
            "",
        ]
        if args.speed_scatter:
            scatter = read(args.speed_scatter)
            used = scatter[0]["context"].get("torch_scatter_used_by_pyg")
            out += [
                "## With and without torch-scatter",
                "",
                f"- torch-scatter importable by PyG in the second run: {used}",
                f"- second command: `{scatter[0]['context']['command']}`",
                "",
                *scatter_table(records, scatter),
                "",
            ]
    Path(args.out).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
