#!/usr/bin/env bash
# DAG at the paper's full settings on a lent GPU, in one command of ~9.5 minutes: the
# detached-readout configuration and the paper's (jointly trained) model, on PubMed and
# on Cora + CiteSeer, 10 seeds each. Two run.py processes share the card in each phase
# (PubMed with 10 workers beside Cora/CiteSeer with 5-6), so that PubMed's long fits and
# the small graphs' short ones overlap; each process holds its own deadline (gpu_suite.py)
# and every fit it cannot finish is recorded as truncated or skipped, never dropped.
#
# Usage (repository root): OUT=/tmp/gpu GRAPHCLUST_DATA=gpu_payload/data \
#     bash experiments/gpu/dag_session.sh
# SMOKE=1 runs the same commands with --smoke --device cpu and small budgets (a test of
# this script on a CPU).
source "$(dirname "$0")/common.sh"
SEEDS=0,1,2,3,4,5,6,7,8,9
if [ -n "${SMOKE:-}" ]; then
    DEV="--device cpu --smoke" P1=60 P2=45 SEEDS=0,1
else
    DEV="--device cuda" P1=${P1:-290} P2=${P2:-220}
fi
PLAIN=(--set decoder_factorized=False)
DETACH=(--set decoder_factorized=False --set detach_readout=True --set 'k_readout="kmeans"')

{
    date -u +%Y-%m-%dT%H:%M:%SZ
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    nproc
    python3 -c "import torch, torch_geometric as g, sklearn; print('torch', torch.__version__, 'pyg', g.__version__, 'sklearn', sklearn.__version__)"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt" | tee -a "$LOG"

run() {  # run TAG BUDGET WORKERS DATASETS OVERRIDES...
    local tag=$1 budget=$2 workers=$3 only=$4
    [ -n "${SMOKE:-}" ] && workers=1  # a CPU test: two processes, not 15
    shift 4
    echo "=== $tag start $(date -u +%T): budget ${budget}s, $workers workers, $only" >>"$LOG"
    timeout --kill-after=10 $((budget + 25)) python3 experiments/dag/run.py --suite gpu $DEV \
        --seeds "$SEEDS" --only "$only" --workers "$workers" --budget-s "$budget" "$@" \
        --out "$OUT/dag_gpu_$tag.jsonl" >"$OUT/log_$tag.txt" 2>&1
    echo "=== $tag exit $? at $(date -u +%T)" >>"$LOG"
}

# phase 1: the detached readout (the toolkit's best configuration)
run pubmed_detach "$P1" 10 pubmed "${DETACH[@]}" &
run cc_detach "$P1" 5 cora,citeseer "${DETACH[@]}" &
wait
# phase 2: the paper's model, jointly trained (today's plain decoder layer)
run pubmed_joint "$P2" 10 pubmed "${PLAIN[@]}" &
run cc_joint "$P2" 6 cora,citeseer "${PLAIN[@]}" &
wait
tail -n 3 "$OUT"/log_*.txt >>"$LOG"
