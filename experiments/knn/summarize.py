"""Markdown tables from the kNN benchmark's JSON-lines files (experiments/knn/bench.py).

Usage (from the repository root)::

    python experiments/knn/summarize.py experiments/knn/results_cpu.jsonl \
        experiments/knn/results_gpu_h200.jsonl

Rows of a CPU file give one table (seconds and ratio to our torch path per method);
rows of a GPU file another (plain path vs Triton kernel). ``*`` marks times scaled
from a subset of the queries.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def _seconds(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def cpu_table(rows: list[dict]) -> list[str]:
    methods = ["torch", "faiss", "sklearn", "pyg"]
    by_case: dict[tuple, dict] = defaultdict(dict)
    for row in rows:
        by_case[(row["n"], row["d"])][row["method"]] = row
    head = "| N | d | queries timed | " + " | ".join(methods) + " |"
    lines = [head, "|" + "---|" * (3 + len(methods))]
    for (n, d), cells in sorted(by_case.items()):
        queries = next(iter(cells.values()))["queries"]
        out = [f"{n:,}", str(d), f"{queries:,}" + ("" if queries == n else " (extrapolated)")]
        for method in methods:
            row = cells.get(method)
            if row is None:
                out.append("not run")
            elif "error" in row:
                out.append("unavailable")
            else:
                star = "*" if row["extrapolated"] else ""
                share = row["agree_with_torch"]
                agree = "" if share == 1.0 else f", {100 * share:.3f}% same sets"
                out.append(
                    f"{_seconds(row['total_s'])}{star} s (x{row['ratio_to_torch']:.2f}{agree})"
                )
        lines.append("| " + " | ".join(out) + " |")
    errors = {row["method"]: row["error"] for row in rows if "error" in row}
    lines += [""] + [f"- {method} unavailable: {error}" for method, error in errors.items()]
    return lines


def gpu_table(rows: list[dict]) -> list[str]:
    head = (
        "| N | d | dtype | mode | plain s | Triton s | speedup | Triton TFLOP/s (% peak) "
        "| same sets Triton / plain | max dist diff Triton / plain | tiles |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in rows:
        # 16-bit rows: the kernel's products are exact whatever the float32 mode says.
        mode = row["precision"] if row["dtype"] == "float32" else "exact"
        case = [f"{row['n']:,}", str(row["d"]), row["dtype"], mode]
        if "skipped" in row or "error" in row:
            lines.append("| " + " | ".join(case) + f" | {row.get('skipped', row.get('error'))} |")
            continue
        star = "*" if row["plain_extrapolated"] else ""
        share = row.get("triton_share_of_peak")
        tflops = f"{row['triton_tflops']:.0f}" + (f" ({100 * share:.0f}%)" if share else "")
        config = (row.get("triton_config") or "").replace("BLOCK_", "").split(", num_ctas")[0]
        case += [
            f"{_seconds(row['plain_s'])}{star}",
            _seconds(row["triton_s"]),
            f"{row['speedup']:.1f}",
            tflops,
            f"{row['same_sets_triton']:.4f} / {row['same_sets_plain']:.4f}",
            f"{row['max_dist_diff_triton']:.1e} / {row['max_dist_diff_plain']:.1e}",
            config,
        ]
        lines.append("| " + " | ".join(case) + " |")
    return lines


def main() -> None:
    for path in sys.argv[1:]:
        rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line]
        header = next(row for row in rows if row.get("kind") == "header")
        body = [row for row in rows if "kind" not in row]
        where = header.get("device_name") or header["machine"]["platform"]
        print(f"### {path}\n\n`{header['command']}` ({header['date']}, {where})\n")
        cpu = [row for row in body if "method" in row]
        kernel = [row for row in body if "method" not in row]
        for table in ([cpu_table(cpu)] if cpu else []) + ([gpu_table(kernel)] if kernel else []):
            print("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
