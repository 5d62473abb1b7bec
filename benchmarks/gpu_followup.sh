#!/bin/bash
# The second GPU run of 2026-12-04 (issue 24): the probes behind the figures that missed
# their goals in gpu_check.sh's table. cornu alone unless said. Writes to $OUT: the log,
# the optimised HLO of cornu's and Keras' lecture-net step at batch 100.
#  1. LSTM/GRU fit epochs (60,000 MNIST rows, batch 128) with the time loop unrolled
#     (CORNU_RNN_UNROLL 1, 4, 14, 28) and with XLA's CUDA-graph loops (WHILE command buffers)
#  2. DataParallel against plain fit (gpu_probe.py dp), then dataparallel_speed.py with Keras
#  3. predict's input transfer (gpu_probe.py put)
#  4. the kernels of a lecture-net step (step_kernels.py --save-hlo)
QUIET_MORE='\|^wrote'
source "$(dirname "${BASH_SOURCE[0]}")/_gpu_env.sh"
OUT=${OUT:-/tmp/gpu-followup}
RES=${RES:-/tmp/gpu-followup-results}
mkdir -p "$OUT" "$RES"
LOG="$OUT/gpu_followup.log"
run() { local limit=$1; shift; echo "== $* ($(date +%T))" | tee -a "$LOG"
        timeout "$limit" "$@" 2>&1 | quiet | tee -a "$LOG" | grep '"fit_epoch"\|RESULT\|^{' | cut -c1-400; }
RNN=(benchmarks/rnn_speed.py --no-keras --only lstm,gru --rows 60000 --rounds 2 --out "$RES")
for u in 1 4 14 28; do
    run 60 env CORNU_RNN_UNROLL=$u $PY "${RNN[@]}"
done
run 60 env XLA_FLAGS=--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,WHILE,CONDITIONAL \
    $PY "${RNN[@]}"
run 100 $PY benchmarks/gpu_probe.py dp
run 40 $PY benchmarks/gpu_probe.py put
run 60 $PY benchmarks/dataparallel_speed.py --epochs 2 --out "$RES"
run 45 $PY benchmarks/step_kernels.py --batch 100 --save-hlo "$OUT"
echo "done $(date +%T)"
