#!/bin/bash
# Every GPU measurement issue 24 asks for, in one run of under 9 minutes, side by side with
# Keras 3 (JAX backend) on the same GPU: the lecture net at batch 1, 10, 100 and 1000 (first
# epoch cold, steady epochs in one fit and per call, evaluate, predict, latency), the
# convnet, the lecture's 20 epochs in one fit, LSTM / GRU / a transformer block, the
# streaming sources, DataParallel over the machine's devices, the mixed_bfloat16 policy,
# the kernels a training step launches and the step against the GPU's product rate.
# Each stage has its own time limit and the whole run a budget (BUDGET seconds, default
# 500): a stage that would start past it is skipped and named in the table.
#
# Run from the repository root:  bash benchmarks/gpu_check.sh
# MNIST, Python and the Keras wheels: see _gpu_env.sh. The table goes to $OUT/gpu_check.md
# and .json (default benchmarks/results/gpu-check), with the log; the benchmarks' own files
# to $RES.
# GPU_CHECK_QUICK=1 runs every stage small (a smoke test of this script, on any machine).
source "$(dirname "${BASH_SOURCE[0]}")/_gpu_env.sh"
OUT=${OUT:-benchmarks/results/gpu-check}
RES=${RES:-/tmp/gpu-check-results}
BUDGET=${BUDGET:-500}
QUICK=${GPU_CHECK_QUICK:-0}
mkdir -p "$OUT" "$RES/bf16"
LOG="$OUT/gpu_check.log"
: > "$LOG"
START=$SECONDS
skipped=()
# stage NAME LIMIT COMMAND...: run it if the budget allows, log its output, remake the table
stage() {
    local name=$1 limit=$2; shift 2
    local used=$((SECONDS - START))
    if (( used + limit / 3 > BUDGET )); then
        echo "== $name: skipped ($used s used of $BUDGET)" | tee -a "$LOG"; skipped+=("$name")
        return
    fi
    (( used + limit > BUDGET )) && limit=$((BUDGET - used))
    echo "== $name ($(date +%T), limit $limit s)" | tee -a "$LOG"
    local t0=$SECONDS
    timeout "$limit" "$@" 2>&1 | quiet >> "$LOG"
    local rc=${PIPESTATUS[0]}
    echo "   $name: rc=$rc in $((SECONDS - t0)) s" | tee -a "$LOG"
    $PY benchmarks/gpu_table.py "$RES" --out "$OUT" > /dev/null 2>> "$LOG"
}

{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,utilization.gpu --format=csv; } 2>&1 | tee -a "$LOG"
if [ "$QUICK" = 1 ]; then
    SIZES=100,1000; FIT=(--quick --epochs 1); RNN=(--quick --rounds 1)
    STREAM=(--rows 3000 --rounds 1 --epochs 1); DP=(--epochs 1 --rows 3000); ROOF=(--rounds 1)
    LEVER=100:6000:3
else
    SIZES=1,10,100,1000; FIT=(--epochs 2); RNN=(--rows 60000 --transformer-rows 8192 --rounds 2)
    STREAM=(--rows 60000 --rounds 2 --epochs 2); DP=(--epochs 2); ROOF=(--rounds 3)
    LEVER=100:60000:20
fi

# a first check that everything imports and trains on the device: stop early if not
stage smoke 90 $PY -c "
import jax, numpy as np, cornu, keras, grain
print('devices', jax.devices(), 'jax', jax.__version__, 'keras', keras.__version__)
m = cornu.Sequential([cornu.Input((4,)), cornu.layers.Dense(3, activation='softmax')])
m.compile(loss='sparse_categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
h = m.fit(np.ones((64, 4), 'float32'), np.zeros(64, 'int32'), epochs=2, verbose=0)
print('smoke ok', h.history['loss'])
"
if ! grep -q "smoke ok" "$LOG"; then
    tail -30 "$LOG"; echo "smoke test failed: stopping"; exit 1
fi
stage fit_speed 210 $PY benchmarks/fit_speed.py --sizes $SIZES "${FIT[@]}" --out "$RES"
stage levers_20_epochs 50 env OUT="$RES" CORNU_COMPILATION_CACHE=0 \
    $PY benchmarks/gpu_levers.py default $LEVER
stage rnn_speed 130 $PY benchmarks/rnn_speed.py "${RNN[@]}" --out "$RES"
stage stream_speed 110 $PY benchmarks/stream_speed.py "${STREAM[@]}" --out "$RES"
stage dataparallel 70 $PY benchmarks/dataparallel_speed.py "${DP[@]}" --out "$RES"
stage step_kernels 60 $PY benchmarks/step_kernels.py --batch 100 --out "$RES/step_kernels.json"
stage mixed_bfloat16 50 $PY benchmarks/fit_speed.py --sizes 100 "${FIT[@]}" --no-convnet \
    --no-inference --policy mixed_bfloat16 --out "$RES/bf16"
stage roofline 60 $PY benchmarks/roofline.py "${ROOF[@]}" --out "$RES"
stage predict_phases 30 $PY benchmarks/predict_phases.py
stage levers_triton 50 env OUT="$RES" CORNU_COMPILATION_CACHE=0 CORNU_GPU_TRITON_GEMM=1 \
    $PY benchmarks/gpu_levers.py triton $LEVER
$PY benchmarks/gpu_table.py "$RES" --out "$OUT" 2>> "$LOG" | tail -80
echo "skipped: ${skipped[*]:-none}; $((SECONDS - START)) s in all" | tee -a "$LOG"
