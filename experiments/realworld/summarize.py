"""Tables of the real-world suite from its JSON lines: ``results.md``.

Usage: ``python experiments/realworld/summarize.py [results.jsonl ...]`` (default: every
``results*.jsonl`` beside this file). Mean ± population std over seeds of the final,
label-free-selected model of each fit; K is the number of clusters found (KMeans and
PamC are given the true K). The target rows compare each label-free deep method (DAG's
presets, which read no label, K included) with Louvain on the attributed graphs.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABEL_FREE_DEEP = ("dag-cpu", "dag-gpu", "dag-paper")
COLUMNS = ("nmi", "ari", "onmi", "modularity", "edge_gap")


def _mean_std(values: list[float]) -> str:
    if not values:
        return ""
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} ± {std:.3f}"


def load(paths: list[Path]) -> list[dict]:
    records = {}
    for path in paths:
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            key = (r["graph"], r["method"], r["features"], r["seed"], r.get("device"))
            records[key] = r
    return list(records.values())


def groups(records: list[dict]) -> dict[tuple, list[dict]]:
    by = defaultdict(list)
    for r in records:
        by[(r["graph"], r["method"], r["features"], r.get("device", "cpu"))].append(r)
    return by


def value(r: dict, column: str) -> float | None:
    m = r["metrics"]
    if m is None:
        return None
    if column == "edge_gap":
        return m["edge"] - m["edge_trivial"]
    return m.get(column)


def graph_table(by: dict[tuple, list[dict]], graph: str) -> list[str]:
    rows = []
    for (g, method, kind, device), runs in sorted(by.items()):
        if g != graph:
            continue
        ok = [r for r in runs if r["metrics"] is not None]
        cells = [_mean_std([v for r in ok if (v := value(r, c)) is not None]) for c in COLUMNS]
        ks = [r["metrics"]["k"] for r in ok]
        k = f"{statistics.fmean(ks):.1f}" if ks else ""
        secs = [r["wall_s"] for r in ok]
        cpu = [r["cpu_s"] / max(1, r.get("torch_threads", 1)) for r in ok]
        errors = len(runs) - len(ok)
        note = f"{errors} failed: {runs[0]['error'][:80]}" if errors else ""
        restarts = sum(r.get("restarts", 0) for r in ok)
        if restarts:
            note = (note + "; " if note else "") + f"{restarts} cluster restarts"
        empty = sum(1 for r in ok if any("clusters hold nodes" in w for w in r["warnings"]))
        if empty:
            note = (note + "; " if note else "") + f"{empty} fits left clusters empty (warned)"
        mean_cpu = statistics.fmean(cpu) if cpu else 0.0
        timing = f"{mean_cpu:.1f} | {max(cpu, default=0.0):.1f} | {max(secs, default=0.0):.1f}"
        cells_text = " | ".join(cells)
        rows.append(
            f"| {method} | {kind} | {device} | {len(runs)} | {cells_text} | {k} | {timing} "
            f"| {note} |"
        )
    return rows


def targets(by: dict[tuple, list[dict]], attributed: list[str]) -> list[str]:
    def mean_nmi(graph: str, method: str) -> float | None:
        runs = [
            r["metrics"]["nmi"]
            for (g, m, _, _), rs in by.items()
            if g == graph and m == method
            for r in rs
            if r["metrics"] is not None and r["features"] in ("attributes", "none")
        ]
        return statistics.fmean(runs) if runs else None

    lines = [
        "| method | attributed graphs measured | NMI above Louvain on | mean NMI "
        "| Louvain mean NMI |",
        "|---|---|---|---|---|",
    ]
    for method in (*LABEL_FREE_DEEP, "pamc (true K)"):
        name = method.split(" ")[0]
        pairs = [(mean_nmi(g, name), mean_nmi(g, "louvain")) for g in attributed]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        if not pairs:
            continue
        wins = sum(a > b for a, b in pairs)
        lines.append(
            f"| {method} | {len(pairs)} | {wins} of {len(pairs)} | "
            f"{statistics.fmean(a for a, _ in pairs):.3f} | "
            f"{statistics.fmean(b for _, b in pairs):.3f} |"
        )
    return lines


COMPACT = ("louvain", "label-propagation", "kmeans", "pamc", "dag-cpu")
# features of the feature-based methods on featureless graphs in the compact table, fixed
# before measurement (the full tables give every kind)
COMPACT_KIND = "laplacian"


def compact(by: dict[tuple, list[dict]], graphs: list[str]) -> list[str]:
    """One row per graph: mean NMI (mean K) of the main methods, the best in bold."""
    head = "| graph (true K) | " + " | ".join(COMPACT) + " |"
    lines = [head, "|---" * (len(COMPACT) + 1) + "|"]
    for graph in graphs:
        cells, values = [], []
        true_k = None
        for method in COMPACT:
            runs = [
                r
                for (g, m, kind, _), rs in by.items()
                if g == graph and m == method and kind in ("attributes", "none", COMPACT_KIND)
                for r in rs
                if r["metrics"] is not None
            ]
            if not runs:
                cells.append("")
                values.append(None)
                continue
            true_k = runs[0]["true_k"]
            nmi = statistics.fmean(r["metrics"]["nmi"] for r in runs)
            k = statistics.fmean(r["metrics"]["k"] for r in runs)
            cells.append(f"{nmi:.3f} ({k:.0f})")
            values.append(nmi)
        best = max((v for v in values if v is not None), default=None)
        cells = [
            f"**{c}**" if v is not None and v == best else c
            for c, v in zip(cells, values, strict=True)
        ]
        lines.append(f"| {graph} ({true_k}) | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted(HERE.glob("results*.jsonl"))
    records = load(paths)
    by = groups(records)
    graphs = sorted({r["graph"] for r in records}, key=lambda g: (not g.startswith("f"), g))
    attributed = sorted({r["graph"] for r in records if r["attributed"]})
    meta = records[0] if records else {}
    out = [
        "# Real-world suite (generated by summarize.py)",
        "",
        f"Sources: {', '.join(p.name for p in paths)}. Machine of the first record: "
        f"{meta.get('machine', {}).get('processor', '?')}, "
        f"{meta.get('machine', {}).get('cpu_count', '?')} CPUs, torch threads per fit "
        f"{meta.get('torch_threads', '?')}; versions {meta.get('versions', {})}.",
        "",
        "## NMI at a glance",
        "",
        "Mean NMI over the seeds (mean K found in brackets; KMeans and PamC are given the "
        f"true K); on featureless graphs the feature-based methods use `{COMPACT_KIND}` "
        "features here (every kind in the per-graph tables).",
        "",
        *compact(by, graphs),
        "",
        "## Label-free deep methods against Louvain on the attributed graphs",
        "",
        *targets(by, attributed),
        "",
        "## Per graph",
        "",
        "NMI/ARI against the hard labels (fb-*: each node's largest circle, nodes in no "
        "circle excluded); onmi: overlapping NMI against the circles (fb-* only); "
        "edge_gap: EDGE minus the one-cluster EDGE; K: clusters found (true K in the "
        "heading); CPU s: process CPU seconds per fit divided by the torch threads (what "
        "the fit costs on an idle core: the wall seconds, also given, are inflated by the "
        "other jobs that shared this 2-core machine while the suite ran).",
    ]
    for graph in graphs:
        any_run = next(r for r in records if r["graph"] == graph)
        out += [
            "",
            f"### {graph} (N {any_run['n_nodes']}, E {any_run['n_edges']}, true K "
            f"{any_run['true_k']}, {'attributed' if any_run['attributed'] else 'no features'})",
            "",
            "| method | features | device | fits | NMI | ARI | oNMI | modularity | EDGE gap "
            "| K | CPU s mean | CPU s max | wall s max | notes |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *graph_table(by, graph),
        ]
    (HERE / "results.md").write_text("\n".join(out) + "\n")
    print("\n".join(out[:20]))


if __name__ == "__main__":
    main()
