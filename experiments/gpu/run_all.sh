#!/usr/bin/env bash
# Every GPU check and benchmark of graphclust in one run, for a lent GPU machine.
#
# Runs from the repository root with the package on PYTHONPATH (not pip-installed) and
# the benchmark data under $GRAPHCLUST_DATA. Each part has its own time limit so that a
# failure or an overrun in one part still leaves the others' results. Results go to
# $OUT (one file per part) and are committed under experiments/<part>/ with the device
# named in each record.
#
# Usage: OUT=/tmp/gpu GRAPHCLUST_DATA=gpu_payload/data bash experiments/gpu/run_all.sh
source "$(dirname "$0")/common.sh"
SMOKE=${SMOKE:-}

part() {  # part NAME SECONDS COMMAND...
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    echo "=== $name (limit ${limit}s): $*" | tee -a "$LOG"
    timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
    echo "=== $name: exit $? after $((SECONDS - start))s" | tee -a "$LOG"
}

{
    date -u +%Y-%m-%dT%H:%M:%SZ
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    python3 -c "import torch, torch_geometric as g; print('torch', torch.__version__, 'pyg', g.__version__)"
    python3 -c "import triton; print('triton', triton.__version__)" 2>&1
} >"$OUT/env.txt"
cat "$OUT/env.txt" | tee -a "$LOG"

# The run of 2026-11-28 (log_h200.txt, env_h200.txt beside this script) had about 2.5
# minutes of device time and used short budgets: --budget-s 15 for PamC, --budget 40 for
# SwAV (which then started no job: fixed since), --budget-s 42 with --only cora,citeseer
# for DAG (every fit truncated). The budgets below fill one ~9.5-minute command; PubMed
# at DAG's full settings needs a second one (experiments/dag/README.md, GPU section).
part ksearch 90 python3 experiments/dag/ksearch_speed.py --device cuda \
    --out "$OUT/ksearch_speed_gpu.jsonl"
part pamc_speed 60 python3 experiments/pamc/speed.py --device cuda --budget-s 35 \
    --out "$OUT/pamc_speed_gpu.jsonl"
part knn 160 python3 experiments/knn/bench.py --device cuda --out "$OUT/knn_gpu.jsonl"
part swav 175 python3 experiments/swav/run.py --device cuda --budget 150 \
    --out "$OUT/swav_gpu.jsonl"
part dag_full 175 python3 experiments/dag/run.py --suite gpu --device cuda \
    --seeds 0,1,2,3,4,5,6,7,8,9 --only cora,citeseer --budget-s 150 \
    --set decoder_factorized=False --out "$OUT/dag_gpu.jsonl"
