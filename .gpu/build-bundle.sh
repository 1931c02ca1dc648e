#!/usr/bin/env bash
# Rebuilds .gpu/bundle.tar.xz (about 3 min on 2 cores at -9e): this machine's node binary plus the
# runtime closure of the server's packages (from package-lock.json, via .gpu/closure.mjs), linux-x64
# only, without type declarations, source maps and protobufjs' CLI. Usage, from the repo root:
#   bash .gpu/build-bundle.sh [out.tar.xz]      (XZ_LEVEL=-9e by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-.gpu/bundle.tar.xz}
stage=$(mktemp -d /tmp/gpubundle-stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
node .gpu/closure.mjs tsx express multer sharp zod pino pino-http prom-client cors protobufjs onnx-proto wabt cli-progress \
  onnxruntime-node onnxruntime-common | grep -v -e '@types/' -e 'undici-types' >"$stage/closure.txt"
mkdir -p "$stage/b/bin" && cp "$(command -v node)" "$stage/b/bin/node"
tar -cf - --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' \
  --exclude='node_modules/onnx-proto/node_modules/protobufjs/cli' --exclude='node_modules/protobufjs/cli' \
  --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.cts' --exclude='*.d.mts' \
  $(cat "$stage/closure.txt") | tar -xf - -C "$stage/b"
echo "$(wc -l <"$stage/closure.txt") packages; staged $(du -sh "$stage/b" | cut -f1)"
(cd "$stage/b" && tar -cf - --owner=0 --group=0 bin node_modules) | xz -T2 "${XZ_LEVEL:--9e}" >"$out.tmp"
mv "$out.tmp" "$out"
ls -la "$out"
