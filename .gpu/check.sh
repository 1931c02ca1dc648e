#!/usr/bin/env bash
# One-shot device check for ganserve on the GPU machine. From the repo root:
#   bash .gpu/check.sh            (results: stdout, and $OUT/ — 8 files at most)
# Needs .gpu/bundle.tar.xz (node 20 binary + the server's runtime node_modules, linux-x64) and
# .gpu/client.mjs, both carried with `carry: [".gpu"]`.
# Env knobs: OUT (default /tmp/gpucheck-out), GPU_N (timed requests per endpoint, default 10),
#   USE_SYSTEM_NODE=1 (use the machine's node >= 20.19 instead of the carried one),
#   SKIP_BENCH=1, BENCH_BUDGET_S (start the bench only before this many seconds, default 200),
#   BUNDLE_DIR (default /tmp/ganserve-bundle), GPU_SELFTEST_CUDA_AS_CPU=1 (CPU-only self-test of the
#   CUDA-serving branches: servers asked for auto/cuda run on the CPU and are reported as cuda).
# Files in $OUT (8 at most): check.log summary.txt models.txt server-auto.log server-cuda.log
#   server-cpu.log (only when a DEVICE=cpu baseline run was needed) bench-cpu.log anime.jpg
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
OUT=${OUT:-/tmp/gpucheck-out}
mkdir -p "$OUT"
N=${GPU_N:-10}
BUNDLE=$ROOT/.gpu/bundle.tar.xz
BUNDLE_DIR=${BUNDLE_DIR:-/tmp/ganserve-bundle}
ORT_DIR=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
T0=$(date +%s)
SERVER_PID=
MOVED_NODE_MODULES=
declare -a SUMMARY=()

note() { SUMMARY+=("$*"); echo ">> $*"; }
elapsed() { echo $(($(date +%s) - T0)); }
section() { echo; echo "=== [$(elapsed) s] $* ==="; }

cleanup() {
  # The server runs as `timeout ... node` in its own process group (timeout does setpgid): end the group.
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=
}

# At exit: puts back a node_modules that the bundle's link replaced (a dev machine's own install).
restore_node_modules() {
  if [ -n "$MOVED_NODE_MODULES" ] && [ -d "$MOVED_NODE_MODULES" ]; then
    rm -f "$ROOT/node_modules" && mv "$MOVED_NODE_MODULES" "$ROOT/node_modules" && echo "node_modules moved back from $MOVED_NODE_MODULES"
  fi
  MOVED_NODE_MODULES=
}

# start_server DEVICE LOGFILE → sets SERVER_PID, BASE
start_server() {
  local dev=$1 log=$2 port
  port=$(timeout 15 node .gpu/client.mjs port) || { echo "no free port"; return 1; }
  BASE=http://127.0.0.1:$port
  # Self-test of the CUDA-serving branches on a CPU-only machine: serve on the CPU, report "cuda".
  [ "${GPU_SELFTEST_CUDA_AS_CPU:-0}" = 1 ] && { echo "SELFTEST: DEVICE=$dev runs as DEVICE=cpu"; dev=cpu; }
  echo "starting: DEVICE=$dev PORT=$port MODELS_DIR=models node --import tsx server/main.ts (log: $log)"
  PORT=$port HOST=127.0.0.1 MODELS_DIR=models DEVICE=$dev LOG_LEVEL=info \
    timeout -k 5 240 node --import tsx server/main.ts >"$log" 2>&1 &
  SERVER_PID=$!
}

# stop_server → STOP_RC (the server's exit code after SIGTERM; timeout relays SIGTERM and the code)
stop_server() {
  STOP_RC=none
  [ -n "$SERVER_PID" ] || return
  local t=$(date +%s%N)
  kill -TERM "$SERVER_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "server still running 25 s after SIGTERM: SIGKILL"
    kill -KILL -- "-$SERVER_PID" 2>/dev/null
  fi
  wait "$SERVER_PID"
  STOP_RC=$?
  echo "server exit code after SIGTERM: $STOP_RC ($(( ($(date +%s%N) - t) / 1000000 )) ms)"
  SERVER_PID=
}

# providers_of FILE.json → "name:status:provider ..."
providers_of() {
  node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log((j.models || []).map((m) => `${m.name}:${m.status}:${m.provider ?? "?"}`).join(" "));
  ' "$1" 2>/dev/null || echo "(unparsable)"
}

# logmsg FILE REGEX → the first log line matching REGEX, as "msg (reason)" for pino JSON lines
logmsg() {
  node -e '
    const re = new RegExp(process.argv[2], "i");
    for (const line of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
      if (!re.test(line)) continue;
      try { const j = JSON.parse(line); console.log(j.msg + (j.device ? ` (device: ${j.device})` : "") + (j.reason ? ` (reason: ${j.reason})` : "")); }
      catch { console.log(line.replace(/\x1b\[[0-9;]*m/g, "").slice(0, 700)); }
      break;
    }' "$1" "$2" 2>/dev/null
}

# serve_and_time DEVICE TAG → runs the server, times translate + generate, stops it.
# Sets RUN_PROVIDERS, RUN_T (translate TIMING line), RUN_G (generate TIMING line), RUN_STOP (exit code)
serve_and_time() {
  local dev=$1 tag=$2 rc
  RUN_PROVIDERS=; RUN_T=; RUN_G=; RUN_STOP=
  start_server "$dev" "$OUT/server-$tag.log" || return 1
  timeout 70 node .gpu/client.mjs ready "$BASE" 60 "$SERVER_PID"
  rc=$?
  if [ $rc -ne 0 ]; then
    if [ $rc -eq 3 ]; then wait "$SERVER_PID"; RUN_STOP="exited before ready, code $?"; SERVER_PID=
    else cleanup; RUN_STOP="not ready in 60 s (client rc $rc), killed"; fi
    echo "server $RUN_STOP; log tail:"; tail -n 30 "$OUT/server-$tag.log"
    return 1
  fi
  measure_and_stop "$dev" "$tag"
}

# measure_and_stop DEVICE TAG: the server at $BASE is ready; /v1/models, timings, SIGTERM.
measure_and_stop() {
  local dev=$1 tag=$2
  RUN_PROVIDERS=; RUN_T=; RUN_G=; RUN_STOP=
  timeout 20 node .gpu/client.mjs get "$BASE/v1/models" "/tmp/gpucheck-models-$tag.json"
  { echo "### DEVICE=$dev: GET /v1/models"; cat "/tmp/gpucheck-models-$tag.json"; echo; } >>"$OUT/models.txt"
  RUN_PROVIDERS=$(providers_of "/tmp/gpucheck-models-$tag.json")
  [ "${GPU_SELFTEST_CUDA_AS_CPU:-0}" = 1 ] && [ "$tag" != cpu ] && RUN_PROVIDERS=${RUN_PROVIDERS//:cpu/:cuda}
  echo "models: $RUN_PROVIDERS"
  echo "--- server log lines about cuda/provider/fallback/device:"
  grep -iE 'cuda|provider|fallback|device|unavailable|error' "$OUT/server-$tag.log" | head -n 20
  local tout gout
  tout=$(timeout 180 node .gpu/client.mjs translate "$BASE" photo2anime /tmp/gpucheck-512.jpg "$N" "$OUT/anime.jpg" 2>&1); echo "$tout"
  RUN_T=$(grep '^TIMING' <<<"$tout")
  gout=$(timeout 60 node .gpu/client.mjs generate "$BASE" digits "$N" 2>&1); echo "$gout"
  RUN_G=$(grep '^TIMING' <<<"$gout")
  stop_server
  RUN_STOP=$STOP_RC
}

main() {
  trap 'cleanup; restore_node_modules' EXIT
  trap 'cleanup; restore_node_modules; exit 130' INT TERM

  section "a. machine"
  echo "date: $(date -u +%FT%TZ)  repo: $ROOT  OUT: $OUT"
  echo "uname -m: $(uname -m)   nproc: $(nproc)   kernel: $(uname -r)"
  grep -E '^PRETTY_NAME' /etc/os-release 2>/dev/null
  free -g 2>/dev/null | head -2
  if command -v nvidia-smi >/dev/null; then
    timeout 30 nvidia-smi -L
    timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    GPU=$(timeout 30 nvidia-smi -L 2>/dev/null | head -1)
  else
    echo "nvidia-smi: not found"; GPU="none (no nvidia-smi)"
  fi
  note "GPU: ${GPU:-none}; uname -m $(uname -m); nproc $(nproc)"
  local sysnode=none sysnode_ok=0
  if command -v node >/dev/null; then
    sysnode="$(command -v node) $(timeout 10 node --version 2>&1)"
    timeout 10 node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' && sysnode_ok=1
  fi
  echo "system node: $sysnode"
  echo "curl: $(command -v curl || echo none)  xz: $(command -v xz || echo none)  python3: $(command -v python3 || echo none)"

  section "b. bundle"
  local sum
  sum=$(sha256sum "$BUNDLE" | cut -c1-16)
  if [ -f "$BUNDLE_DIR/.complete" ] && [ "$(cat "$BUNDLE_DIR/.complete")" = "$sum" ]; then
    echo "bundle already unpacked at $BUNDLE_DIR ($sum)"
  else
    rm -rf "$BUNDLE_DIR"; mkdir -p "$BUNDLE_DIR"
    if command -v xz >/dev/null; then
      timeout 180 sh -c "xz -dc '$BUNDLE' | tar -xf - -C '$BUNDLE_DIR'"
    else
      timeout 180 sh -c "python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer, 1<<20)' '$BUNDLE' | tar -xf - -C '$BUNDLE_DIR'"
    fi || { echo "FATAL: could not unpack $BUNDLE"; note "FATAL: bundle unpack failed"; return 1; }
    echo "$sum" >"$BUNDLE_DIR/.complete"
    echo "unpacked in $(elapsed) s since start: $(du -sh "$BUNDLE_DIR" | cut -f1)"
  fi
  if [ "${USE_SYSTEM_NODE:-0}" = 1 ] && [ $sysnode_ok = 1 ]; then
    echo "using the system node ($sysnode)"
  else
    export PATH=$BUNDLE_DIR/bin:$PATH
  fi
  hash -r
  NODE_USED="$(command -v node) $(node --version)"
  note "node used: $NODE_USED (system node: $sysnode)"
  if [ -L node_modules ]; then rm -f node_modules
  elif [ -e node_modules ]; then
    echo "moving the existing node_modules aside to /tmp/node_modules.prev.$$ (moved back at exit)"
    mv node_modules "/tmp/node_modules.prev.$$" && MOVED_NODE_MODULES=/tmp/node_modules.prev.$$
  fi
  ln -s "$BUNDLE_DIR/node_modules" node_modules
  # A fresh start for the provider libraries (a reused bundle may hold copies from an earlier run).
  rm -f "$ORT_DIR"/libonnxruntime_providers_*.so
  ls -la "$ORT_DIR"
  rm -f "$OUT/models.txt"
  timeout 30 node .gpu/client.mjs mkjpeg /tmp/gpucheck-512.jpg || note "FAILED: making the test JPEG (sharp)"

  section "c. onnxruntime CUDA provider libraries, CUDA libraries"
  local sites=""
  if command -v python3 >/dev/null; then
    timeout 60 python3 -c 'import onnxruntime as o; print("python onnxruntime", o.__version__, o.get_available_providers(), o.__file__)' 2>&1 | tail -n 3
    sites=$(timeout 30 python3 -c 'import site,sys; print("\n".join(p for p in site.getsitepackages()+[site.getusersitepackages()]))' 2>/dev/null)
    timeout 30 python3 -m pip list 2>/dev/null | grep -iE '^(onnxruntime|nvidia-(cudnn|cublas|cuda-runtime|cufft|curand))' | tr -s ' '
  fi
  echo "python site dirs: $(echo $sites)"
  local libs
  libs=$( { timeout 90 find / -xdev \( -name 'libonnxruntime_providers_*.so*' -o -name 'libonnxruntime.so*' \) -not -path "$BUNDLE_DIR/*" -not -path '/proc/*' 2>/dev/null
            for s in $sites; do [ -d "$s" ] && timeout 30 find "$s" \( -name 'libonnxruntime_providers_*.so*' -o -name 'libonnxruntime.so*' \) 2>/dev/null; done
          } | sort -u)
  echo "onnxruntime libraries on this machine:"; echo "${libs:-  (none)}"
  local cuda_lib="" shared_lib="" ver=""
  for f in $(grep 'libonnxruntime_providers_cuda\.so' <<<"$libs"); do
    local d; d=$(dirname "$f")
    [ -f "$d/libonnxruntime_providers_shared.so" ] || continue
    ver=""
    # python wheel layout: site-packages/onnxruntime/capi/ → version in onnxruntime/__init__.py / dist-info
    [ -f "$d/../__init__.py" ] && ver=$(sed -n 's/^__version__ *= *["'\'']\([^"'\'']*\)["'\''].*/\1/p' "$d/../__init__.py" | head -1)
    [ -z "$ver" ] && ver=$(ls "$d" | sed -n 's/^libonnxruntime\.so\.\([0-9]*\.[0-9]*\.[0-9]*\)$/\1/p' | head -1)
    echo "candidate: $f (onnxruntime version: ${ver:-unknown})"
    case "$ver" in 1.30.*) cuda_lib=$f; shared_lib=$d/libonnxruntime_providers_shared.so; break ;; esac
  done
  if [ -n "$cuda_lib" ]; then
    cp -f "$cuda_lib" "$ORT_DIR/libonnxruntime_providers_cuda.so"
    cp -f "$shared_lib" "$ORT_DIR/libonnxruntime_providers_shared.so"
    note "CUDA provider: copied $cuda_lib (+ providers_shared, onnxruntime $ver) next to onnxruntime-node's libonnxruntime.so.1"
  else
    note "CUDA provider: no libonnxruntime_providers_cuda.so of onnxruntime 1.30.x found (with providers_shared beside it): DEVICE=auto should fall back, DEVICE=cuda should exit 1"
  fi
  # CUDA runtime libraries: python nvidia-* wheels, /usr/local/cuda
  local libdirs="" d
  for s in $sites; do
    [ -d "$s/nvidia" ] || continue
    for d in $(find "$s/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | sort); do libdirs="$libdirs:$d"; done
  done
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d "$d" ] && libdirs="$libdirs:$d"; done
  libdirs=${libdirs#:}
  export LD_LIBRARY_PATH=${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "cuDNN / cuBLAS / cudart / cuFFT / cuRAND found:"
  for d in ${libdirs//:/ }; do
    ls "$d" 2>/dev/null | grep -E '^lib(cudnn|cublas|cublasLt|cudart|cufft|curand)\.so\.[0-9]+$' | sed "s|^|  $d/|"
  done
  if [ -n "$cuda_lib" ]; then
    echo "ldd of the copied CUDA provider (missing libraries mean it cannot load):"
    timeout 20 ldd "$ORT_DIR/libonnxruntime_providers_cuda.so" | grep -E 'not found|cudnn|cublas|cudart|cufft|curand' | sed 's/^/  /'
    note "CUDA provider unresolved libraries: $(timeout 20 ldd "$ORT_DIR/libonnxruntime_providers_cuda.so" | grep -c 'not found')"
  fi

  local cpu_t="" cpu_g="" cuda_t="" cuda_g=""
  section "d. DEVICE=auto"
  serve_and_time auto auto
  note "DEVICE=auto: models [$RUN_PROVIDERS]; exit code after SIGTERM: $RUN_STOP (expected 0)"
  note "DEVICE=auto log: $(logmsg "$OUT/server-auto.log" 'DEVICE=auto|execution provider')"
  local auto_on=cpu
  case "$RUN_PROVIDERS" in *cuda*) auto_on=cuda ;; esac
  if [ $auto_on = cuda ]; then cuda_t=$RUN_T; cuda_g=$RUN_G; else cpu_t=$RUN_T; cpu_g=$RUN_G; fi
  note "  auto ($auto_on) $RUN_T"
  note "  auto ($auto_on) $RUN_G"

  section "e. DEVICE=cuda"
  local cuda_rc
  start_server cuda "$OUT/server-cuda.log"
  timeout 70 node .gpu/client.mjs ready "$BASE" 60 "$SERVER_PID"
  cuda_rc=$?
  if [ $cuda_rc -eq 3 ]; then
    wait "$SERVER_PID"; local code=$?; SERVER_PID=
    echo "DEVICE=cuda exited with code $code; log:"; tail -n 20 "$OUT/server-cuda.log"
    note "DEVICE=cuda: exited with code $code (expected 1 without a loadable CUDA provider)"
    note "DEVICE=cuda message: $(logmsg "$OUT/server-cuda.log" '"level":[56]0|DEVICE=cuda')"
    note "onnxruntime's own error: $(logmsg "$OUT/server-cuda.log" 'E:onnxruntime|Failed to load')"
  elif [ $cuda_rc -eq 0 ]; then
    measure_and_stop cuda cuda
    note "DEVICE=cuda: SERVING; models [$RUN_PROVIDERS]; exit code after SIGTERM: $RUN_STOP (expected 0)"
    cuda_t=$RUN_T; cuda_g=$RUN_G
    note "  cuda $RUN_T"
    note "  cuda $RUN_G"
  else
    note "DEVICE=cuda: neither ready nor exited within 60 s (client rc $cuda_rc); log tail in server-cuda.log"
    tail -n 20 "$OUT/server-cuda.log"
    cleanup
  fi
  if [ -n "$cuda_t$cuda_g" ] && [ -z "$cpu_t$cpu_g" ]; then
    section "e2. DEVICE=cpu baseline (same requests)"
    serve_and_time cpu cpu
    cpu_t=$RUN_T; cpu_g=$RUN_G
    note "DEVICE=cpu: models [$RUN_PROVIDERS]; exit code after SIGTERM: $RUN_STOP"
    note "  cpu $RUN_T"
    note "  cpu $RUN_G"
  fi

  section "f. bench-generate on the CPU"
  if [ "${SKIP_BENCH:-0}" = 1 ]; then
    note "bench: skipped (SKIP_BENCH=1)"
  elif [ "$(elapsed)" -gt "${BENCH_BUDGET_S:-200}" ]; then
    note "bench: skipped, $(elapsed) s already spent (BENCH_BUDGET_S=${BENCH_BUDGET_S:-200})"
  else
    BENCH_SECONDS=2 DEVICE=cpu timeout -k 5 150 node --import tsx scripts/bench-generate.ts >"$OUT/bench-cpu.log" 2>&1
    local brc=$?
    cat "$OUT/bench-cpu.log"
    note "bench-generate (DEVICE=cpu, BENCH_SECONDS=2): exit $brc$([ $brc = 124 ] && echo ' (timed out at 150 s)')"
    while IFS= read -r line; do note "  bench: $line"; done < <(grep -iE 'cpu|core|req/s|batch|express|target|×' "$OUT/bench-cpu.log" | head -n 16)
  fi

  section "SUMMARY ($(elapsed) s)"
  printf '%s\n' "${SUMMARY[@]}" | tee "$OUT/summary.txt"
  if [ -n "$cuda_t" ] && [ -n "$cpu_t" ]; then
    node -e '
      const med = (l) => Number((/median_ms=([0-9.]+)/.exec(l) || [])[1]);
      const [ct, gt, cg, gg] = process.argv.slice(1).map(med);
      console.log(`translate 512x512 median: cpu ${ct} ms, cuda ${gt} ms (x${(ct / gt).toFixed(2)})`);
      console.log(`generate label 7 median:  cpu ${cg} ms, cuda ${gg} ms (x${(cg / gg).toFixed(2)})`);
    ' "$cpu_t" "$cuda_t" "$cpu_g" "$cuda_g" | tee -a "$OUT/summary.txt"
  fi
  rm -f /tmp/gpucheck-512.jpg /tmp/gpucheck-models-*.json
}

main "$@" 2>&1 | tee "$OUT/check.log"
exit "${PIPESTATUS[0]}"
