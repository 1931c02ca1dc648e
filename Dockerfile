# syntax=docker/dockerfile:1
# Multi-stage image.
#   build:            compiles server/ and training/ to dist/ (tsc), with every dependency.
#   deps:             production node_modules with the CUDA 12 provider of onnxruntime-node.
#   server (default): the compiled server on plain node, on a CUDA 12 + cuDNN 9 runtime.
#   train:            TensorFlow.js with tfjs-node-gpu, which needs CUDA 11.2 + cuDNN 8.1.
# Build: docker build -t ganserve .            docker build --target train -t ganserve-train .
# Run:   docker run --gpus all -p 8080:8080 ganserve

ARG NODE_MAJOR=20

# ---- build: TypeScript → dist/ --------------------------------------------------------------
FROM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Compiling needs typescript only: no native install scripts (and no `prepare`: the sources are not here yet).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY server ./server
COPY training ./training
RUN npm run build

# ---- deps: production node_modules with the CUDA provider of onnxruntime-node ----------------
FROM node:${NODE_MAJOR}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The env var takes precedence over .npmrc's onnxruntime-node-install=skip (which exists for
# networks that cannot reach the CUDA provider's feed). `prepare` compiles with devDependencies,
# which this install leaves out: the build stage has compiled already.
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev --omit=optional \
 && npm cache clean --force

# ---- server ---------------------------------------------------------------------------------
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS server
# The same Node binary that installed node_modules (official builds need glibc >= 2.28; Ubuntu
# 24.04 has 2.39), so no package manager or curl-to-shell is needed in this stage.
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# package.json for "type": "module": dist/ is ES modules.
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY models ./models
RUN useradd --system --uid 10001 --no-create-home --home-dir /app ganserve \
 && chown -R ganserve /app/models
USER ganserve
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 MODELS_DIR=/app/models DEVICE=auto
# The baked-in models seed a new named volume here; add more model folders to it (or bind-mount
# your own folder over it) and reload them with POST /v1/models/{name}/reload.
VOLUME ["/app/models"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server/main.js"]

# ---- train: tfjs-node-gpu needs CUDA 11.2 + cuDNN 8.1, so it cannot share the server's base ---
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS train
# Node and npm from the official image (glibc 2.28 builds; Ubuntu 20.04 has 2.31).
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
COPY --from=deps /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
ENV DEBIAN_FRONTEND=noninteractive
# tfjs-node-gpu builds its native binding at install time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates build-essential python3 \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Production dependencies and tfjs-node-gpu (optional); dist/ comes compiled from the build stage.
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY models ./models
RUN useradd --system --uid 10001 --no-create-home --home-dir /app ganserve \
 && chown -R ganserve /app
USER ganserve
ENV TRAIN_BACKEND=tfjs-node-gpu
# Plain node as PID 1 (no npx or shell in between), so `docker stop`'s SIGTERM reaches the
# harness, which stops after the current step with a checkpoint.
ENTRYPOINT ["node", "dist/training/cli.js"]
CMD ["train", "--help"]

# The default target is the server.
FROM server
