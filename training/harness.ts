/**
 * The training loop every recipe runs in: seeding, checkpoints and resume, progress, sample grids,
 * a JSONL log and the final export. See training/recipes/recipe.ts for the recipe side; the
 * checkpoint files are harness/checkpoints.ts's, the terminal output harness/progress.ts's.
 *
 * Run folder layout (OUT):
 *   log.jsonl                     one JSON object per line: start/resume, steps, checkpoints, samples, export
 *   samples/step-00000500.png     sample grids from fixed noise
 *   checkpoints/step-00000500/    state.json (step, seed, options, tensor index) + tensors.bin
 *   export/<name>/                model.json + model.onnx, ready to copy into models/
 *
 * Randomness is counter-based: step s draws from a generator seeded by (seed, s), and epoch e's
 * shuffle from one seeded by (seed, e). The RNG state a checkpoint must carry is therefore just
 * (seed, step), and a resumed run draws exactly what the uninterrupted run would have drawn.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { composeGrid, type RawImage } from '../server/shared.ts';
import { seededRandom, shuffleInPlace } from './data/random.ts';
import { writeModelFolder } from './export/model-folder.ts';
import { exportModel } from './export/onnx.ts';
import { loadCheckpointState, pad, pruneCheckpoints, restoreCheckpoint, runFolderOf, saveCheckpoint } from './harness/checkpoints.ts';
import { createProgress, type ProgressMode } from './harness/progress.ts';
import type { Recipe, RecipeOptions, RecipeSession } from './recipes/recipe.ts';

export interface TrainOptions {
  recipe: Recipe;
  /** Run folder; with `resume` and no `outDir`, the resumed run's folder. */
  outDir?: string;
  /** A run folder (its latest checkpoint is used) or one checkpoint folder. */
  resume?: string;
  seed?: number;
  batchSize?: number;
  /** Total steps of the run (counted from step 0, also when resuming). Wins over `epochs`. */
  steps?: number;
  epochs?: number;
  /** Recipe options overriding the recipe's defaults. */
  recipeOptions?: Partial<RecipeOptions>;
  checkpointEvery?: number;
  sampleEvery?: number;
  logEvery?: number;
  /** Checkpoints kept on disk (oldest removed first). */
  keepCheckpoints?: number;
  progress?: ProgressMode;
  /** Backend name, recorded in the log and the provenance. */
  backend?: string;
  /** Set (e.g. on SIGINT) to stop after the current step with a checkpoint. */
  stop?: AbortSignal;
  /** Skip the final export (the resume test compares weights only). */
  skipExport?: boolean;
}

export interface TrainResult {
  outDir: string;
  /** Steps completed (the next step to run). */
  step: number;
  totalSteps: number;
  interrupted: boolean;
  exportDir?: string;
  lastLosses: Record<string, number>;
  /** The session's models, still alive for callers that inspect weights (they dispose them). */
  models: Record<string, tf.LayersModel>;
}

const DEFAULT_SEED = 1;

/** Seed of step `step`'s generator: distinct per (seed, step), then mixed by the PRNG's seeder. */
export function stepSeed(seed: number, step: number, stream = 0): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(step, 0x85ebca6b) + Math.imul(stream, 0xc2b2ae35)) >>> 0;
}

/**
 * Deterministic minibatches: epoch e visits every example once in an order shuffled by (seed, e);
 * step s takes the s-th batch of that sequence (a last partial batch is dropped).
 */
export class EpochSampler {
  readonly stepsPerEpoch: number;
  private cachedEpoch = -1;
  private order: Int32Array = new Int32Array(0);

  constructor(
    readonly count: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (batchSize < 1 || count < batchSize) throw new RangeError(`batch size ${batchSize} needs at least that many examples, got ${count}`);
    this.stepsPerEpoch = Math.floor(count / batchSize);
  }

  /** Example indices of step `step`. */
  batch(step: number): Int32Array {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    if (epoch !== this.cachedEpoch) {
      const indices = Array.from({ length: this.count }, (_, i) => i);
      this.order = Int32Array.from(shuffleInPlace(indices, seededRandom(stepSeed(this.seed, epoch, 1))));
      this.cachedEpoch = epoch;
    }
    const start = (step % this.stepsPerEpoch) * this.batchSize;
    return this.order.slice(start, start + this.batchSize);
  }
}

/** Gathers rows of a row-major Float32Array: `rowLength` values per example. */
export function gatherRows(source: Float32Array, rowLength: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * rowLength);
  for (let i = 0; i < indices.length; i += 1) {
    const start = indices[i]! * rowLength;
    out.set(source.subarray(start, start + rowLength), i * rowLength);
  }
  return out;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { recipe } = options;
  const resumeState = options.resume === undefined ? undefined : await loadCheckpointState(options.resume);
  if (resumeState && resumeState.state.recipe !== recipe.name) {
    throw new Error(`checkpoint ${resumeState.dir} belongs to recipe "${resumeState.state.recipe}", not "${recipe.name}"`);
  }
  const seed = (resumeState?.state.seed ?? options.seed ?? DEFAULT_SEED) >>> 0;
  const batchSize = resumeState?.state.batchSize ?? options.batchSize ?? recipe.defaults.batchSize;
  const recipeOptions = {
    ...recipe.options,
    ...(resumeState?.state.recipeOptions ?? {}),
    ...definedEntries(options.recipeOptions ?? {}),
  } as RecipeOptions;
  const outDir = options.outDir ?? (resumeState ? runFolderOf(resumeState.dir) : undefined);
  if (outDir === undefined) throw new Error('train() needs outDir (or resume)');

  const session = await recipe.setup({ seed, batchSize, options: recipeOptions });
  try {
    const stepsPerEpoch = Math.floor(session.examplesPerEpoch / batchSize);
    if (stepsPerEpoch < 1) throw new Error(`batch size ${batchSize} exceeds the ${session.examplesPerEpoch} training examples`);
    const totalSteps =
      options.steps ??
      (options.epochs !== undefined ? Math.ceil(options.epochs * stepsPerEpoch) : undefined) ??
      resumeState?.state.totalSteps ??
      recipe.defaults.steps ??
      Math.ceil((recipe.defaults.epochs ?? 1) * stepsPerEpoch);
    const checkpointEvery = options.checkpointEvery ?? recipe.defaults.checkpointEvery ?? 500;
    const sampleEvery = options.sampleEvery ?? recipe.defaults.sampleEvery ?? checkpointEvery;
    const logEvery = options.logEvery ?? 10;

    await mkdir(join(outDir, 'checkpoints'), { recursive: true });
    await mkdir(join(outDir, 'samples'), { recursive: true });
    const logPath = join(outDir, 'log.jsonl');
    const log = (record: Record<string, unknown>) =>
      appendFile(logPath, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);

    let step = 0;
    let elapsedBefore = 0;
    if (resumeState) {
      await restoreCheckpoint(resumeState.dir, resumeState.state, session);
      step = resumeState.state.step;
      elapsedBefore = resumeState.state.elapsedSeconds;
      await log({ event: 'resume', from: resumeState.dir, step, totalSteps, recipe: recipe.name, backend: options.backend });
    } else {
      await log({ event: 'start', recipe: recipe.name, seed, batchSize, totalSteps, recipeOptions, backend: options.backend });
    }

    const progress = createProgress(options.progress ?? 'auto', totalSteps, step);
    const startedAt = performance.now();
    const elapsedSeconds = () => elapsedBefore + (performance.now() - startedAt) / 1000;
    let lastLosses: Record<string, number> = {};
    let windowStart = performance.now();
    let windowSteps = 0;
    let interrupted = false;

    const checkpoint = async () => {
      const dir = await saveCheckpoint(outDir, session, {
        format: 1,
        recipe: recipe.name,
        step,
        totalSteps,
        seed,
        batchSize,
        recipeOptions,
        rng: { kind: 'counter', seed, step },
        tensors: [],
        adamBetaPowers: {},
        elapsedSeconds: elapsedSeconds(),
        backend: options.backend,
      });
      await pruneCheckpoints(outDir, options.keepCheckpoints ?? 3);
      await log({ event: 'checkpoint', step, dir });
    };

    while (step < totalSteps) {
      // Steps are synchronous; yielding once per step lets a Ctrl-C (SIGINT) handler run promptly.
      await new Promise<void>((resolveYield) => setImmediate(resolveYield));
      lastLosses = session.trainStep(step, seededRandom(stepSeed(seed, step)));
      step += 1;
      windowSteps += 1;
      if (step % logEvery === 0 || step === totalSteps) {
        const seconds = (performance.now() - windowStart) / 1000;
        const imagesPerSecond = (windowSteps * batchSize) / Math.max(seconds, 1e-9);
        const epoch = (step * batchSize) / session.examplesPerEpoch;
        progress.update(step, totalSteps, lastLosses, imagesPerSecond, epoch);
        await log({
          event: 'step',
          step,
          epoch: round(epoch, 3),
          losses: roundAll(lastLosses),
          imagesPerSecond: round(imagesPerSecond, 1),
          tensors: tf.memory().numTensors,
        });
        windowStart = performance.now();
        windowSteps = 0;
      }
      if (step % sampleEvery === 0 || step === totalSteps) {
        const file = await writeSampleGrid(session, join(outDir, 'samples', `step-${pad(step)}.png`));
        await log({ event: 'sample', step, file });
      }
      if (options.stop?.aborted) {
        interrupted = true;
        break;
      }
      if (step % checkpointEvery === 0 && step < totalSteps) await checkpoint();
    }
    await checkpoint();
    progress.stop();

    let exportDir: string | undefined;
    if (!interrupted && !options.skipExport) {
      exportDir = await exportRun(outDir, session, {
        recipe: recipe.name,
        steps: step,
        epochs: round((step * batchSize) / session.examplesPerEpoch, 3),
        dataset: session.dataset,
        date: new Date().toISOString(),
        seed,
        batchSize,
        options: recipeOptions,
        trainingSeconds: Math.round(elapsedSeconds()),
        ...(options.backend ? { backend: options.backend } : {}),
      });
      await log({ event: 'export', step, dir: exportDir });
    }
    for (const optimizer of Object.values(session.optimizers)) optimizer.dispose();
    session.dispose?.();
    return { outDir, step, totalSteps, interrupted, exportDir, lastLosses, models: session.models };
  } catch (error) {
    for (const model of Object.values(session.models)) model.dispose();
    throw error;
  }
}

function definedEntries<T extends object>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));
const roundAll = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round(v, 5)]));

// ---------------------------------------------------------------------------------------------
// Samples and export

/** Converts [N, H, W, C] images in [-1, 1] to uint8 pixels, one RawImage per image. */
export function toRawImages(images: tf.Tensor4D): RawImage[] {
  const [count, height, width, channels] = images.shape;
  const bytes = tf.tidy(() => tf.cast(tf.clipByValue(tf.round(tf.mul(tf.add(images, 1), 127.5)), 0, 255), 'int32')).dataSync();
  const size = height * width * channels;
  return Array.from({ length: count }, (_, i) => ({
    data: Uint8Array.from(bytes.subarray(i * size, (i + 1) * size)),
    width,
    height,
    channels,
  }));
}

async function writeSampleGrid(session: RecipeSession, file: string): Promise<string> {
  const images = session.sample();
  try {
    const raw = toRawImages(images);
    const grid = composeGrid(raw, { columns: session.sampleColumns, rows: Math.ceil(raw.length / session.sampleColumns) });
    await sharp(grid.data, { raw: { width: grid.width, height: grid.height, channels: grid.channels as 1 | 3 } })
      .png()
      .toFile(file);
    return file;
  } finally {
    images.dispose();
  }
}

/** Exports the recipe's model into OUT/export/<name>/, validated and written atomically. */
async function exportRun(outDir: string, session: RecipeSession, provenance: Record<string, unknown>): Promise<string> {
  const { model, exportOptions, manifest, files = {} } = session.exportTarget();
  const exported = exportModel(model, exportOptions);
  return writeModelFolder(outDir, { manifest: { ...manifest, onnx: 'model.onnx', provenance }, onnx: exported.onnx, files });
}
