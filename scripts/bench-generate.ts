/**
 * `npm run bench:generate`: single-image generate requests per second at concurrency 1, 8 and 64,
 * with dynamic batching on and off, next to a plain Express route that answers the same POST with
 * a fixed 28×28 PNG (the HTTP ceiling of this machine). All in one run, with a closed-loop
 * keep-alive client in this process. The three routes take turns in short rounds (the order
 * rotating), so a spell of this shared machine falls on all three alike rather than on whichever
 * ran during it; each round's ratios are printed too, to show their spread.
 *
 * Model: models/digits when present (copied twice into a temporary models folder, batching on and
 * off), else an in-code DCGAN-like 28×28 generator of similar size.
 *
 * Targets: batching on at concurrency 64 ≥ 3× batching off, and ≥ 40 % of plain Express.
 * Environment: BENCH_SECONDS (per route and concurrency, default 5), BENCH_ROUNDS (default 5),
 * BATCH_MAX_SIZE / BATCH_MAX_WAIT_MS
 * (the "on" settings; defaults from the model's manifest), INFERENCE_WORKERS / INFERENCE_THREADS.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import sharp from 'sharp';
import { parseManifest } from '../server/shared.ts';
import { createLogger, type InputTensor, loadConfig, resolveBatching, startServer } from '../server/embedding.ts';
import { convLabelGenerator, writeModelFolder } from '../tests/helpers/generator-models.ts';
import { BenchClient } from './bench/http-client.ts';
import { percentile } from './bench/stats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Before a route's first round at a concurrency (connections, JIT), then before each later one. */
const WARMUP_MS = 500;
const SWITCH_WARMUP_MS = 150;
const CONCURRENCIES = [1, 8, 64] as const;
const ON = 'bench-batching-on';
const OFF = 'bench-batching-off';

interface Measurement {
  rps: number;
  p50: number;
  p95: number;
  errors: number;
}

/** What one route answered over all rounds at one concurrency. */
class Tally {
  readonly latencies: number[] = [];
  errors = 0;
  ms = 0;
  /** Requests per second of each round. */
  readonly roundRps: number[] = [];

  summary(): Measurement {
    return {
      rps: (this.latencies.length / this.ms) * 1000,
      p50: percentile(this.latencies, 0.5),
      p95: percentile(this.latencies, 0.95),
      errors: this.errors,
    };
  }
}

/** Closed loop: `concurrency` clients each send the next request as soon as the last answered. */
async function measure(
  client: BenchClient,
  route: string,
  concurrency: number,
  body: () => string,
  ms: number,
  tally?: Tally,
): Promise<void> {
  const deadline = performance.now() + ms;
  let answered = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      const answer = await client.request('POST', route, body(), { 'Content-Type': 'application/json' }).catch(() => null);
      if (answer?.status === 200) {
        answered += 1;
        tally?.latencies.push(answer.latency);
      } else if (tally) tally.errors += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = performance.now() - started;
  if (tally) {
    tally.ms += elapsed;
    tally.roundRps.push((answered / elapsed) * 1000);
  }
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
    for (const [name, batching] of [
      [ON, raw.batching],
      [OFF, { maxBatch: 1, maxWaitMs: 0 }],
    ] as const) {
      const folder = path.join(modelsDir, name);
      await mkdir(folder);
      for (const file of await readdir(digitsDir))
        if (file !== 'model.json') await copyFile(path.join(digitsDir, file), path.join(folder, file));
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
  const png = await sharp(Buffer.alloc(28 * 28), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
  const app = express();
  app.post('/png', express.json(), (_req, res) => {
    res.type('image/png').send(png);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return server;
}

const fmt = (m: Measurement) =>
  `${m.rps.toFixed(0).padStart(7)} req/s   p50 ${m.p50.toFixed(1).padStart(6)} ms   p95 ${m.p95.toFixed(1).padStart(6)} ms${m.errors ? `   (${m.errors} errors)` : ''}`;

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

  console.log(
    `bench:generate — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`model: ${source}`);
  const { device } = await running.pool.resolveDevice();
  console.log(
    `pool: ${config.workers} workers × ${config.threadsPerWorker} intra-op threads, provider ${device}; ${SECONDS} s per route and concurrency, in ${ROUNDS} rounds`,
  );
  const on = resolveBatching(ON, manifest.batching, process.env);
  console.log(`batching on: maxBatch ${on.maxBatch}, maxWaitMs ${on.maxWaitMs}; batching off: maxBatch 1\n`);

  const routes = [
    { key: 'plain', port: plainPort, route: '/png' },
    { key: 'off', port: running.port, route: `/v1/models/${OFF}/generate` },
    { key: 'on', port: running.port, route: `/v1/models/${ON}/generate` },
  ] as const;
  type Key = (typeof routes)[number]['key'];
  const results: Record<Key, Record<number, Tally>> = { on: {}, off: {}, plain: {} };
  for (const concurrency of CONCURRENCIES) {
    const tallies = { plain: new Tally(), off: new Tally(), on: new Tally() };
    const batchRows = { off: { runs: 0, rows: 0 }, on: { runs: 0, rows: 0 } };
    const clients = routes.map(({ port }) => new BenchClient(port, concurrency));
    for (let round = 0; round < ROUNDS; round++) {
      for (let turn = 0; turn < routes.length; turn++) {
        const index = (round + turn) % routes.length;
        const { key, route } = routes[index]!;
        await measure(clients[index]!, route, concurrency, body, round === 0 ? WARMUP_MS : SWITCH_WARMUP_MS);
        runs = 0;
        rows = 0;
        await measure(clients[index]!, route, concurrency, body, (SECONDS * 1000) / ROUNDS, tallies[key]);
        if (key !== 'plain') {
          batchRows[key].runs += runs;
          batchRows[key].rows += rows;
        }
      }
    }
    for (const client of clients) client.close();
    for (const { key } of routes) {
      results[key][concurrency] = tallies[key];
      const batches = key === 'plain' ? '' : `   mean batch ${(batchRows[key].rows / Math.max(1, batchRows[key].runs)).toFixed(1)}`;
      console.log(`c=${String(concurrency).padEnd(3)} ${key.padEnd(6)} ${fmt(tallies[key].summary())}${batches}`);
    }
  }

  // The same pool without HTTP: how much batching can gain on inference alone here. Per-request
  // HTTP work is the same with batching on and off, so it can only pull the HTTP ratio below this.
  const alone = async (rowsPerRun: number, callers: number): Promise<number> => {
    const feeds = (): Record<string, InputTensor> => ({
      [manifest.noise.name]: {
        type: 'float32',
        data: new Float32Array(rowsPerRun * manifest.noise.dim).fill(0.5),
        dims: [rowsPerRun, manifest.noise.dim],
      },
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
  console.log(
    `\ninference alone (no HTTP): batch 1 ${single.toFixed(0)} rows/s, batch ${on.maxBatch} ${batched.toFixed(0)} rows/s = ${(batched / single).toFixed(2)}× (the most batching can gain here)`,
  );

  const at64 = { on: results.on[64]!, off: results.off[64]!, plain: results.plain[64]! };
  const speedup = at64.on.summary().rps / at64.off.summary().rps;
  const share = at64.on.summary().rps / at64.plain.summary().rps;
  /** min–max over the rounds of a per-round ratio. */
  const spread = (a: Tally, b: Tally, scale: number, digits: number) => {
    const ratios = a.roundRps.map((rps, i) => (rps / b.roundRps[i]!) * scale);
    return `${Math.min(...ratios).toFixed(digits)}–${Math.max(...ratios).toFixed(digits)}`;
  };
  console.log(`\ntargets at concurrency 64 (over all ${ROUNDS} rounds; per round in brackets):`);
  console.log(
    `  batching on / off      = ${speedup.toFixed(2)}×   (${spread(at64.on, at64.off, 1, 2)})   target ≥ 3×    ${speedup >= 3 ? 'PASS' : 'FAIL'}`,
  );
  console.log(
    `  batching on / Express  = ${(share * 100).toFixed(0)} %   (${spread(at64.on, at64.plain, 100, 0)})   target ≥ 40 %  ${share >= 0.4 ? 'PASS' : 'FAIL'}`,
  );

  plain.close();
  await running.close();
  await rm(modelsDir, { recursive: true, force: true });
}

await main();
