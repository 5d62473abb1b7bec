# Sourced by the GPU scripts (gpu_check.sh, gpu_followup.sh, gpu_verify.sh), run from the
# repository root: the environment they share. MNIST is read from $CORNU_DATA (default
# .bench/data); Python is $PYTHON (default python3), as $PY. Keras and grain are installed
# from the wheels in .bench/whl (`pip download` them for the GPU machine's Python) into
# /tmp/site when they are not importable. quiet filters JAX's and Python's warnings out of
# a log; QUIET_MORE (e.g. '\|^wrote') adds patterns.
set -u
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
export CORNU_DATA=${CORNU_DATA:-$PWD/.bench/data}
PY=${PYTHON:-python3}
if ! $PY -c "import keras, grain" 2>/dev/null && ls .bench/whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .bench/whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
QUIET_MORE=${QUIET_MORE:-}
quiet() { grep -v "^WARNING\|^I0000\|^E0000\|^W0000\|^ *warnings.warn\|UserWarning$QUIET_MORE"; }
