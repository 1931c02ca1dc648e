/**
 * The whole path from training to serving, in seconds: the smoke recipe trains a tiny conditional
 * generator, the harness exports it, onnxruntime runs the export like tfjs does, and the server
 * serves it from a temporary models folder.
 */
import * as tf from '@tensorflow/tfjs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../server/models/manifest.ts';
import { noiseBatch } from '../../server/generation/noise.ts';
import { train } from '../../training/harness.ts';
import type { Recipe } from '../../training/recipes/recipe.ts';
import { SMOKE_CLASSES, SMOKE_SIDE, smokeRecipe } from '../../training/recipes/smoke.ts';
import { startTestServer, type TestServer } from '../server/harness.ts';

let root: string;
let exportDir: string;
let generator: tf.LayersModel;
let server: TestServer | undefined;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'smoke-'));
  const result = await train({
    recipe: smokeRecipe as unknown as Recipe,
    outDir: join(root, 'run'),
    steps: 40,
    seed: 3,
    progress: 'silent',
    backend: 'cpu',
  });
  exportDir = result.exportDir!;
  generator = result.models.generator!;
  result.models.discriminator!.dispose();
}, 60_000);

afterAll(async () => {
  await server?.close();
  generator?.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('smoke recipe: train → export → onnxruntime → server', () => {
  it('exports a valid conditional-generation manifest with provenance', async () => {
    expect(exportDir).toBe(join(root, 'run', 'export', 'smoke'));
    const manifest = parseManifest(JSON.parse(await readFile(join(exportDir, 'model.json'), 'utf8')));
    expect(manifest).toMatchObject({
      name: 'smoke',
      task: 'conditional-generation',
      onnx: 'model.onnx',
      noise: { name: 'noise', dim: 8, distribution: 'normal' },
      label: { name: 'label', classes: ['bar0', 'bar1', 'bar2', 'bar3'] },
      output: { name: 'image', layout: 'NHWC', range: [-1, 1], channels: 1 },
      provenance: { recipe: 'smoke', steps: 40, dataset: { source: 'synthetic bars' }, backend: 'cpu' },
    });
    expect(Date.parse(manifest.provenance!.date!)).not.toBeNaN();
  });

  it('runs in onnxruntime with labels as int64 [N], matching tfjs within 1e-4', async () => {
    const session = await ort.InferenceSession.create(join(exportDir, 'model.onnx'));
    const count = 2 * SMOKE_CLASSES;
    const noise = noiseBatch(11, count, 8, 'normal');
    const labels = Array.from({ length: count }, (_, i) => i % SMOKE_CLASSES);
    const out = await session.run({
      noise: new ort.Tensor('float32', noise, [count, 8]),
      label: new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [count]),
    });
    expect(out.image!.dims).toEqual([count, SMOKE_SIDE, SMOKE_SIDE, 1]);
    const expected = tf.tidy(() =>
      (generator.apply([tf.tensor2d(noise, [count, 8]), tf.tensor2d(labels, [count, 1], 'int32')]) as tf.Tensor).dataSync(),
    );
    const actual = out.image!.data as Float32Array;
    const maxDiff = actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
    expect(maxDiff).toBeLessThan(1e-4);
    await session.release();
  });

  it('is served by the server from a temp models folder: listed ready, and generates its image', async () => {
    const modelsDir = join(root, 'models');
    await cp(exportDir, join(modelsDir, 'smoke'), { recursive: true });
    server = await startTestServer(modelsDir);

    const list = await request(server.server).get('/v1/models').expect(200);
    expect(list.body.models).toEqual([expect.objectContaining({ name: 'smoke', status: 'ready', task: 'conditional-generation' })]);

    const res = await request(server.server)
      .post('/v1/models/smoke/generate')
      .send({ label: 'bar2', seed: 5 })
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    const { data, info } = await sharp(res.body as Buffer)
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([SMOKE_SIDE, SMOKE_SIDE]);

    // Same pixels as the tfjs generator for seed 5 (the server's noise for image 0 is seed 5).
    const expected = tf.tidy(() =>
      (generator.apply([tf.tensor2d(noiseBatch(5, 1, 8, 'normal'), [1, 8]), tf.tensor2d([2], [1, 1], 'int32')]) as tf.Tensor).dataSync(),
    );
    expected.forEach((v, i) => expect(Math.abs(data[i]! - (v + 1) * 127.5)).toBeLessThanOrEqual(1));
  });
});
