#!/usr/bin/env bash
# WebGPU check on a lent GPU machine (onnxruntime-node's bundled WebGPU provider, Dawn over
# Vulkan): serve the committed models with DEVICE=auto, compare the answers with DEVICE=cpu ones,
# load it concurrently, then run bench:translate and bench:generate on the GPU. From the repo root:
#   bash .gpu/webgpu-check.sh
# Carry: .gpu/bundle.tar.xz (node + runtime node_modules, see build-bundle.sh) and .gl (the Vulkan
# loader and libglvnd .debs: apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0
# libgles2; the NVIDIA Vulkan ICD needs libglvnd). Results: stdout and $OUT (8 files at most).
# Env: OUT (default /tmp/webgpu-out), GPU_BENCH_RUNS (default 1) runs of each GPU bench (the logs in
#   $OUT hold the last), BENCH_SECONDS (bench:generate, default 2), BATCH_BENCH=1 adds bench:batch,
#   CPU_BENCH=0 skips the CPU bench:translate baseline,
#   SKIP_BENCH=1 skips every bench (a quick self-test of the script on any machine).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
OUT=${OUT:-/tmp/webgpu-out}
mkdir -p "$OUT"
T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }
section() { echo; echo "=== [$(elapsed) s] $* ==="; }
SERVER_PID=
MOVED=
cleanup() {
  [ -n "$SERVER_PID" ] && kill -KILL -- "-$SERVER_PID" 2>/dev/null
  if [ -n "$MOVED" ]; then rm -f node_modules && mv "$MOVED" node_modules; fi
}
trap cleanup EXIT

section "setup"
BUNDLE_DIR=/tmp/ganserve-bundle
if [ ! -x "$BUNDLE_DIR/bin/node" ]; then
  mkdir -p "$BUNDLE_DIR" && xz -T8 -dc .gpu/bundle.tar.xz | tar -xf - -C "$BUNDLE_DIR" || { echo "FATAL: bundle unpack failed"; exit 1; }
fi
if [ -e node_modules ] && [ ! -L node_modules ]; then MOVED=/tmp/node_modules.prev.$$; mv node_modules "$MOVED"; fi
ln -sfn "$BUNDLE_DIR/node_modules" node_modules
export PATH=$BUNDLE_DIR/bin:$PATH
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$ICD" ] && export VK_DRIVER_FILES=$ICD
nvidia-smi -L
echo "node $(node --version), $(nproc) cores, VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
timeout 30 node .gpu/client.mjs mkjpeg /tmp/webgpu-512.jpg

# serve DEVICE TAG: starts the server in its own process group, waits until ready.
serve() {
  local port
  port=$(timeout 15 node .gpu/client.mjs port)
  BASE=http://127.0.0.1:$port
  PORT=$port HOST=127.0.0.1 MODELS_DIR=models DEVICE=$1 LOG_LEVEL=info setsid timeout -k 5 300 node --import tsx server/main.ts >"$OUT/server-$2.log" 2>&1 &
  SERVER_PID=$!
  timeout 90 node .gpu/client.mjs ready "$BASE" 80 "$SERVER_PID" || { echo "server ($1) not ready:"; tail -n 30 "$OUT/server-$2.log"; return 1; }
}
stop() {
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID"
  echo "server exit code after SIGTERM: $? (expected 0)"
  SERVER_PID=
}
# answers TAG: the PNG answers compared across providers (translate 512², a generate grid).
answers() {
  curl -sf -o "/tmp/answer-$1-translate.png" -H 'Content-Type: image/jpeg' --data-binary @/tmp/webgpu-512.jpg "$BASE/v1/models/photo2anime/translate?format=png"
  curl -sf -o "/tmp/answer-$1-digits.png" "$BASE/v1/models/digits/generate?label=7&seed=42&count=16"
  curl -sf -o "/tmp/answer-$1-text.png" -H 'Content-Type: application/json' -d '{"prompt":"a thick slanted seven","seed":7,"count":16}' "$BASE/v1/models/digits-text/generate"
  ls -la /tmp/answer-$1-*.png
}

section "DEVICE=auto"
if serve auto auto; then
  curl -sf "$BASE/v1/models" >"$OUT/models.json"
  node -e 'const j=require(process.argv[1]); console.log("providers:", j.models.map((m)=>`${m.name}:${m.status}:${m.provider}`).join(" "))' "$OUT/models.json"
  grep -E '"msg":"(execution provider|DEVICE=auto[^"]*|listening)"' "$OUT/server-auto.log" | cut -c1-600
  timeout 120 node .gpu/client.mjs translate "$BASE" photo2anime /tmp/webgpu-512.jpg 20 /tmp/anime.jpg
  timeout 60 node .gpu/client.mjs generate "$BASE" digits 20
  answers auto
  # Concurrent load on the one WebGPU worker: translate (512² and 1024²) and generate at once.
  timeout 120 node -e '
    const base = process.argv[1];
    const sharp = require("sharp");
    (async () => {
      const big = await sharp("/tmp/webgpu-512.jpg").resize(1024, 1024).jpeg().toBuffer();
      const small = require("fs").readFileSync("/tmp/webgpu-512.jpg");
      const t = performance.now();
      const jobs = [];
      for (let i = 0; i < 24; i++) jobs.push(fetch(`${base}/v1/models/photo2anime/translate?format=jpeg`, { method: "POST", headers: { "content-type": "image/jpeg" }, body: i % 3 ? small : big }).then((r) => r.status));
      for (let i = 0; i < 128; i++) jobs.push(fetch(`${base}/v1/models/${i % 2 ? "digits" : "digits-text"}/generate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(i % 2 ? { label: i % 10, seed: i } : { prompt: "a thin seven", seed: i }) }).then((r) => r.status));
      const statuses = await Promise.all(jobs);
      const tally = {};
      for (const s of statuses) tally[s] = (tally[s] || 0) + 1;
      console.log(`concurrent load: ${statuses.length} requests in ${(performance.now() - t).toFixed(0)} ms, statuses ${JSON.stringify(tally)}`);
      const health = await fetch(`${base}/healthz`);
      console.log(`healthz after the load: ${health.status}`);
    })().catch((e) => { console.log("concurrent load FAILED:", e.message); process.exit(1); });
  ' "$BASE"
  grep -ciE 'worker failed|segmentation|device error' "$OUT/server-auto.log" | sed 's/^/worker failures or device errors in the log: /'
  stop
else
  cleanup; SERVER_PID=
fi

section "DEVICE=cpu (the same answers, for comparison)"
if serve cpu cpu; then
  answers cpu
  stop
  timeout 60 node -e '
    const sharp = require("sharp");
    (async () => {
      for (const what of ["translate", "digits", "text"]) {
        const [a, b] = await Promise.all(["auto", "cpu"].map((tag) => sharp(`/tmp/answer-${tag}-${what}.png`).raw().toBuffer({ resolveWithObject: true })));
        let max = 0, differing = 0;
        for (let i = 0; i < a.data.length; i++) { const d = Math.abs(a.data[i] - b.data[i]); if (d) differing++; if (d > max) max = d; }
        console.log(`COMPARE ${what}: ${a.info.width}x${a.info.height}x${a.info.channels} vs ${b.info.width}x${b.info.height}x${b.info.channels}; bytes differing ${differing} of ${a.data.length}, max |auto − cpu| ${max}`);
      }
    })().catch((e) => console.log("COMPARE FAILED:", e.message));
  '
fi
cp /tmp/answer-auto-translate.png "$OUT/anime-webgpu.png" 2>/dev/null

[ "${SKIP_BENCH:-0}" = 1 ] && { section "done (SKIP_BENCH=1)"; exit 0; }
for run in $(seq 1 "${GPU_BENCH_RUNS:-1}"); do
  section "bench:translate on the GPU (DEVICE=auto), run $run"
  timeout -k 5 200 node --import tsx scripts/bench-translate.ts >"$OUT/bench-translate-gpu.log" 2>&1
  echo "exit $?"; grep -v 'providers_shared.so\|^.\[m$' "$OUT/bench-translate-gpu.log"
  section "bench:generate on the GPU (DEVICE=auto, BENCH_SECONDS=${BENCH_SECONDS:-2}), run $run"
  BENCH_SECONDS=${BENCH_SECONDS:-2} timeout -k 5 150 node --import tsx scripts/bench-generate.ts >"$OUT/bench-generate-gpu.log" 2>&1
  echo "exit $?"; grep -v 'providers_shared.so\|^.\[m$' "$OUT/bench-generate-gpu.log"
done

if [ "${BATCH_BENCH:-0}" = 1 ]; then
  section "bench:batch on the GPU (DEVICE=auto)"
  timeout -k 5 120 node --import tsx scripts/bench-batch.ts >"$OUT/bench-batch-gpu.log" 2>&1
  echo "exit $?"; grep -v 'providers_shared.so\|^.\[m$' "$OUT/bench-batch-gpu.log" | tail -n 12
fi
if [ "${CPU_BENCH:-1}" = 1 ] && [ "$(elapsed)" -lt 330 ]; then
  section "bench:translate on the 16-core CPU (DEVICE=cpu, BENCH_PAIRS=24)"
  DEVICE=cpu BENCH_PAIRS=24 timeout -k 5 150 node --import tsx scripts/bench-translate.ts >"$OUT/bench-translate-cpu.log" 2>&1
  echo "exit $?"; cat "$OUT/bench-translate-cpu.log"
fi
section "done"
