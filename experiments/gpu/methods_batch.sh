#!/usr/bin/env bash
# The GPU batch of the methods added since the first GPU runs, and the test suite on a
# GPU machine, in one command of ~9 minutes on a lent H200 (16 cores). All parts run at
# once: the card has room for all of them, the 16 host cores are the limit (one thread
# per process). Each part writes its records as it goes and has its own time limit, so
# a part cut short still leaves its finished fits.
#
#   tests      the whole suite under pytest-xdist (junit xml + log)
#   depict     DEPICT and DEC targets on USPS and MNIST-test, paper-sized, 5 seeds
#   mlcd       MLCD --full (USPS, Cora; 3 seeds)
#   mgca       MGCA, its single-view ablations and PamC, default budgets, 4 graphs
#   gpc        GPC --full (mixture, Cora, CiteSeer, USPS, MNIST-test; 3 seeds)
#   trans      transductive clustering --full (10 draws)
#   maxquery   MaxQuery --full (3 seeds)
#   sdp        SDP k-means / iLA-SDP at the defaults, n = 300 and the scale series
#   sigma      SIGMA ablation on moving digits (4 shards, 5 seeds)
#
# Usage (repository root; the data travel as gpu_payload/data.tar.gz):
#   OUT=/tmp/gpu bash experiments/gpu/methods_batch.sh
# SMOKE=1 runs every part on the CPU for a few seconds (a test of this script).
# Results: $OUT/results.tar.gz holds every file under experiments/ written by the run.
source "$(dirname "$0")/common.sh"
if [ -f gpu_payload/data.tar.gz ] && [ ! -d gpu_payload/data ]; then
    tar xzf gpu_payload/data.tar.gz -C gpu_payload
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ -n "${SMOKE:-}" ]; then
    DEV=cpu LIMIT=${LIMIT:-20} NTEST=2
else
    DEV=cuda LIMIT=${LIMIT:-470} NTEST=4
fi
MARK=$(mktemp)
{
    date -u +%Y-%m-%dT%H:%M:%SZ
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    nproc
    python3 -c "import torch, torch_geometric as g, sklearn; print('torch', torch.__version__, 'pyg', g.__version__, 'sklearn', sklearn.__version__)"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt" >>"$LOG"

part() {  # part NAME COMMAND... (output in $OUT/log_NAME.txt)
    local name=$1 start=$SECONDS
    shift
    echo "=== $name start $(date -u +%T): $*" >>"$LOG"
    timeout --kill-after=10 "$LIMIT" "$@" >>"$OUT/log_$name.txt" 2>&1
    echo "=== $name exit $? after $((SECONDS - start))s" >>"$LOG"
}

B=$((LIMIT > 80 ? LIMIT - 40 : LIMIT))  # job-start budgets of the scripts that have one
part tests python3 -m pytest -q -n "$NTEST" -rfE --tb=short -p no:cacheprovider \
    --junitxml="$OUT/junit.xml" tests &
part depict python3 experiments/depict/run.py --full --device $DEV --workers 3 \
    --targets depict dec --datasets usps mnist-test --budget $B \
    --out experiments/depict/results_gpu_images.jsonl &
part mlcd python3 experiments/mlcd/run.py --full --device $DEV --budget $B &
part mgca bash -c "for d in cora acm; do python3 experiments/mgca/run.py --full --device $DEV \
    --prototypes 500 --datasets \$d --out-dir experiments/mgca/gpu; done" &
part mgca2 bash -c "for d in citeseer photo; do python3 experiments/mgca/run.py --full \
    --device $DEV --prototypes 500 --datasets \$d --out-dir experiments/mgca/gpu; done" &
part gpc python3 experiments/gpc/run.py --full --device $DEV --workers 3 \
    --out experiments/gpc/results_gpu.jsonl &
part trans python3 experiments/transductive/run.py --full --device $DEV \
    --out experiments/transductive/results_gpu_full &
part maxquery python3 experiments/maxquery/run.py --full --device $DEV \
    --out experiments/maxquery/results_gpu_full &
part sdp python3 experiments/sdp/run.py --device $DEV --full --tag ${DEV}_full_h200_defaults &
for i in 0 1 2 3; do
    part sigma$i python3 experiments/sigma/ablation.py --device $DEV --shard $i/4 \
        --budget $B ${SMOKE:+--epochs 1 --n-clips 200 --seeds 0} \
        --out experiments/sigma/ablation_gpu_$i.jsonl &
done
wait
find experiments -type f -newer "$MARK" -print0 | tar czf "$OUT/results.tar.gz" --null -T -
tail -n 4 "$OUT"/log_*.txt >>"$LOG" 2>&1
tar czf "$OUT/logs.tar.gz" -C "$OUT" $(cd "$OUT" && ls log_*.txt)
rm -f "$OUT"/log_*.txt "$MARK"
