#!/bin/bash
# The card's ablations on the second core beside the demo's training (see model/README.md, Ablations).
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
T=model/runs/test2026/dataset.jsonl
for s in 1 2 3; do
  /usr/bin/python3 -m model.ablate --preset demo --test $T --cases 300 --decisions --threads 1 \
    --steps1 120 --steps2 80 --variants tghmoe,scratch,one_stage --seed $s --out model/runs/ablate-full-s$s
done
while [ ! -f model/runs/demo/stage1.pt ]; do sleep 30; done
for s in 1 2 3; do
  /usr/bin/python3 -m model.ablate --preset demo --test $T --cases 300 --decisions --threads 1 \
    --steps1 0 --steps2 100 --from-stage1 model/runs/demo/stage1.pt --variants tghmoe,gate_unsupervised,dense \
    --seed $s --out model/runs/ablate-stage2-s$s
done
echo queue done
