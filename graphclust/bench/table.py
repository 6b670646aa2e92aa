"""Summaries of benchmark records: mean ± std over seeds, as a text or markdown table."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

DEFAULT_METRICS = ("acc", "nmi", "ari", "f1", "modularity", "edge", "edge_trivial", "k")
# Every key graphclust.metrics.evaluate_partition can put in a record's "metrics".
KNOWN_METRICS = (
    "acc",
    "nmi",
    "ari",
    "f1",
    "n_labelled",
    "onmi",
    "overlap_f1",
    "modularity",
    "conductance",
    "coverage",
    "soft_modularity",
    "edge",
    "edge_trivial",
    "edge_inter_f1",
    "k",
)


def check_metrics(metrics: Sequence[str]) -> list[str]:
    """The metric names as a list; ``ValueError`` naming the unknown ones and the valid set.

    A misspelt name would otherwise be dropped silently from every table.
    """
    if isinstance(metrics, str):
        raise TypeError(f"metrics must be a sequence of names, got the string {metrics!r}")
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in KNOWN_METRICS]
    if unknown:
        raise ValueError(
            f"unknown metric(s) {', '.join(map(repr, unknown))}; valid: {', '.join(KNOWN_METRICS)}"
        )
    if not metrics:
        raise ValueError(f"no metrics asked for; valid: {', '.join(KNOWN_METRICS)}")
    return metrics


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def summarize(
    records: Iterable[dict[str, Any]], metrics: Sequence[str] = DEFAULT_METRICS
) -> list[dict[str, Any]]:
    """One row per (dataset, method): mean and sample std over seeds of each metric.

    Failed runs are counted (``failed``) but not averaged. Metrics a dataset lacks (e.g.
    accuracy on a graph without labels) are left out of its row. Unknown metric names
    raise ``ValueError`` (:func:`check_metrics`).
    """
    metrics = check_metrics(metrics)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    failed: dict[tuple[str, str], int] = defaultdict(int)
    for record in records:
        group = (record["dataset"], record["method"])
        if record.get("status") == "ok":
            groups[group].append(record)
        else:
            failed[group] += 1
    rows = []
    for group in sorted(set(groups) | set(failed)):
        runs = groups.get(group, [])
        row: dict[str, Any] = {
            "dataset": group[0],
            "method": group[1],
            "runs": len(runs),
            "failed": failed.get(group, 0),
        }
        for metric in metrics:
            values = [r["metrics"][metric] for r in runs if metric in r.get("metrics", {})]
            if values:
                row[metric] = _mean_std(values)
        if runs:
            row["time_s"] = _mean_std([r["wall_time_s"] for r in runs])
            row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        rows.append(row)
    return rows


def _cell(value: Any, metric: str) -> str:
    if value is None:
        return "-"
    mean, std = value
    if metric == "k":
        return f"{mean:.1f} ± {std:.1f}"
    if metric == "time_s":
        return f"{mean:.2f}"
    return f"{mean:.3f} ± {std:.3f}"


def format_table(
    rows: Sequence[dict[str, Any]],
    metrics: Sequence[str] = DEFAULT_METRICS,
    markdown: bool = False,
) -> str:
    """Render :func:`summarize` rows; ``markdown=True`` gives a GitHub table."""
    metrics = check_metrics(metrics)
    shown = [m for m in metrics if any(m in row for row in rows)]
    header = ["dataset", "method", "runs", *shown, "time_s", "peak_rss_mb"]
    body = []
    for row in rows:
        cells = [
            row["dataset"],
            row["method"],
            f"{row['runs']}" + (f" ({row['failed']} failed)" if row["failed"] else ""),
        ]
        cells += [_cell(row.get(m), m) for m in shown]
        cells.append(_cell(row.get("time_s"), "time_s"))
        cells.append(f"{row['peak_rss_mb']:.0f}" if "peak_rss_mb" in row else "-")
        body.append(cells)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*cells) for cells in body]
    return "\n".join(lines)


def format_report(
    rows: Sequence[dict[str, Any]],
    metrics: Sequence[str],
    context: dict[str, Any],
    title: str = "Benchmark results",
) -> str:
    """A markdown report: the table plus the command, date, machine and versions."""
    versions = ", ".join(f"{k} {v}" for k, v in context["versions"].items())
    machine = context["machine"]
    lines = [
        f"# {title}",
        "",
        f"- command: `{context['command']}`",
        f"- date (UTC): {context['date']}",
        f"- machine: {machine['platform']}, {machine['cpu_count']} CPUs, torch threads "
        f"{machine['torch_threads']}, GPU: {machine['gpu'] or 'none'}",
        f"- versions: {versions}",
        "- cells: mean ± sample std over seeds; time_s: mean wall seconds per run "
        "(fit + evaluation); peak_rss_mb: largest per-run peak resident memory of the process",
        "",
        format_table(rows, metrics, markdown=True),
        "",
    ]
    return "\n".join(lines)
