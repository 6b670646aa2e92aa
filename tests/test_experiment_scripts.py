"""Smoke runs of experiment scripts whose plumbing has no library home, as subprocesses
(no test imports a script).

experiments/dag/k_diagnosis.py subclasses DAG to keep the embeddings of every evaluated
checkpoint; the K that DAG reads from its kept checkpoint must be the one its own rule
picks from the scores the script logged for that checkpoint's embeddings, which fails
if the script kept other embeddings than DAG returned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphclust.bench.k_rules import K_RULES, pick_k

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_k_diagnosis_logs_the_checkpoint_dag_keeps(tmp_path: Path) -> None:
    out = tmp_path / "k_diagnosis.jsonl"
    script = ROOT / "experiments" / "dag" / "k_diagnosis.py"
    command = [sys.executable, str(script), "--settings", "reduced", "--dataset", "sbm-k5"]
    command += ["--seeds", "0", "--epochs", "2", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    kept = [r for r in records if r["selected"]]
    assert len(kept) == 1 and kept[0]["true_k"] == 5
    assert len(kept[0]["per_k"]) == kept[0]["params"]["k_max"] - 1
    assert pick_k(kept[0]["per_k"], K_RULES["Q x CH(H)"])["k"] == kept[0]["n_clusters"]
