/**
 * The digits recipe end to end on a small MNIST subset, on the default training backend
 * (wasm + onnxruntime kernels): one epoch completes, samples and exports a servable model.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../server/models/manifest.ts';
import { selectBackend } from '../../training/backend/select.ts';
import { train } from '../../training/harness.ts';
import { digitsRecipe, type DigitsOptions } from '../../training/recipes/digits.ts';
import type { Recipe } from '../../training/recipes/recipe.ts';
import { expectDefaultsTrainCommitted } from './committed-model.ts';
import { inPairs, judgedConditions } from './discriminator-calls.ts';

let root: string;

beforeAll(async () => {
  await selectBackend('wasm-ort', { log: () => {} });
  root = await mkdtemp(join(tmpdir(), 'digits-recipe-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('digits recipe', () => {
  it('trains one epoch on 256 digits and exports a 28×28 label-conditioned generator', async () => {
    const started = performance.now();
    const result = await train({
      recipe: digitsRecipe as unknown as Recipe,
      outDir: join(root, 'run'),
      epochs: 1,
      batchSize: 64,
      recipeOptions: { subset: 256, noiseScale: 1 },
      progress: 'silent',
      backend: 'wasm-ort',
    });
    for (const model of Object.values(result.models)) model.dispose();
    expect(result.step).toBe(4);
    for (const value of Object.values(result.lastLosses)) expect(Number.isFinite(value)).toBe(true);

    const manifest = parseManifest(JSON.parse(await readFile(join(result.exportDir!, 'model.json'), 'utf8')));
    expect(manifest).toMatchObject({
      name: 'digits',
      task: 'conditional-generation',
      noise: { name: 'noise', dim: 64, distribution: 'normal' },
      label: { name: 'label', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
      output: { name: 'image', layout: 'NHWC', range: [-1, 1], channels: 1, width: 28, height: 28 },
      provenance: { recipe: 'digits', steps: 4, epochs: 1, dataset: { trainingDigits: 256 } },
    });

    const session = await ort.InferenceSession.create(join(result.exportDir!, 'model.onnx'));
    const out = await session.run({
      noise: new ort.Tensor('float32', new Float32Array(3 * 64).fill(0.5), [3, 64]),
      label: new ort.Tensor('int64', BigInt64Array.from([0n, 5n, 9n]), [3]),
    });
    expect(out.image!.dims).toEqual([3, 28, 28, 1]);
    expect((out.image!.data as Float32Array).every((v) => v >= -1 && v <= 1)).toBe(true);
    await session.release();

    // The sample grid: one row per class, ten samples per row.
    const grid = await sharp(join(result.outDir, 'samples', 'step-00000004.png')).metadata();
    expect([grid.width, grid.height]).toEqual([280, 280]);
    expect(performance.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it('bakes the noise truncation τ into the export: G_τ(z, y) = G(τ·z, y)', async () => {
    const truncated = await train({
      recipe: digitsRecipe as unknown as Recipe,
      resume: join(root, 'run'),
      outDir: join(root, 'truncated'),
      recipeOptions: { noiseScale: 0.5 },
      progress: 'silent',
    });
    for (const model of Object.values(truncated.models)) model.dispose();
    const manifest = JSON.parse(await readFile(join(truncated.exportDir!, 'model.json'), 'utf8'));
    expect(manifest.description).toContain('τ = 0.5');

    const noise = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i * 1.7) * 1.5);
    const label = new ort.Tensor('int64', BigInt64Array.from([3n, 8n]), [2]);
    const run = async (folder: string, z: Float32Array) => {
      const session = await ort.InferenceSession.create(join(folder, 'model.onnx'));
      const out = (await session.run({ noise: new ort.Tensor('float32', z, [2, 64]), label })).image!.data as Float32Array;
      await session.release();
      return out;
    };
    const viaExport = await run(truncated.exportDir!, noise);
    const viaScaledNoise = await run(
      join(root, 'run', 'export', 'digits'),
      noise.map((v) => v * 0.5),
    );
    expect(viaExport.reduce((m, v, i) => Math.max(m, Math.abs(v - viaScaledNoise[i]!)), 0)).toBeLessThan(1e-4);
  }, 60_000);

  it('with --ema-decay, samples and exports the weight average, and checkpoints it', async () => {
    const result = await train({
      recipe: digitsRecipe as unknown as Recipe,
      outDir: join(root, 'ema'),
      epochs: 1,
      batchSize: 64,
      recipeOptions: { subset: 256, noiseScale: 1, emaDecay: 0.9 },
      progress: 'silent',
      backend: 'wasm-ort',
    });
    const { generator, generatorAverage } = result.models;
    expect(generatorAverage).toBeDefined();
    const noise = tf.tensor2d(
      Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i)),
      [2, 64],
    );
    const labels = tf.tensor2d([1, 7], [2, 1], 'int32');
    const drawn = (model: tf.LayersModel) => Array.from((model.predict([noise, labels]) as tf.Tensor).dataSync());
    const averaged = drawn(generatorAverage!);
    const raw = drawn(generator!);
    for (const model of Object.values(result.models)) model.dispose();

    const session = await ort.InferenceSession.create(join(result.exportDir!, 'model.onnx'));
    const out = await session.run({
      noise: new ort.Tensor('float32', noise.dataSync() as Float32Array, [2, 64]),
      label: new ort.Tensor('int64', BigInt64Array.from([1n, 7n]), [2]),
    });
    await session.release();
    const exported = out.image!.data as Float32Array;
    expect(exported.reduce((m, v, i) => Math.max(m, Math.abs(v - averaged[i]!)), 0)).toBeLessThan(1e-4);
    expect(exported.reduce((m, v, i) => Math.max(m, Math.abs(v - raw[i]!)), 0)).toBeGreaterThan(1e-3);
    const state = JSON.parse(await readFile(join(result.outDir, 'checkpoints', 'step-00000004', 'state.json'), 'utf8'));
    expect(state.tensors.some((t: { key: string }) => t.key === 'generatorAverage')).toBe(true);
    tf.dispose([noise, labels]);
  }, 90_000);

  it('takes several critic updates per generator update with --critic-steps, each on its own real batch', async () => {
    // 256 digits at batch 64 are 4 real batches: with 2 critic updates per step, one epoch is 2 steps.
    const result = await train({
      recipe: digitsRecipe as unknown as Recipe,
      outDir: join(root, 'critic-steps'),
      epochs: 1,
      batchSize: 64,
      recipeOptions: { subset: 256, noiseScale: 1, loss: 'wgan-gp', criticSteps: 2 },
      progress: 'silent',
      backend: 'wasm-ort',
    });
    for (const model of Object.values(result.models)) model.dispose();
    expect(result.step).toBe(2);
    for (const value of Object.values(result.lastLosses)) expect(Number.isFinite(value)).toBe(true);
    const manifest = JSON.parse(await readFile(join(result.exportDir!, 'model.json'), 'utf8'));
    expect(manifest.provenance).toMatchObject({ steps: 2, epochs: 1 });
  }, 90_000);

  /** Under all 8,500 digits, so a batch mixes classes. */
  const judgedLabels = (loss: 'bce' | 'wgan-gp') =>
    judgedConditions(digitsRecipe, { ...digitsRecipe.options, subset: 0, noiseScale: 1, loss } satisfies DigitsOptions, 8);

  it('scores WGAN-GP fakes and penalty interpolates under the real labels; BCE fakes come in same-label pairs', async () => {
    const [real, fake, ...rest] = await judgedLabels('wgan-gp');
    expect(new Set(real).size).toBeGreaterThan(1);
    const generatorCall = rest.pop()!;
    expect(rest.length).toBeGreaterThan(0); // the penalty's critic call(s)
    for (const labels of [fake, ...rest]) expect(labels).toEqual(real);
    expect(inPairs(generatorCall)).toBe(true); // the mode-seeking pairs

    const [bceReal, bceFake, bceGenerator, ...none] = await judgedLabels('bce');
    expect(none).toEqual([]);
    expect(inPairs(bceFake!)).toBe(true);
    expect(bceGenerator).toEqual(bceFake);
    expect(bceFake).not.toEqual(bceReal);
  });

  it('reproduces the committed model at its defaults: `npm run train -- digits` has its options, batch and steps', async () => {
    await expectDefaultsTrainCommitted(digitsRecipe, 'models/digits/model.json');
  });

  it('refuses a critic-steps value that is not a whole number ≥ 1', async () => {
    for (const criticSteps of [0, 1.5]) {
      await expect(
        train({
          recipe: digitsRecipe as unknown as Recipe,
          outDir: join(root, `bad-critic-steps-${criticSteps}`),
          steps: 1,
          batchSize: 64,
          recipeOptions: { subset: 256, criticSteps },
          progress: 'silent',
          backend: 'wasm-ort',
        }),
      ).rejects.toThrow(/--critic-steps must be a whole number ≥ 1/);
    }
  });
});
