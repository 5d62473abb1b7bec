#!/bin/bash
# Every GPU measurement issue 3 asks for, in one run of about 5 minutes on an H100 (its
# steps time out after 595 s in all, so it fits a 10-minute slot):
# fit side by side with Keras at batch 1, 10, 100, 1000 and the convnet (with evaluate,
# predict and latency), the lecture's 20 epochs in one fit, the mixed_bfloat16 policy at
# batch 100, predict's phases, the compiler settings at batch 1 and 100, and batch 100's
# epoch against the step's matrix products (roofline.py, cornu alone).
#
# Run from the repository root. MNIST is read from $CORNU_DATA (default .bench/data);
# Keras is installed from the wheels in .bench/whl when it is not importable. Results go
# to $OUT (default benchmarks/results).
set -u
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
export CORNU_DATA=${CORNU_DATA:-$PWD/.bench/data}
OUT=${OUT:-benchmarks/results}
PY=${PYTHON:-python3}
if ! $PY -c "import keras" 2>/dev/null && ls .bench/whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .bench/whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
nvidia-smi -L 2>/dev/null
quiet() { grep -v "^WARNING\|^I0000\|^E0000\|^W0000"; }
echo "== fit_speed $(date +%T)"
timeout 240 $PY benchmarks/fit_speed.py --sizes 1,10,100,1000 --epochs 2 --out "$OUT" 2>&1 | quiet | tail -45
echo "== mixed_bfloat16 $(date +%T)"
timeout 60 $PY benchmarks/fit_speed.py --sizes 100 --epochs 2 --no-convnet --no-inference \
    --policy mixed_bfloat16 --out "$OUT" 2>&1 | quiet | grep "lecture MLP"
echo "== the lecture's 20 epochs in one fit, and compiler settings $(date +%T)"
for setting in "default" "CORNU_GPU_TRITON_GEMM=1"; do
    env CORNU_COMPILATION_CACHE=/tmp/cornu-cc-$RANDOM ${setting/default/CORNU_GPU_TRITON_GEMM=0} \
        timeout 60 $PY benchmarks/gpu_levers.py "$setting" 1:6000:3 100:60000:20 2>&1 | quiet
done
echo "== the lecture's program end to end $(date +%T)"
timeout 90 $PY benchmarks/lecture_end_to_end.py --rounds 1 --out "$OUT" 2>&1 | quiet | tail -14
echo "== roofline, batch 100 $(date +%T)"
timeout 40 $PY benchmarks/roofline.py --rounds 3 --no-keras --out "$OUT" 2>&1 | quiet | tail -16
echo "== predict phases $(date +%T)"
timeout 45 $PY benchmarks/predict_phases.py 2>&1 | quiet
date +%T
