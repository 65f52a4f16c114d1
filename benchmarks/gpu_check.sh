#!/usr/bin/env bash
# The GPU path checked: a CUDA smoke test of every problem kind, then steps/s at d = 1,000 and 4,000 against
# the CPU, one JSON object per line (benchmarks/gpu_check.py says what each line holds; docs/benchmarks.md).
# Run from the repository root:   PYTHONPATH=$PWD bash benchmarks/gpu_check.sh [--sizes 1000,4000] [...]
# Exits 1 with one line when torch sees no CUDA device, and when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "gpu_check: no Python interpreter '$PY' (set PYTHON=/path/to/python)" >&2
  exit 1
fi
export PYTHONPATH="${PYTHONPATH:-$PWD}"
exec "$PY" benchmarks/gpu_check.py "$@"
