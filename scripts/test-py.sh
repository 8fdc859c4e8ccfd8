#!/usr/bin/env bash
# Python tests of model/ with Debian's interpreter (plain python3 on PATH may be a pyenv shim without torch).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${CTLENS_PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OPENBLAS_NUM_THREADS=1
if [ ! -d model/tests ]; then echo "no Python tests yet"; exit 0; fi
exec "$PY" -m pytest -q model/tests "$@"
