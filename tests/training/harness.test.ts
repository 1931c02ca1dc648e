/**
 * The training harness on the smoke recipe and the deterministic pure-JS `cpu` backend: resume
 * reproduces an uninterrupted run bit for bit, and a run leaves its checkpoints, log and samples.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EpochSampler, train, type TrainOptions } from '../../training/harness.ts';
import type { Recipe } from '../../training/recipes/recipe.ts';
import { smokeRecipe } from '../../training/recipes/smoke.ts';

let root: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'harness-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const base: Omit<TrainOptions, 'outDir'> = {
  recipe: smokeRecipe as unknown as Recipe,
  seed: 7,
  batchSize: 16,
  progress: 'silent',
  checkpointEvery: 4,
  sampleEvery: 4,
  logEvery: 2,
  skipExport: true,
};

/** Every weight of every model of a finished run, then the models are freed. */
function weightsOf(result: Awaited<ReturnType<typeof train>>): Float32Array[] {
  const values = Object.values(result.models).flatMap((model) => model.getWeights().map((w) => w.dataSync() as Float32Array));
  for (const model of Object.values(result.models)) model.dispose();
  return values;
}

/** The smoke recipe, but pressing "Ctrl-C" (aborting `stop`) during step `atStep`. */
function interruptedAt(atStep: number, stop: AbortController): Recipe {
  return {
    ...(smokeRecipe as unknown as Recipe),
    async setup(setup) {
      const session = await smokeRecipe.setup(setup as Parameters<typeof smokeRecipe.setup>[0]);
      return {
        ...session,
        trainStep(step, random) {
          if (step === atStep) stop.abort();
          return session.trainStep(step, random);
        },
      };
    },
  };
}

describe('EpochSampler', () => {
  it('visits every example once per epoch, in a seeded order that changes between epochs', () => {
    const sampler = new EpochSampler(10, 3, 5);
    expect(sampler.stepsPerEpoch).toBe(3);
    const epoch0 = [0, 1, 2].flatMap((s) => Array.from(sampler.batch(s)));
    const epoch1 = [3, 4, 5].flatMap((s) => Array.from(sampler.batch(s)));
    expect(new Set(epoch0).size).toBe(9);
    expect(epoch0).not.toEqual(epoch1);
    expect(Array.from(new EpochSampler(10, 3, 5).batch(4))).toEqual(Array.from(sampler.batch(4)));
    expect(() => new EpochSampler(2, 3, 5)).toThrow(/batch size 3/);
  });
});

describe('train', () => {
  it('gives identical weights for N steps straight and N/2 + Ctrl-C + resume N/2 (fixed seed, cpu backend)', async () => {
    const straight = await train({ ...base, outDir: join(root, 'straight'), steps: 12 });
    expect(straight.step).toBe(12);
    const straightWeights = weightsOf(straight);

    const stop = new AbortController();
    const first = await train({ ...base, recipe: interruptedAt(5, stop), outDir: join(root, 'halves'), steps: 12, stop: stop.signal });
    expect(first.interrupted).toBe(true);
    expect(first.step).toBe(6);
    weightsOf(first);

    const resumed = await train({ ...base, resume: join(root, 'halves'), steps: 12 });
    expect(resumed.step).toBe(12);
    expect(resumed.outDir).toBe(join(root, 'halves'));
    const resumedWeights = weightsOf(resumed);
    expect(resumedWeights.length).toBe(straightWeights.length);
    resumedWeights.forEach((values, i) => expect(Buffer.from(values.buffer).equals(Buffer.from(straightWeights[i]!.buffer))).toBe(true));
  });

  it('differs for another seed', async () => {
    const a = weightsOf(await train({ ...base, outDir: join(root, 'seed-a'), steps: 2 }));
    const b = weightsOf(await train({ ...base, seed: 8, outDir: join(root, 'seed-b'), steps: 2 }));
    expect(Buffer.from(a[0]!.buffer).equals(Buffer.from(b[0]!.buffer))).toBe(false);
  });

  it('leaves checkpoints (with step, RNG and optimizer state), a JSONL log and sample grids', async () => {
    const outDir = join(root, 'layout');
    weightsOf(await train({ ...base, outDir, steps: 12, keepCheckpoints: 2 }));
    expect(await readdir(join(outDir, 'checkpoints'))).toEqual(['step-00000008', 'step-00000012']);
    const state = JSON.parse(await readFile(join(outDir, 'checkpoints', 'step-00000012', 'state.json'), 'utf8'));
    expect(state).toMatchObject({ recipe: 'smoke', step: 12, seed: 7, batchSize: 16, rng: { kind: 'counter', seed: 7, step: 12 } });
    const groups = new Set(state.tensors.map((t: { group: string; key: string }) => `${t.group}:${t.key}`));
    expect(groups).toEqual(new Set(['model:generator', 'model:discriminator', 'optimizer:generator', 'optimizer:discriminator']));
    expect(Object.keys(state.adamBetaPowers)).toEqual(['generator', 'discriminator']);

    const log = (await readFile(join(outDir, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(log[0]).toMatchObject({ event: 'start', recipe: 'smoke', seed: 7, totalSteps: 12 });
    const steps = log.filter((r) => r.event === 'step');
    expect(steps.map((r) => r.step)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(Object.keys(steps[0].losses)).toEqual(['discriminator', 'generator']);
    expect(steps[0].imagesPerSecond).toBeGreaterThan(0);

    expect(await readdir(join(outDir, 'samples'))).toEqual(['step-00000004.png', 'step-00000008.png', 'step-00000012.png']);
    const grid = await sharp(join(outDir, 'samples', 'step-00000012.png')).metadata();
    // 8 samples of 8×8, 4 per row (one per class).
    expect([grid.width, grid.height]).toEqual([32, 16]);
  });

  it('refuses to resume a checkpoint of another recipe', async () => {
    const other = { ...(smokeRecipe as unknown as Recipe), name: 'other' };
    await expect(train({ ...base, recipe: other, resume: join(root, 'layout') })).rejects.toThrow(/belongs to recipe "smoke"/);
  });
});
