#!/usr/bin/env bash
# The GPU check of issue 4, as one short script for a machine with a GPU (run from the repository root after
# `npm ci && npm run build`): the card, `ctlens bench` on WebGPU and on the CPU of the same machine, and the
# greedy-parity test on WebGPU. Writes everything to ${OUT:-gpu-check}/ as well as stdout.
set -u
out="${OUT:-gpu-check}"
mkdir -p "$out"
{
  echo "== card"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "no nvidia-smi"
  echo "== ctlens bench --ep webgpu"; node dist/cli.js bench --ep webgpu --runs 5 --json 2>&1 | tail -1 | tee "$out/bench-webgpu.json"
  echo "== ctlens bench --ep cpu"; node dist/cli.js bench --ep cpu --runs 5 --json 2>&1 | tail -1 | tee "$out/bench-cpu.json"
  echo "== ctlens bench --ep cuda (only where the CUDA provider was installed)"; node dist/cli.js bench --ep cuda --runs 5 --json 2>&1 | tail -1
  echo "== greedy parity on WebGPU"
  CTLENS_TEST_EP=webgpu CTLENS_EXPECT_GPU=1 npx mocha --no-config --node-option import=tsx --timeout 300000 \
    test/core/model/parity.test.ts 2>&1 | grep -E "passing|failing|worst|[0-9]+\) " | tee "$out/parity-webgpu.txt"
} 2>&1 | tee "$out/gpu-check.log"
