"""``results.md`` of the SwAV benchmark: mean ± std over seeds, one row per device.

Reads the CPU sweep's ``results.jsonl`` and the budgeted (GPU) runs' JSON-lines files;
headers, summaries, skipped jobs and smoke runs are left out, and records without a
device field (the CPU sweep) are labelled :data:`CPU_DEVICE`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphclust.bench.environment import run_context
from graphclust.bench.table import summarize

METRICS = ("acc", "nmi", "ari")
PUBLISHED = {"usps": 0.964, "mnist-test": 0.965}  # DEPICT (Ghasedi Dizaji et al. 2017), ACC
CPU_DEVICE = "CPU (2 cores, shared)"  # what produced the records without a device field


def read_records(paths: list[Path]) -> list[dict[str, Any]]:
    """Run records of the given files (headers, summaries, skips and smoke runs left out)."""
    records = []
    for path in paths:
        smoke_runs = set()
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("record") == "header" and rec.get("smoke"):
                smoke_runs.add(rec["run_id"])
            if "record" in rec or rec.get("status") == "skipped" or rec.get("run_id") in smoke_runs:
                continue
            rec.setdefault("device", CPU_DEVICE)
            records.append(rec)
    return records


def budgeted_run_lines(paths: list[Path]) -> list[str]:
    """One line per budgeted (non-smoke) run in ``paths``: device, versions, outcomes."""
    lines = []
    for path in paths:
        summaries = {}
        headers = []
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("record") == "header" and not rec.get("smoke"):
                headers.append(rec)
            elif rec.get("record") == "summary":
                summaries[rec["run_id"]] = rec
        for h in headers:
            done = summaries.get(h["run_id"], {})
            lines.append(
                f"- budgeted run {h['run_id']} (`{path.name}`): {h['device']}, torch {h['torch']}"
                f" (CUDA {h['cuda']}), {h['workers']} workers, budget {h['budget_s']:.0f} s, "
                f"elapsed {done.get('elapsed_s', '?')} s, outcomes {done.get('outcomes', '?')}"
            )
    return lines


def write_table(paths: list[Path], md_path: Path) -> None:
    records = read_records(paths)
    context = run_context()
    lines = [
        "# SwAV on USPS and MNIST-test",
        "",
        f"- table written by: `{context['command']}` on {context['date']} from "
        + ", ".join(f"`{p.name}`" for p in paths),
        "- device: where the row's runs trained (the CPU rows: 2 shared cores, one torch "
        "thread per run; GPU rows: several runs at once on one card, see README.md)",
        "- cells: mean ± sample std over seeds; runs: finished runs (failed: errors or runs "
        "stopped by the time budget); time_s: mean wall seconds per run (fit + evaluation)",
        f"- CPU rows: `results.jsonl`, torch {context['versions']['torch']} "
        f"(the versions of the machine writing this table)",
        *budgeted_run_lines(paths),
        "",
        "| dataset | method | device | runs | acc | nmi | ari | time_s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    devices = sorted({r["device"] for r in records})
    rows = []
    for device in devices:
        for row in summarize([r for r in records if r["device"] == device], METRICS):
            rows.append({**row, "device": device})
    rows.sort(key=lambda r: (r["dataset"], r["method"], r["device"]))
    for row in rows:
        runs = f"{row['runs']}" + (f" ({row['failed']} failed)" if row["failed"] else "")
        cells = [f"{row[m][0]:.3f} ± {row[m][1]:.3f}" if m in row else "-" for m in METRICS]
        time_s = f"{row['time_s'][0]:.1f}" if "time_s" in row else "-"
        lines.append(
            f"| {row['dataset']} | {row['method']} | {row['device']} | {runs} | "
            + " | ".join(cells)
            + f" | {time_s} |"
        )
    lines += ["", "Published reference (ACC only, not rerun):", ""]
    lines += [f"- {name}: DEPICT {acc:.3f}" for name, acc in PUBLISHED.items()]
    md_path.write_text("\n".join(lines) + "\n")


__all__ = ["read_records", "write_table"]
