/**
 * `npm run bench:generate`: single-image generate requests per second at concurrency 1, 8 and 64,
 * with dynamic batching on and off, next to a plain Express route that answers the same POST with
 * a fixed 28×28 PNG (the HTTP ceiling of this machine). All in one run, one after another, with a
 * closed-loop keep-alive client in this process.
 *
 * Model: models/digits when present (copied twice into a temporary models folder, batching on and
 * off), else an in-code DCGAN-like 28×28 generator of similar size.
 *
 * Targets: batching on at concurrency 64 ≥ 3× batching off, and ≥ 40 % of plain Express.
 * Environment: BENCH_SECONDS (per measurement, default 5), BATCH_MAX_SIZE / BATCH_MAX_WAIT_MS
 * (the "on" settings; defaults from the model's manifest), INFERENCE_WORKERS / INFERENCE_THREADS.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import sharp from 'sharp';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { parseManifest } from '../server/models/manifest.ts';
import { startServer } from '../server/server.ts';
import type { InputTensor } from '../server/inference/pool.ts';
import { resolveBatching } from '../server/inference/batcher.ts';
import { convLabelGenerator, writeModelFolder } from '../tests/helpers/generator-models.ts';
import { BenchClient } from './bench/http-client.ts';
import { percentile } from './bench/stats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_MS = 500;
const CONCURRENCIES = [1, 8, 64] as const;
const ON = 'bench-batching-on';
const OFF = 'bench-batching-off';

interface Measurement {
  rps: number;
  p50: number;
  p95: number;
  errors: number;
}

/** Closed loop: `concurrency` clients each send the next request as soon as the last answered. */
async function measure(port: number, route: string, concurrency: number, body: () => string, ms: number): Promise<Measurement> {
  const client = new BenchClient(port, concurrency);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + ms;
  const loop = async () => {
    while (performance.now() < deadline) {
      const answer = await client.request('POST', route, body(), { 'Content-Type': 'application/json' }).catch(() => null);
      if (answer?.status === 200) latencies.push(answer.latency);
      else errors += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = performance.now() - started;
  client.close();
  return { rps: (latencies.length / elapsed) * 1000, p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), errors };
}

async function run(port: number, route: string, concurrency: number, body: () => string): Promise<Measurement> {
  await measure(port, route, concurrency, body, WARMUP_MS);
  return measure(port, route, concurrency, body, SECONDS * 1000);
}

/** Two copies of the benchmark model, one with batching off (maxBatch 1). Returns a description. */
async function prepareModels(modelsDir: string): Promise<string> {
  const digitsDir = path.resolve('models/digits');
  let raw: Record<string, unknown> | null = null;
  try {
    raw = JSON.parse(await readFile(path.join(digitsDir, 'model.json'), 'utf8')) as Record<string, unknown>;
    const manifest = parseManifest(raw);
    if (manifest.task !== 'conditional-generation' || !manifest.label) raw = null;
  } catch {
    raw = null;
  }
  if (raw !== null) {
    for (const [name, batching] of [[ON, raw.batching], [OFF, { maxBatch: 1, maxWaitMs: 0 }]] as const) {
      const folder = path.join(modelsDir, name);
      await mkdir(folder);
      for (const file of await readdir(digitsDir)) if (file !== 'model.json') await copyFile(path.join(digitsDir, file), path.join(folder, file));
      await writeFile(path.join(folder, 'model.json'), JSON.stringify({ ...raw, name, batching }));
    }
    return 'models/digits';
  }
  const onModel = convLabelGenerator({ name: ON });
  await writeModelFolder(modelsDir, onModel.manifest, onModel.onnx);
  const offModel = convLabelGenerator({ name: OFF, batching: { maxBatch: 1, maxWaitMs: 0 } });
  await writeModelFolder(modelsDir, offModel.manifest, offModel.onnx);
  return 'in-code DCGAN-like generator shaped like the digits recipe (models/digits not found): [noise 64 | label 16] → FC 96×7×7 → ConvT 48×14×14 → ConvT 1×28×28';
}

/** The HTTP ceiling: a bare Express app parsing the same JSON body and sending a fixed 28×28 PNG. */
async function startPlainExpress(): Promise<http.Server> {
  const png = await sharp(Buffer.alloc(28 * 28), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
  const app = express();
  app.post('/png', express.json(), (_req, res) => {
    res.type('image/png').send(png);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return server;
}

const fmt = (m: Measurement) => `${m.rps.toFixed(0).padStart(7)} req/s   p50 ${m.p50.toFixed(1).padStart(6)} ms   p95 ${m.p95.toFixed(1).padStart(6)} ms${m.errors ? `   (${m.errors} errors)` : ''}`;

async function main(): Promise<void> {
  const modelsDir = await mkdtemp(path.join(os.tmpdir(), 'bench-generate-'));
  const source = await prepareModels(modelsDir);
  const config = loadConfig({ ...process.env, MODELS_DIR: modelsDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
  const running = await startServer(config, createLogger('silent'));
  await running.loaded;
  const onEntry = running.repository.get(ON);
  if (onEntry?.status !== 'ready') throw new Error(`benchmark model failed to load: ${onEntry?.reason}`);
  const manifest = onEntry.manifest!;
  if (manifest.task !== 'conditional-generation') throw new Error('benchmark model must be a conditional generator');

  // Count rows per onnxruntime run, to show how large the batches got.
  let runs = 0;
  let rows = 0;
  const poolRun = running.pool.run.bind(running.pool);
  running.pool.run = (model: string, feeds: Record<string, InputTensor>, options) => {
    runs += 1;
    rows += Object.values(feeds)[0]!.dims[0]!;
    return poolRun(model, feeds, options);
  };

  const plain = await startPlainExpress();
  const plainPort = (plain.address() as AddressInfo).port;
  const classes = manifest.label!.classes.length;
  let next = 0;
  const body = () => JSON.stringify({ label: next++ % classes });

  console.log(`bench:generate — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`model: ${source}`);
  console.log(`pool: ${config.workers} workers × ${config.threadsPerWorker} intra-op threads; ${SECONDS} s per measurement`);
  const on = resolveBatching(ON, manifest.batching, process.env);
  console.log(`batching on: maxBatch ${on.maxBatch}, maxWaitMs ${on.maxWaitMs}; batching off: maxBatch 1\n`);

  const results: Record<string, Record<number, Measurement>> = { on: {}, off: {}, plain: {} };
  for (const concurrency of CONCURRENCIES) {
    for (const [key, port, route] of [
      ['plain', plainPort, '/png'],
      ['off', running.port, `/v1/models/${OFF}/generate`],
      ['on', running.port, `/v1/models/${ON}/generate`],
    ] as const) {
      runs = 0;
      rows = 0;
      const m = await run(port, route, concurrency, body);
      results[key]![concurrency] = m;
      const batches = key === 'plain' ? '' : `   mean batch ${(rows / Math.max(1, runs)).toFixed(1)}`;
      console.log(`c=${String(concurrency).padEnd(3)} ${key.padEnd(6)} ${fmt(m)}${batches}`);
    }
  }

  // The same pool without HTTP: how much batching can gain on inference alone here. Per-request
  // HTTP work is the same with batching on and off, so it can only pull the HTTP ratio below this.
  const alone = async (rowsPerRun: number, callers: number): Promise<number> => {
    const feeds = (): Record<string, InputTensor> => ({
      [manifest.noise.name]: { type: 'float32', data: new Float32Array(rowsPerRun * manifest.noise.dim).fill(0.5), dims: [rowsPerRun, manifest.noise.dim] },
      [manifest.label!.name]: { type: 'int64', data: new BigInt64Array(rowsPerRun), dims: [rowsPerRun] },
    });
    const rowsPerSecond = async (ms: number) => {
      let done = 0;
      const deadline = performance.now() + ms;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (performance.now() < deadline) {
            await poolRun(onEntry.poolKey, feeds());
            done += rowsPerRun;
          }
        }),
      );
      return (done / (performance.now() - started)) * 1000;
    };
    await rowsPerSecond(WARMUP_MS);
    return rowsPerSecond(SECONDS * 1000);
  };
  const single = await alone(1, 64);
  const batched = await alone(on.maxBatch, config.workers);
  console.log(`\ninference alone (no HTTP): batch 1 ${single.toFixed(0)} rows/s, batch ${on.maxBatch} ${batched.toFixed(0)} rows/s = ${(batched / single).toFixed(2)}× (the most batching can gain here)`);

  const on64 = results.on![64]!.rps;
  const off64 = results.off![64]!.rps;
  const plain64 = results.plain![64]!.rps;
  const speedup = on64 / off64;
  const share = on64 / plain64;
  console.log('\ntargets at concurrency 64:');
  console.log(`  batching on / off      = ${speedup.toFixed(2)}×   (target ≥ 3×)    ${speedup >= 3 ? 'PASS' : 'FAIL'}`);
  console.log(`  batching on / Express  = ${(share * 100).toFixed(0)} %   (target ≥ 40 %)  ${share >= 0.4 ? 'PASS' : 'FAIL'}`);

  plain.close();
  await running.close();
  await rm(modelsDir, { recursive: true, force: true });
}

await main();
