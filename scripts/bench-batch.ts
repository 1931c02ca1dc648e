/**
 * `npm run bench:batch`: the batch CLI's in-process throughput against raw onnxruntime, for the
 * same model and the same tensors, measured in one run on one machine.
 *
 * - Input: BENCH_COUNT (default 200) photo-like 512×512 JPEGs in a temp folder.
 * - Model: models/photo2anime when it exists, else an in-code CycleGAN ResNet generator (random
 *   weights; BENCH_NGF × BENCH_BLOCKS, default 16 × 6, the scale bench:translate uses, so a run
 *   takes minutes on a small machine; 64 × 9 is the published size).
 * - Raw onnxruntime: one session with all the pool's threads (INFERENCE_WORKERS ×
 *   INFERENCE_THREADS, the defaults for this machine otherwise), fed each file's tensor (decoded,
 *   padded and laid out as the CLI does, outside the timing), run back to back; files/s = files /
 *   the sum of run() times.
 * - Pool only: the same tensors through the worker pool (tensor in, tensor out, no decode/encode),
 *   to tell the pool's cost from the imaging's.
 * - Batch CLI: `translate` in-process (read → decode → tensor → pool → PNG → atomic write); files/s
 *   from the report's wall time (model loading excluded, as in the raw figure).
 *
 * Target (batch issue): batch files/s ≥ 85 % of raw.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { main } from './batch/main.ts';
import type { BatchReport } from './batch/report.ts';
import {
  availableCores,
  decodeImage,
  type FloatTensor,
  type ImageToImageManifest,
  parseManifest,
  reflectPad,
  toTensor,
} from '../server/shared.ts';
import { type Device, InferencePool, loadConfig, sessionOptions, settleDeviceSetting } from '../server/embedding.ts';
import {
  cycleGanGeneratorModel,
  imageManifest,
  mulberry32,
  photoLikePixels,
  tempModelsDir,
  writeModel,
} from '../tests/helpers/image-models.ts';

const COUNT = positiveEnv('BENCH_COUNT', 200);
const SIDE = 512;
const TARGET = 0.85;

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer (got "${raw}")`);
  return value;
}

function benchModel(): { modelsDir: string; name: string; manifest: ImageToImageManifest; label: string } {
  const photo2anime = path.resolve('models/photo2anime/model.json');
  if (existsSync(photo2anime)) {
    const manifest = parseManifest(JSON.parse(readFileSync(photo2anime, 'utf8')));
    if (manifest.task === 'image-to-image')
      return { modelsDir: path.resolve('models'), name: 'photo2anime', manifest, label: 'models/photo2anime' };
  }
  const ngf = positiveEnv('BENCH_NGF', 16);
  const blocks = positiveEnv('BENCH_BLOCKS', 6);
  const modelsDir = tempModelsDir();
  const manifest = imageManifest('bench-cyclegan', { layout: 'NCHW', inRange: [-1, 1], multipleOf: 4, maxSide: 1024 });
  writeModel(modelsDir, manifest.name, manifest, cycleGanGeneratorModel(ngf, blocks));
  return {
    modelsDir,
    name: manifest.name,
    manifest,
    label: `in-code CycleGAN ResNet generator ngf=${ngf} blocks=${blocks} (random weights)`,
  };
}

/** A photo-like 512² JPEG (smooth gradients, mild noise), different for every index. */
async function photoJpeg(index: number): Promise<Buffer> {
  const random = mulberry32(index + 1);
  const [x, y, phase] = [30 + random() * 40, 40 + random() * 40, random() * 6];
  const pixels = photoLikePixels(SIDE, SIDE, random, { x, y, phase });
  return sharp(pixels, { raw: { width: SIDE, height: SIDE, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The tensor the CLI feeds the model for this file (same decode, padding, layout and range). */
async function tensorOf(file: string, manifest: ImageToImageManifest, maxPixels: number): Promise<FloatTensor> {
  const image = await decodeImage(readFileSync(file), { maxPixels, maxSide: manifest.input.maxSide });
  const padded = reflectPad({ width: image.width, height: image.height, channels: 3, data: image.rgb }, manifest.input.multipleOf);
  return toTensor(padded, manifest.input.layout, manifest.input.range, manifest.input.channels);
}

async function rawFilesPerSecond(
  onnxPath: string,
  files: string[],
  manifest: ImageToImageManifest,
  threads: number,
  maxPixels: number,
  device: Device,
): Promise<{ filesPerSecond: number; p50Ms: number }> {
  const session = await ort.InferenceSession.create(onnxPath, sessionOptions(threads, device));
  const feedsOf = (tensor: FloatTensor) => ({ [manifest.input.name]: new ort.Tensor('float32', tensor.data, tensor.dims) });
  await session.run(feedsOf(await tensorOf(files[0]!, manifest, maxPixels))); // warm-up
  const times: number[] = [];
  for (const file of files) {
    const feeds = feedsOf(await tensorOf(file, manifest, maxPixels));
    const started = performance.now();
    await session.run(feeds, [manifest.output.name]);
    times.push(performance.now() - started);
  }
  await session.release();
  const sorted = [...times].sort((a, b) => a - b);
  return { filesPerSecond: files.length / (times.reduce((a, b) => a + b, 0) / 1000), p50Ms: sorted[Math.floor(sorted.length / 2)]! };
}

/** Pre-computed tensors through the worker pool, `concurrency` in flight; and the provider the pool settled on. */
async function poolFilesPerSecond(
  onnxPath: string,
  name: string,
  files: string[],
  manifest: ImageToImageManifest,
  maxPixels: number,
): Promise<{ filesPerSecond: number; device: Device }> {
  const config = loadConfig();
  const pool = new InferencePool({
    workers: config.workers,
    threadsPerWorker: config.threadsPerWorker,
    device: settleDeviceSetting(config.device),
    queueLimit: files.length,
  });
  try {
    await pool.loadModel(name, onnxPath);
    const tensors: FloatTensor[] = [];
    for (const file of files) tensors.push(await tensorOf(file, manifest, maxPixels));
    const run = (t: FloatTensor) =>
      pool.run(name, { [manifest.input.name]: { type: 'float32', data: t.data, dims: t.dims } }, { outputs: [manifest.output.name] });
    const first = tensors[0]!;
    await pool.warmup(name, { [manifest.input.name]: { type: 'float32', data: first.data.slice(), dims: first.dims } });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: pool.concurrency * 2 }, async () => {
        while (next < tensors.length) await run(tensors[next++]!);
      }),
    );
    const filesPerSecond = files.length / ((performance.now() - started) / 1000);
    return { filesPerSecond, device: (await pool.resolveDevice()).device };
  } finally {
    await pool.close();
  }
}

async function benchmark(): Promise<void> {
  const config = loadConfig();
  const totalThreads = config.workers * config.threadsPerWorker;
  const model = benchModel();
  const onnxPath = path.join(model.modelsDir, model.name, model.manifest.onnx);
  const work = path.join(os.tmpdir(), `ganserve-bench-batch-${process.pid}`);
  const input = path.join(work, 'in');
  const output = path.join(work, 'out');
  mkdirSync(input, { recursive: true });
  const load = os.loadavg()[0]!;
  const cores = availableCores();
  console.log(`bench:batch — ${COUNT} JPEGs of ${SIDE}×${SIDE}, model: ${model.label}`);
  console.log(
    `machine: ${cores} cores, load average ${load.toFixed(1)}; pool ${config.workers} workers × ${config.threadsPerWorker} intra-op threads each`,
  );
  if (load > cores * 0.5) console.log('warning: the machine is busy; figures will be noisy');
  try {
    const files: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const file = path.join(input, `set-${i % 4}`, `photo-${String(i).padStart(3, '0')}.jpg`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, await photoJpeg(i));
      files.push(file);
    }

    // The pool first: it settles the provider (DEVICE), and the raw session then uses the same one.
    const poolOnly = await poolFilesPerSecond(onnxPath, model.name, files, model.manifest, config.maxInputPixels);
    const raw = await rawFilesPerSecond(onnxPath, files, model.manifest, totalThreads, config.maxInputPixels, poolOnly.device);
    console.log(
      `raw onnxruntime (1 session, ${totalThreads} threads, back to back, ${poolOnly.device}): ${raw.filesPerSecond.toFixed(2)} files/s (run p50 ${raw.p50Ms.toFixed(0)} ms)`,
    );
    console.log(`worker pool only (tensors in and out):               ${poolOnly.filesPerSecond.toFixed(2)} files/s`);

    const wallStart = performance.now();
    const code = await main(['translate', '--model', model.name, '--input', input, '--output', output], {
      stdout: process.stdout,
      stderr: process.stderr,
      env: { ...process.env, MODELS_DIR: model.modelsDir },
    });
    const wallSeconds = (performance.now() - wallStart) / 1000;
    if (code !== 0) throw new Error(`the batch run exited with ${code}`);
    const report = JSON.parse(readFileSync(path.join(output, 'batch-report.json'), 'utf8')) as BatchReport;
    const batch = report.totals.converted / (report.durationMs / 1000);
    const ratio = batch / raw.filesPerSecond;
    console.log(
      `batch CLI in-process (decode → pool → PNG → write):  ${batch.toFixed(2)} files/s (${wallSeconds.toFixed(1)} s with start-up and model load)`,
    );
    console.log(`batch / raw = ${(ratio * 100).toFixed(0)} % (target ≥ ${TARGET * 100} %): ${ratio >= TARGET ? 'PASS' : 'FAIL'}`);
    process.exitCode = ratio >= TARGET ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (model.name !== 'photo2anime') rmSync(model.modelsDir, { recursive: true, force: true });
  }
}

await benchmark();
