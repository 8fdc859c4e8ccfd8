#!/usr/bin/env bash
# The GPU check (issues 4 and 15) in one go, for a lent H100/H200 (../shared/gpu/README.md) or any machine:
#   the card; `ctlens bench` — vision-encoder ms, prefill ms, decode ms/token — on CPU, WebGPU and CUDA (where
#   its provider was installed), each with the fp32 and the fp16 graphs; and the greedy parity with the PyTorch
#   references on WebGPU (fp32: logits ≤ 1e-3; fp16: ≤ 1e-2, same tokens and text).
#
#   here, once:   bash bench/gpu-check.sh --prepare   → .cache/gpu-check/ (git-ignored, 0.8 MB): the CLI and the parity
#                 check bundled (cli.js, gpu-parity.js); with PREP_FP16=1 also the fp16 graphs (+11 MB). Without
#                 them the script makes them where it runs with model/fp16.py (the H200's python3 has onnx), which
#                 keeps the carried tree small (the device takes 64 MiB in all; tracked files are ~40 MB, .gpu ~37).
#   device:       source .gpu/on-device.sh && bash bench/gpu-check.sh
#                 carry: [".gpu", ".gl", ".cache/gpu-check"]  (the device has Node via on-device.sh, no npm, no internet)
#   no GPU:       CTLENS_SOFTWARE_VULKAN=1 bash bench/gpu-check.sh   (Chromium's SwiftShader; software-GPU figures)
#
# Writes a summary table and every JSON line to ${OUT:-bench/results/gpu-check}/. RUNS (default 5) measured runs per bench
# after a warm-up; TOKENS (default 128) decode steps; set FP16=0 or CUDA=0 to leave those out.
set -u
cd "$(dirname "$0")/.."
NODE=${NODE:-node}
PKG=media/models/ctlens-tghmoe-demo
PREP=.cache/gpu-check   # .cache/ is git-ignored
if [ "${1:-}" = "--prepare" ]; then
  set -e
  rm -rf "$PREP" && mkdir -p "$PREP/fp16"
  npm run build --silent >/dev/null && cp dist/cli.js "$PREP/cli.js"   # the product's own bundle
  npx esbuild bench/gpu-parity.ts --bundle --platform=node --target=node20 --external:onnxruntime-node \
    --outfile="$PREP/gpu-parity.js" --log-level=warning
  if [ "${PREP_FP16:-0}" = 1 ]; then
    tmp=$(mktemp -d)
    "${CTLENS_PYTHON:-/usr/bin/python3}" -m model.fp16 "$PKG" --out "$tmp/pkg"
    mv "$tmp"/pkg/onnx/*_fp16.onnx "$PREP/fp16/" && rm -rf "$tmp"
  fi
  du -sh "$PREP"
  exit 0
fi
[ -f "$PREP/cli.js" ] && [ -f "$PREP/gpu-parity.js" ] || { echo "run: bash bench/gpu-check.sh --prepare (here, then carry $PREP)"; exit 2; }
# The fp16 package: the bundled one plus the prepared fp16 graphs (the optional second package folder).
FP16_PKG=$(mktemp -d)/ctlens-tghmoe-demo-fp16
if ls "$PREP"/fp16/*_fp16.onnx >/dev/null 2>&1; then
  cp -r "$PKG" "$FP16_PKG" && cp "$PREP"/fp16/*_fp16.onnx "$FP16_PKG/onnx/"
else
  py=""; for c in ${CTLENS_PYTHON:-} /usr/bin/python3 python3; do "$c" -c 'import onnx' 2>/dev/null && { py=$c; break; }; done
  [ -n "$py" ] && "$py" -m model.fp16 "$PKG" --out "$FP16_PKG" >/dev/null || { echo "no python3 with onnx for model/fp16.py: no fp16 rows"; FP16=0; }
fi
out="${OUT:-bench/results/gpu-check}"   # bench/results/ is git-ignored
mkdir -p "$out"
RUNS=${RUNS:-5} TOKENS=${TOKENS:-128}
export CTLENS_REPO=$PWD
if [ "${CTLENS_SOFTWARE_VULKAN:-0}" = 1 ]; then
  icd=${CTLENS_VK_ICD:-/usr/lib/chromium/vk_swiftshader_icd.json}
  export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd LD_LIBRARY_PATH=$(dirname "$icd")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
fi
dtypes=(fp32); [ "${FP16:-1}" = 1 ] && [ -f "$FP16_PKG/onnx/decoder_model_merged_fp16.onnx" ] && dtypes+=(fp16)
eps=(cpu webgpu); [ "${CUDA:-1}" = 1 ] && eps+=(cuda)
log="$out/gpu-check.log"
: > "$log"
say() { echo "$*" | tee -a "$log"; }
say "== $(date -u +%FT%TZ) card: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi (software Vulkan: ${VK_ICD_FILENAMES:-none})")"
say "== $(nproc) CPU cores; onnxruntime-node $("$NODE" -p "require('onnxruntime-node/package.json').version" 2>/dev/null || echo '?')"
rows=()
for ep in "${eps[@]}"; do
  for dt in "${dtypes[@]}"; do
    model=$PKG; [ "$dt" = fp16 ] && model=$FP16_PKG
    say "== bench --ep $ep --dtype $dt"
    t0=$(date +%s)
    line=$("$NODE" "$PREP/cli.js" bench --ep "$ep" --dtype "$dt" --model "$model" --runs "$RUNS" --max-tokens "$TOKENS" --json 2>>"$log" | tail -1)
    echo "$line" | tee -a "$log" > "$out/bench-$ep-$dt.json"
    rows+=("$("$NODE" -e '
      const [ep, dt, s] = process.argv.slice(1); let f; try { f = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { f = null; }
      if (!f || f.error) { console.log(`${ep.padEnd(7)} ${dt.padEnd(5)} unavailable: ${(f && f.error || "no output").slice(0, 150)}`); process.exit(0); }
      const n = (x) => x.toFixed(1).padStart(9);
      console.log(`${ep.padEnd(7)} ${(f.dtype || dt).padEnd(5)} ${n(f.visionMs)} ${n(f.prefillMs)} ${n(f.decodeMsPerToken)} ${n(f.loadMs)}  (${f.provider}, ${s} s)`);
    ' "$ep" "$dt" "$(( $(date +%s) - t0 ))" <<< "$line")")
  done
done
say "== greedy parity with PyTorch on WebGPU (${PARITY_CASES:-all} references)"
parity=0
for dt in "${dtypes[@]}"; do
  model=$PKG; [ "$dt" = fp16 ] && model=$FP16_PKG
 # fp16 through `auto`: where the adapter has no shader-f16 (SwiftShader) it runs — and says it ran — fp32.
  "$NODE" "$PREP/gpu-parity.js" --ep webgpu --dtype "$([ "$dt" = fp16 ] && echo auto || echo fp32)" --model "$model" ${PARITY_CASES:+--cases "$PARITY_CASES"} > "$out/parity-webgpu-$dt.json" 2>>"$log" || parity=1
  "$NODE" -e '
    const dt = process.argv[1]; let p; try { p = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { console.log(`parity ${dt}: no result (see ${process.argv[2]})`); process.exit(0); }
    console.log(`parity webgpu ${dt} (ran ${p.dtype} on ${p.provider.used}, KV cache ${p.kvCacheLocation}): ${p.passed}/${p.cases} cases with equal greedy tokens and text, worst prefill-logit diff ${p.worstLogitDiff.toExponential(2)} (tolerance ${p.tolerance.logits})`);
    for (const f of p.failed) console.log(`  FAILED ${f.id}: ${f.error}`);
  ' "$dt" "$log" < "$out/parity-webgpu-$dt.json" | tee -a "$log"
done
{
  echo "== summary (median of $RUNS runs, $TOKENS decode steps)"
  echo "ep      dtype  vision ms prefill ms  ms/token   load ms"
  printf '%s\n' "${rows[@]}"
} | tee -a "$log" > "$out/summary.txt"
cat "$out/summary.txt" >/dev/null
exit $parity
