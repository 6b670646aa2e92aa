#!/usr/bin/env bash
# One ~9.5-minute command on a lent GPU: the torch k-means' CUDA tests and its timing
# (ksearch_speed.py), then DAG's detached configuration on PubMed at the paper's full
# settings (10 seeds, 10 workers, alone on the card) with selection="readout", the
# selection that does not depend on the detached read-out's argmax (dead on PubMed:
# the argmax selection kept epoch 50 in all ten fits of the ninth session).
#
# The k-means margin of the PubMed fits is sized from the search time just measured on
# this card (5x the torch search, at least 30 s), not from the CPU-sized default.
#
# Usage (repository root): OUT=/tmp/gpu GRAPHCLUST_DATA=gpu_payload/data \
#     bash experiments/gpu/dag_pubmed_readout.sh
# SMOKE=1: the same steps on the CPU with tiny settings (a test of this script).
source "$(dirname "$0")/common.sh"
END=$((SECONDS + ${TOTAL_S:-560}))
if [ -n "${SMOKE:-}" ]; then
    DEV=cpu SUITE_DEV="--device cpu --smoke" SEEDS=0,1 WORKERS=1 KS_ONLY=cora
else
    DEV=cuda SUITE_DEV="--device cuda" SEEDS=0,1,2,3,4,5,6,7,8,9 WORKERS=10 KS_ONLY=cora,citeseer,pubmed
fi
{
    date -u +%Y-%m-%dT%H:%M:%SZ
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    nproc
    python3 -c "import torch, torch_geometric as g, sklearn; print('torch', torch.__version__, 'pyg', g.__version__, 'sklearn', sklearn.__version__)"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt" >>"$LOG"

echo "=== kmeans tests $(date -u +%T)" >>"$LOG"
PYLIB=  # pytest from the payload when the machine has none (pip install --target)
python3 -c "import pytest" 2>/dev/null || PYLIB=:$PWD/gpu_payload/pylib
PYTHONPATH=$PYTHONPATH$PYLIB timeout 90 python3 -m pytest -q -rs tests/assign/test_kmeans.py tests/methods/test_ksearch.py \
    >>"$LOG" 2>&1
echo "=== kmeans tests exit $? ; ksearch_speed $(date -u +%T)" >>"$LOG"
timeout 100 python3 experiments/dag/ksearch_speed.py --device "$DEV" --only "$KS_ONLY" \
    --out "$OUT/ksearch_speed_gpu.jsonl" >>"$LOG" 2>&1
echo "=== ksearch_speed exit $? $(date -u +%T)" >>"$LOG"
MARGIN=$(python3 - "$OUT/ksearch_speed_gpu.jsonl" <<'PY'
import json, sys
try:
    rows = [json.loads(line) for line in open(sys.argv[1])]
    t = max(r["torch_s"] for r in rows if r["dataset"] == "pubmed")
except (OSError, ValueError, KeyError):
    t = 24.0  # no timing: the CPU-sized default (120 s)
print(max(30.0, 5 * t))
PY
)
BUDGET=$((END - SECONDS - 30))
echo "=== pubmed start $(date -u +%T): budget ${BUDGET}s, k-means margin ${MARGIN}s" >>"$LOG"
timeout --kill-after=10 $((BUDGET + 25)) python3 experiments/dag/run.py --suite gpu $SUITE_DEV \
    --seeds "$SEEDS" --only pubmed --workers "$WORKERS" --budget-s "$BUDGET" \
    --ksearch-margin-s "$MARGIN" --set decoder_factorized=False --set detach_readout=True \
    --set 'k_readout="kmeans"' --set 'selection="readout"' \
    --out "$OUT/dag_gpu_pubmed_detachsel.jsonl" >"$OUT/log_pubmed_detachsel.txt" 2>&1
echo "=== pubmed exit $? at $(date -u +%T)" >>"$LOG"
tail -n 14 "$OUT/log_pubmed_detachsel.txt" >>"$LOG"
