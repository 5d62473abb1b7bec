#!/bin/bash
# The third, short GPU run of 2026-12-04 (issue 24): after the recurrent layers' time loop
# is written out on accelerators and large arrays go to the device in pieces, LSTM/GRU
# side by side with Keras, the lecture net at batch 1000 with evaluate/predict, and (after
# the NaN marker joined the step's sums) batch 100's steady epoch and kernels per step.
source "$(dirname "${BASH_SOURCE[0]}")/_gpu_env.sh"
OUT=${OUT:-/tmp/gpu-verify}
mkdir -p "$OUT"
echo "== rnn_speed $(date +%T)"
timeout 75 $PY benchmarks/rnn_speed.py --only lstm,gru --rows 60000 --rounds 2 --out "$OUT" 2>&1 | quiet | grep "^|"
echo "== fit_speed $(date +%T)"
timeout 70 $PY benchmarks/fit_speed.py --sizes 1000 --no-convnet --epochs 1 --out "$OUT" 2>&1 | quiet | tail -30
echo "== lecture net, 20 epochs at batch 100 $(date +%T)"
CORNU_COMPILATION_CACHE=0 timeout 30 $PY benchmarks/gpu_levers.py verify 100:60000:20 2>&1 | quiet
echo "== step kernels $(date +%T)"
timeout 30 $PY benchmarks/step_kernels.py --no-keras 2>&1 | quiet | cut -c1-300
echo "done $(date +%T)"
