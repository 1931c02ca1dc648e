# syntax=docker/dockerfile:1
# Multi-stage image.
#   server (default): onnxruntime-node with its CUDA 12 provider on a CUDA 12 + cuDNN 9 runtime.
#   train:            TensorFlow.js with tfjs-node-gpu, which needs CUDA 11.2 + cuDNN 8.1.
# Build: docker build -t ganserve .            docker build --target train -t ganserve-train .
# Run:   docker run --gpus all -p 8080:8080 ganserve

ARG NODE_MAJOR=20

# ---- deps: production node_modules with the CUDA provider of onnxruntime-node ----------------
FROM node:${NODE_MAJOR}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The env var takes precedence over .npmrc's onnxruntime-node-install=skip (which exists for
# networks that cannot reach the CUDA provider's feed).
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
RUN npm ci --omit=dev --omit=optional && npm cache clean --force

# ---- server ---------------------------------------------------------------------------------
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS server
ARG NODE_MAJOR
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL https://deb.nodesource.com/setup_${NODE_MAJOR}.x | bash - \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY server ./server
COPY models ./models
RUN useradd --system --uid 10001 --home /app ganserve && mkdir -p /models-extra && chown ganserve /models-extra
USER ganserve
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 MODELS_DIR=/app/models DEVICE=auto
VOLUME ["/models-extra"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
CMD ["node", "--import", "tsx", "server/main.ts"]

# ---- train: tfjs-node-gpu needs CUDA 11.2 + cuDNN 8.1, so it cannot share the server's base ---
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS train
ARG NODE_MAJOR
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg build-essential python3 \
 && curl -fsSL https://deb.nodesource.com/setup_${NODE_MAJOR}.x | bash - \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci && npm cache clean --force
COPY . .
RUN useradd --system --uid 10001 --home /app ganserve && chown -R ganserve /app
USER ganserve
ENV TRAIN_BACKEND=tfjs-node-gpu
ENTRYPOINT ["npx", "tsx", "training/cli.ts"]
CMD ["train", "--help"]

# The default target is the server.
FROM server
