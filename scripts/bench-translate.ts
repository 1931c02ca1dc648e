/**
 * `npm run bench:translate`: end-to-end translate latency and throughput against raw onnxruntime
 * on the same machine, plus /healthz latency under load.
 *
 * Model: models/photo2anime when it exists, else an in-code CycleGAN ResNet generator (random
 * weights; BENCH_NGF × BENCH_BLOCKS, default 16 × 6, scaled down from 64 × 9 so a run stays
 * around two minutes on a small machine). The server runs in-process on a free port with the
 * default pool shape for this machine (INFERENCE_WORKERS / INFERENCE_THREADS override).
 *
 * At concurrency 1, raw runs and server requests alternate, so both see the same machine state
 * (single runs of a model vary by tens of ms here); each server answer's Server-Timing header also
 * gives the overhead of that very request: its latency minus onnxruntime's own run inside it.
 * The raw runs there use the server's own session (the one a lone request gets: on the CPU the
 * solo session, with every thread of the pool), so a difference between two sessions of one model
 * cannot enter the comparison. Single runs of the 512² model vary by ±20 % on this machine, run
 * to run: the difference of two medians of 64 pairs moved by ±10 ms around the per-request
 * overhead, so the default is 192 pairs (≈ 0.45 s each on 2 cores; BENCH_PAIRS sets it), and the
 * check prints a bootstrap interval for that difference.
 *
 * Targets (from the serving issue):
 *   c=1, 512²: server p50 − raw p50 ≤ 15 ms (raw: the server's own session for a lone request);
 *   c=8:       throughput ≥ 85 % of raw (raw: one session with all the pool's threads, back to back);
 *   /healthz p99 < 50 ms while the c=8 load runs.
 * Raw runs happen in a worker thread, as the server's do; their time is session.run alone, and they
 * leave no garbage on the main thread that the requests around them would pay for (see rawRun).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { availableCores, decodeImage, type HwcImage, type ImageToImageManifest, parseManifest, reflectPad } from '../server/shared.ts';
import { type Device, type ImageInputSpec, type ImageOutputSpec, InferencePool, loadConfig, startServer } from '../server/embedding.ts';
import {
  cycleGanGeneratorModel,
  imageManifest,
  mulberry32,
  photoLikePixels,
  tempModelsDir,
  writeModel,
} from '../tests/helpers/image-models.ts';
import { BenchClient } from './bench/http-client.ts';
import { medianDifferenceInterval, percentile } from './bench/stats.ts';

const SIZES = [512, 1024];
const CONCURRENCY = [4, 8];
/**
 * Requests per (size, concurrency): enough for a p50/p95 without running for minutes. At 512² a
 * c=8 window of 16 requests (≈ 3 s) could fall wholly in one of this machine's slow spells (65 %
 * of raw once, against 93–131 % in the runs around it), so it takes 32.
 */
const REQUESTS: Record<number, Record<number, number>> = { 512: { 4: 12, 8: 32 }, 1024: { 4: 8, 8: 8 } };
/** Raw-run / server-request pairs at concurrency 1. */
const PAIRS: Record<number, number> = { 512: Number(process.env.BENCH_PAIRS ?? 192), 1024: 4 };
/** Back-to-back raw runs with all the pool's threads: the c=8 ceiling. */
const RAW_RUNS: Record<number, number> = { 512: 12, 1024: 3 };

function modelsDirAndManifest(): { modelsDir: string; manifest: ImageToImageManifest; label: string } {
  const photo2anime = path.resolve('models/photo2anime/model.json');
  if (existsSync(photo2anime)) {
    const manifest = parseManifest(JSON.parse(readFileSync(photo2anime, 'utf8')));
    if (manifest.task === 'image-to-image') return { modelsDir: path.resolve('models'), manifest, label: 'models/photo2anime' };
  }
  const ngf = Number(process.env.BENCH_NGF ?? 16);
  const blocks = Number(process.env.BENCH_BLOCKS ?? 6);
  const modelsDir = tempModelsDir();
  const manifest = imageManifest('bench-cyclegan', { layout: 'NCHW', inRange: [-1, 1], multipleOf: 4, maxSide: 1024 });
  writeModel(modelsDir, manifest.name, manifest, cycleGanGeneratorModel(ngf, blocks));
  return { modelsDir, manifest, label: `in-code CycleGAN ResNet generator ngf=${ngf} blocks=${blocks} (random weights)` };
}

/** A photo-like test image (JPEG sizes like a real photo's). */
async function photoJpeg(side: number): Promise<Buffer> {
  const pixels = photoLikePixels(side, side, mulberry32(side));
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The padded pixels the server makes of this JPEG, and how the model takes and gives them. */
interface ModelImage {
  image: HwcImage;
  io: { input: ImageInputSpec; output: ImageOutputSpec };
}

async function modelImage(manifest: ImageToImageManifest, jpeg: Buffer): Promise<ModelImage> {
  const decoded = await decodeImage(jpeg, { maxPixels: 40_000_000, maxSide: manifest.input.maxSide });
  const image = reflectPad({ width: decoded.width, height: decoded.height, channels: 3, data: decoded.rgb }, manifest.input.multipleOf);
  const { input, output } = manifest;
  return {
    image,
    io: {
      input: { name: input.name, layout: input.layout, range: input.range, channels: input.channels },
      output: { name: output.name, layout: output.layout, range: output.range },
    },
  };
}

/**
 * One raw run on `model` in `inference`: session.run's own time, as the worker measures it, and
 * the session's threads. It goes through the pool's translate message, which feeds session.run the
 * same tensor a request does and sends nothing to or from the main thread but the image's pixels,
 * in a reused buffer. (A run message would leave a 3 MB input copy and a 3 MB output on the main
 * thread per raw run, and the major GCs those set off there would land in the HTTP requests.)
 */
async function rawRun(inference: InferencePool, model: string, { image, io }: ModelImage): Promise<{ runMs: number; threads: number }> {
  let timing = { runMs: NaN, threads: 0 };
  const pixels = await inference.translate(model, image, io, { onTiming: ({ runMs, threads }) => (timing = { runMs, threads }) });
  inference.recycle(pixels.data.buffer);
  return timing;
}

/**
 * Raw runs back to back on a session of their own in a one-worker pool (in a worker thread, where
 * the server runs its sessions too), with `threads` intra-op threads.
 */
async function rawRuns(onnxPath: string, input: ModelImage, threads: number, runs: number, device: Device): Promise<number[]> {
  const pool = new InferencePool({ workers: 1, threadsPerWorker: threads, device, queueLimit: 1 });
  await pool.loadModel('raw', onnxPath);
  await rawRun(pool, 'raw', input); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await rawRun(pool, 'raw', input)).runMs);
  await pool.close();
  return times;
}

/** One translate request: its latency and its Server-Timing stages (decode, …, inference, …). */
async function translateOnce(
  client: BenchClient,
  path: string,
  body: Buffer,
): Promise<{ latency: number; stages: Record<string, number> }> {
  const answer = await client.request('POST', path, body, { 'Content-Type': 'image/jpeg' });
  if (answer.status !== 200) throw new Error(`translate answered ${answer.status}`);
  const stages = Object.fromEntries(
    [...String(answer.headers['server-timing'] ?? '').matchAll(/(\w+);dur=([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]),
  );
  if (stages.inference === undefined) throw new Error('translate answered without an inference Server-Timing');
  return { latency: answer.latency, stages };
}

/**
 * Concurrency 1: raw runs and server requests alternate, so both see the same machine state
 * (runs of one model vary by tens of ms here, in spells). Both land on the server's first idle
 * worker, so they run the very same session.
 */
async function interleaved(
  client: BenchClient,
  path: string,
  body: Buffer,
  inference: InferencePool,
  poolKey: string,
  input: ModelImage,
  pairs: number,
) {
  const rawTimes: number[] = [];
  /** Intra-op threads of the session each raw run used (the solo session, when the pool has one). */
  const rawThreads = new Set<number>();
  const latencies: number[] = [];
  /** onnxruntime's run inside each request, as its Server-Timing says. */
  const inferences: number[] = [];
  const overheads: number[] = [];
  /** Each Server-Timing stage outside inference, plus what no stage covers (HTTP, thread hops). */
  const stages: Record<string, number[]> = {};
  for (let i = 0; i < pairs; i++) {
    // Which goes first alternates, so neither always follows the other.
    const raw = async () => {
      const { runMs, threads } = await rawRun(inference, poolKey, input);
      rawTimes.push(runMs);
      rawThreads.add(threads);
    };
    if (i % 2 === 0) await raw();
    const answer = await translateOnce(client, path, body);
    if (i % 2 === 1) await raw();
    latencies.push(answer.latency);
    inferences.push(answer.stages.inference!);
    overheads.push(answer.latency - answer.stages.inference!);
    let covered = 0;
    for (const [stage, ms] of Object.entries(answer.stages)) {
      covered += ms;
      if (stage !== 'inference') (stages[stage] ??= []).push(ms);
    }
    (stages.other ??= []).push(answer.latency - covered);
  }
  return { rawTimes, rawThreads: [...rawThreads].join('/'), latencies, inferences, overheads, stages };
}

async function load(
  client: BenchClient,
  path: string,
  body: Buffer,
  concurrency: number,
  total: number,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const loop = async () => {
    while (next < total) {
      next += 1;
      const answer = await client.request('POST', path, body, { 'Content-Type': 'image/jpeg' });
      if (answer.status !== 200) throw new Error(`translate answered ${answer.status}`);
      latencies.push(answer.latency);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/** Polls /healthz every 10 ms on its own connection until stopped; returns the latencies. */
function pollHealth(port: number): { stop: () => Promise<number[]> } {
  const client = new BenchClient(port, 1);
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      latencies.push((await client.request('GET', '/healthz')).latency);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    client.close();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return latencies;
    },
  };
}

const fmt = (ms: number) => ms.toFixed(1).padStart(8);

async function main(): Promise<void> {
  const { modelsDir, manifest, label } = modelsDirAndManifest();
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    MODELS_DIR: modelsDir,
    LOG_LEVEL: 'silent',
    QUEUE_LIMIT: '64',
  });
  console.log(`model: ${label}`);
  const running = await startServer(config, pino({ level: 'silent' }));
  await running.loaded;
  // The provider the server settled on (DEVICE); the raw runs use it too.
  const { device } = await running.pool.resolveDevice();
  const totalThreads = config.workers * config.threadsPerWorker;
  const solo =
    device === 'cpu' && config.soloThreads > config.threadsPerWorker
      ? `; a lone run gets a solo session of ${config.soloThreads} threads`
      : '';
  console.log(
    `pool: ${config.workers} workers × ${config.threadsPerWorker} intra-op threads (${totalThreads} total) on ${availableCores()} cores; provider ${device}${solo}`,
  );
  const entry = running.repository.get(manifest.name)!;
  if (entry.status !== 'ready') throw new Error(`model not ready: ${entry.reason}`);
  const client = new BenchClient(running.port, 8);

  const rows: string[] = [];
  const checks: Array<{ name: string; value: string; pass: boolean }> = [];
  try {
    for (const side of SIZES) {
      const jpeg = await photoJpeg(side);
      const translatePath = `/v1/models/${manifest.name}/translate?format=jpeg&quality=90`;
      await load(client, translatePath, jpeg, config.workers, config.workers); // warm every worker at this size

      const input = await modelImage(manifest, jpeg);
      const single = await interleaved(client, translatePath, jpeg, running.pool, entry.poolKey, input, PAIRS[side]!);
      const rawAllThreads =
        totalThreads === config.threadsPerWorker
          ? single.rawTimes
          : await rawRuns(entry.onnxPath!, input, totalThreads, RAW_RUNS[side]!, device);
      const rawP50 = percentile(single.rawTimes, 0.5);
      const rawThroughput = 1000 / (rawAllThreads.reduce((a, b) => a + b, 0) / rawAllThreads.length);
      const p50 = percentile(single.latencies, 0.5);
      const overheadP50 = percentile(single.overheads, 0.5);
      rows.push(
        `${String(side).padStart(5)}²  raw   ${single.rawThreads}thr ${fmt(rawP50)} ${fmt(percentile(single.rawTimes, 0.95))}          | raw ${totalThreads} threads: ${rawThroughput.toFixed(2)} img/s`,
      );
      rows.push(
        `${String(side).padStart(5)}²  c=1      ${fmt(p50)} ${fmt(percentile(single.latencies, 0.95))} ${(1000 / p50).toFixed(2).padStart(8)} img/s` +
          ` | ${single.latencies.length} requests alternating with raw runs; overhead per request (latency − its onnxruntime run) p50 ${overheadP50.toFixed(1)} ms, p95 ${percentile(single.overheads, 0.95).toFixed(1)} ms`,
      );
      rows.push(
        `         overhead p50 by stage: ${Object.entries(single.stages)
          .map(([stage, ms]) => `${stage} ${percentile(ms, 0.5).toFixed(1)}`)
          .join(', ')} ms`,
      );
      if (side === 512) {
        // The same session's runs inside requests and alone differ only by chance; this shows how
        // much of the metric that chance is.
        const runDrift = percentile(single.inferences, 0.5) - rawP50;
        const [low, high] = medianDifferenceInterval(single.latencies, single.rawTimes);
        checks.push({
          name: 'c=1 512²: server p50 − raw p50 ≤ 15 ms',
          value:
            `${(p50 - rawP50).toFixed(1)} ms (95 % bootstrap interval ${low.toFixed(1)}–${high.toFixed(1)} over ${single.latencies.length} pairs; ` +
            `per-request overhead p50 ${overheadP50.toFixed(1)} ms; runs inside requests p50 ${runDrift >= 0 ? '+' : '−'}${Math.abs(runDrift).toFixed(1)} ms against raw)`,
          pass: p50 - rawP50 <= 15,
        });
      }

      for (const concurrency of CONCURRENCY) {
        const health = concurrency === 8 ? pollHealth(running.port) : null;
        const { latencies, seconds } = await load(client, translatePath, jpeg, concurrency, REQUESTS[side]![concurrency]!);
        const healthLatencies = (await health?.stop()) ?? [];
        const throughput = latencies.length / seconds;
        const p50 = percentile(latencies, 0.5);
        rows.push(
          `${String(side).padStart(5)}²  c=${concurrency}      ${fmt(p50)} ${fmt(percentile(latencies, 0.95))} ${throughput.toFixed(2).padStart(8)} img/s` +
            (health ? ` | /healthz p99 ${percentile(healthLatencies, 0.99).toFixed(1)} ms (${healthLatencies.length} probes)` : ''),
        );
        if (concurrency === 8) {
          const ratio = throughput / rawThroughput;
          checks.push({
            name: `c=8 ${side}²: throughput ≥ 85 % of raw (${totalThreads} threads)`,
            value: `${(ratio * 100).toFixed(0)} %`,
            pass: ratio >= 0.85,
          });
          const p99 = percentile(healthLatencies, 0.99);
          checks.push({ name: `c=8 ${side}²: /healthz p99 < 50 ms`, value: `${p99.toFixed(1)} ms`, pass: p99 < 50 });
        }
      }
    }
  } finally {
    client.close();
    await running.close();
  }
  console.log('\n  size   load       p50 ms   p95 ms  throughput');
  for (const row of rows) console.log(row);
  console.log('\ntargets:');
  for (const check of checks) console.log(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.name}: ${check.value}`);
}

await main();
