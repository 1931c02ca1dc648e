/**
 * The pix2pix recipe end to end with tiny nets: `colorize` trains 3 steps on a generated photo
 * set, exports, matches tfjs in onnxruntime, is served (a grey JPEG in gives a colour PNG of the
 * same size and lightness), converts a folder with the batch CLI, and is scored by the colorize
 * eval next to an L1-only run of the same recipe. `upscale2x` trains a step and exports.
 */
import * as tf from '@tensorflow/tfjs';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../server/models/manifest.ts';
import { selectBackend } from '../../training/backend/select.ts';
import { colorizePairs } from '../../training/data/pairs/colorize.ts';
import { rgbToLab as rgbToLabTensor } from '../../training/nets/cielab.ts';
import { seededRandom } from '../../training/data/random.ts';
import { rgbToLab } from '../../training/eval/color-transfer.ts';
import { formatColorizeEval, runColorizeEval } from '../../training/eval/colorize.ts';
import { exportModel } from '../../training/export/onnx.ts';
import { train } from '../../training/harness.ts';
import { colorizeRecipe, PIX2PIX_OPTIONS, type Pix2PixOptions, upscale2xRecipe } from '../../training/recipes/pix2pix.ts';
import type { Recipe } from '../../training/recipes/recipe.ts';
import { runCli } from '../scripts/batch-harness.ts';
import { startTestServer, type TestServer } from '../server/harness.ts';

const TINY = {
  cropSize: 16,
  generatorFilters: 4,
  generatorDepth: 2,
  discriminatorFilters: 4,
  discriminatorLayers: 2,
  samplePhotos: 2,
};

let root: string;
let dataDir: string;
let exportDir: string;
let l1ExportDir: string;
let generator: tf.LayersModel;
let servingModel: tf.LayersModel;
let server: TestServer | undefined;

/** A 48×32 colour photo stand-in: a warm top (sky at dusk), a green bottom, seeded texture. */
async function writePhoto(path: string, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const [width, height] = [48, 32];
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const noise = random() * 30;
      data.set(y < 14 ? [200 + noise / 2, 120 + noise, 90 + x] : [40 + noise, 130 + y * 2, 50 + noise], (y * width + x) * 3);
    }
  }
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

async function trainColorize(outDir: string, options: Partial<Pix2PixOptions>, steps: number, backend: string) {
  return train({
    recipe: colorizeRecipe as unknown as Recipe,
    outDir,
    steps,
    seed: 3,
    batchSize: 2,
    recipeOptions: { ...TINY, dataDir, ...options },
    checkpointEvery: 2,
    progress: 'silent',
    backend,
  });
}

/** L* of each pixel of an 8-bit RGB image. */
function lightness(data: Uint8Array, width: number, height: number): number[] {
  const lab = rgbToLab({ name: 'x', width, height, data });
  return Array.from({ length: width * height }, (_, p) => lab[p * 3]!);
}

async function rgbPixels(bytes: Buffer): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(bytes).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

/** A grey JPEG of an odd size (reflect-padded to the model's multiple, then cropped back). */
async function greyJpeg(): Promise<Buffer> {
  return sharp(join(dataDir, 'test', 'held0.png'))
    .resize(45, 30, { fit: 'fill' })
    .greyscale()
    .jpeg({ quality: 90 })
    .toBuffer();
}

beforeAll(async () => {
  const backend = await selectBackend('wasm-ort', { log: () => {} });
  root = await mkdtemp(join(tmpdir(), 'pix2pix-'));
  dataDir = join(root, 'data');
  for (const split of ['train', 'test']) await mkdir(join(dataDir, split), { recursive: true });
  for (let i = 0; i < 3; i++) await writePhoto(join(dataDir, 'train', `photo${i}.png`), i);
  for (let i = 0; i < 2; i++) await writePhoto(join(dataDir, 'test', `held${i}.png`), 10 + i);
  await writeFile(
    join(dataDir, 'SOURCES.json'),
    JSON.stringify({ counts: { train: 3, test: 2 }, balance: { train: { sky: 3 } }, heldOut: ['held0', 'held1'], sources: [] }),
  );

  const gan = await trainColorize(join(root, 'run'), {}, 3, backend);
  exportDir = gan.exportDir!;
  const l1 = await trainColorize(join(root, 'run-l1'), { lambdaAdversarial: 0 }, 2, backend);
  l1ExportDir = l1.exportDir!;
  for (const model of Object.values(l1.models)) model.dispose();
  // The graph the export saw: the trained U-Net inside the RGB → Lab → RGB wrapper.
  generator = gan.models.generator!;
  servingModel = colorizePairs().servingModel(generator);
  gan.models.discriminator!.dispose();
}, 180_000);

afterAll(async () => {
  await server?.close();
  servingModel?.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('colorize: tiny pix2pix → export → onnxruntime → server', () => {
  it('checkpoints, writes sample grids of [grey | coloured | original] and exports an RGB image-to-image manifest', async () => {
    expect((await stat(join(root, 'run', 'checkpoints', 'step-00000002', 'state.json'))).isFile()).toBe(true);
    const grid = await sharp(join(root, 'run', 'samples', 'step-00000003.png')).metadata();
    expect([grid.width, grid.height]).toEqual([3 * 192, 2 * 128]);
    const manifest = parseManifest(JSON.parse(await readFile(join(exportDir, 'model.json'), 'utf8')));
    expect(manifest).toMatchObject({
      name: 'colorize',
      task: 'image-to-image',
      input: { name: 'image', layout: 'NCHW', channels: 3, range: [-1, 1], multipleOf: 4 },
      output: { name: 'output', layout: 'NCHW', range: [-1, 1], channels: 3 },
      provenance: { recipe: 'colorize', steps: 3, dataset: { name: 'colorize', heldOut: ['held0', 'held1'] } },
    });
  });

  it('the L1-only run has no discriminator and logs no adversarial loss', async () => {
    const log = (await readFile(join(root, 'run-l1', 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; losses?: Record<string, number> });
    const losses = log.filter((r) => r.event === 'step').at(-1)!.losses!;
    expect(Object.keys(losses).sort()).toEqual(['g', 'l1', 'lr']);
    const state = JSON.parse(await readFile(join(root, 'run-l1', 'checkpoints', 'step-00000002', 'state.json'), 'utf8')) as {
      tensors: { key: string }[];
    };
    expect(new Set(state.tensors.map((t) => t.key))).toEqual(new Set(['generator']));
  });

  it('runs in onnxruntime at a size it never trained on, matching tfjs within 1e-4', async () => {
    const session = await ort.InferenceSession.create(join(exportDir, 'model.onnx'));
    const nhwc = tf.randomUniform([1, 20, 28, 3], -1, 1, 'float32', 4);
    const out = await session.run({
      image: new ort.Tensor('float32', tf.transpose(nhwc, [0, 3, 1, 2]).dataSync() as Float32Array, [1, 3, 20, 28]),
    });
    expect(out.output!.dims).toEqual([1, 3, 20, 28]);
    const expected = tf.tidy(() => tf.transpose(servingModel.predict(nhwc) as tf.Tensor, [0, 3, 1, 2]).dataSync());
    const actual = out.output!.data as Float32Array;
    expect(actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0)).toBeLessThan(1e-4);
    await session.release();
  });

  it('is served: a grey JPEG in gives a colour PNG of the same size with the same lightness', async () => {
    const modelsDir = join(root, 'models');
    await cp(exportDir, join(modelsDir, 'colorize'), { recursive: true });
    server = await startTestServer(modelsDir);
    const list = await request(server.server).get('/v1/models').expect(200);
    expect(list.body.models).toEqual([expect.objectContaining({ name: 'colorize', status: 'ready', task: 'image-to-image' })]);

    const jpeg = await greyJpeg();
    const res = await request(server.server)
      .post('/v1/models/colorize/translate?format=png')
      .set('Content-Type', 'image/jpeg')
      .send(jpeg)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    const [input, output] = await Promise.all([rgbPixels(jpeg), rgbPixels(res.body as Buffer)]);
    expect([output.width, output.height, output.channels]).toEqual([45, 30, 3]);
    const [before, after] = [lightness(input.data, 45, 30), lightness(output.data, 45, 30)];
    const differences = before.map((l, p) => Math.abs(after[p]! - l));
    expect(differences.reduce((a, b) => a + b) / differences.length).toBeLessThan(0.6);
    expect(Math.max(...differences)).toBeLessThan(2);
    const chroma = rgbToLab({ name: 'out', width: 45, height: 30, data: output.data });
    expect(Math.max(...Array.from({ length: 45 * 30 }, (_, p) => Math.hypot(chroma[p * 3 + 1]!, chroma[p * 3 + 2]!)))).toBeGreaterThan(1);
  });

  it('converts a folder with the batch CLI', async () => {
    const input = join(root, 'batch-in');
    const output = join(root, 'batch-out');
    await mkdir(input, { recursive: true });
    await writeFile(join(input, 'old.jpg'), await greyJpeg());
    const run = await runCli(['translate', '--model', 'colorize', '--input', input, '--output', output], {
      MODELS_DIR: join(root, 'models'),
      INFERENCE_WORKERS: '1',
      INFERENCE_THREADS: '1',
    });
    expect(run.code, run.stderr).toBe(0);
    const meta = await sharp(join(output, 'old.png')).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([45, 30, 3]);
  });

  it('is scored by the colorize eval next to the grey input and the L1-only model, with a contact sheet', async () => {
    const sheet = join(root, 'sheet.png');
    const report = await runColorizeEval(exportDir, { dataDir, l1Only: l1ExportDir, contactSheet: sheet, timingSide: 64 });
    expect(report.photos).toEqual(['held0.png', 'held1.png']);
    const { grey, l1, gan } = report.rows;
    expect(grey.mean.colourfulnessRatio).toBeLessThan(0.05);
    expect(grey.mean.greySsim).toBeCloseTo(1, 6);
    for (const row of [grey, l1!, gan]) {
      for (const value of [...row.psnr, ...row.chromaError, ...row.colourfulnessRatio, ...row.greySsim])
        expect(Number.isFinite(value)).toBe(true);
    }
    expect(report.timing).toEqual({ side: 64, milliseconds: expect.any(Number) });
    expect(typeof report.targets.met).toBe('boolean');
    const text = formatColorizeEval(report);
    expect(text).toContain('| **mean of 2** |');
    expect(text).toContain('L1 only: PSNR dB');
    expect(text).toMatch(/targets: colourfulness ≥ 60 %/);
    const meta = await sharp(sheet).metadata();
    expect([meta.width, meta.height]).toEqual([4 * 320, 2 * Math.round((320 * 32) / 48)]);
  });
});

describe('upscale2x: the same recipe with another pair maker', () => {
  it('trains a step and exports an RGB → RGB graph named upscale2x', async () => {
    const session = await upscale2xRecipe.setup({ seed: 1, batchSize: 1, options: { ...PIX2PIX_OPTIONS, ...TINY, dataDir } });
    try {
      const losses = session.trainStep(0, seededRandom(1));
      for (const key of ['l1', 'gAdv', 'g', 'd']) expect(Number.isFinite(losses[key])).toBe(true);
      const target = session.exportTarget();
      expect(target.manifest.name).toBe('upscale2x');
      const exported = exportModel(target.model, target.exportOptions);
      expect(exported.inputs[0]!.dims).toEqual(['N', 3, 'height', 'width']);
      expect(exported.outputs[0]!.dims[1]).toBe(3);
    } finally {
      session.dispose?.();
      for (const model of Object.values(session.models)) model.dispose();
    }
  });

  it('rebalances the colorize L1 by colour rarity only where the target is chroma', async () => {
    await expect(
      upscale2xRecipe.setup({ seed: 1, batchSize: 1, options: { ...PIX2PIX_OPTIONS, ...TINY, rebalance: 0.5, dataDir } }),
    ).rejects.toThrow(/needs a chroma target/);
    const losses = async (rebalance: number) => {
      const session = await colorizeRecipe.setup({
        seed: 1,
        batchSize: 2,
        options: { ...PIX2PIX_OPTIONS, ...TINY, rebalance, lambdaAdversarial: 0, dataDir },
      });
      try {
        return session.trainStep(0, seededRandom(7));
      } finally {
        session.dispose?.();
        for (const model of Object.values(session.models)) model.dispose();
      }
    };
    const plain = await losses(0);
    const weighted = await losses(0.5);
    const uniform = await losses(1);
    // Same seed, same batch, same first step: only the weights differ, and λ = 1 weighs every colour 1.
    expect(uniform.l1).toBeCloseTo(plain.l1!, 5);
    expect(Math.abs(weighted.l1! - plain.l1!)).toBeGreaterThan(1e-4);
  });

  it('--chroma-gain scales the exported chroma, keeps the lightness, and needs a chroma target', async () => {
    await expect(
      upscale2xRecipe.setup({ seed: 1, batchSize: 1, options: { ...PIX2PIX_OPTIONS, ...TINY, chromaGain: 1.5, dataDir } }),
    ).rejects.toThrow(/--chroma-gain needs a chroma target/);
    await expect(
      colorizeRecipe.setup({ seed: 1, batchSize: 1, options: { ...PIX2PIX_OPTIONS, ...TINY, chromaGain: 0, dataDir } }),
    ).rejects.toThrow(/--chroma-gain must be positive/);
    const gained = colorizePairs().servingModel(generator, 1.7);
    try {
      // Mid-grey: the predicted chroma is small there, so both outputs stay inside the sRGB gamut.
      const [plain, vivid] = tf.tidy(() =>
        [servingModel, gained].map((model) => rgbToLabTensor(model.predict(tf.fill([1, 8, 8, 3], 0.1)) as tf.Tensor4D).arraySync()),
      ) as number[][][][][];
      const pixels = (lab: number[][][][]) => lab[0]!.flat();
      const chroma = (p: number[]) => Math.hypot(p[1]!, p[2]!);
      const pairs = pixels(plain!).map((p, i) => [p, pixels(vivid!)[i]!] as const);
      expect(Math.max(...pairs.map(([p]) => chroma(p)))).toBeGreaterThan(0.05);
      for (const [p, v] of pairs) {
        expect(v[0]).toBeCloseTo(p[0]!, 2);
        expect(chroma(v)).toBeCloseTo(1.7 * chroma(p), 2);
      }
    } finally {
      gained.dispose();
    }
  });

  it('refuses crops that are not a multiple of 2^depth', async () => {
    await expect(
      colorizeRecipe.setup({ seed: 1, batchSize: 1, options: { ...PIX2PIX_OPTIONS, ...TINY, cropSize: 18, dataDir } }),
    ).rejects.toThrow(/multiple of 2\^generatorDepth/);
  });
});
