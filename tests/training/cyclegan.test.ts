/**
 * CycleGAN nets and the photo2anime recipe end to end: a tiny CycleGAN trains a few steps on a
 * generated dataset, exports, matches tfjs in onnxruntime, is served by the server from a temp
 * models folder, and scores with the photo eval.
 */
import * as tf from '@tensorflow/tfjs';
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../server/models/manifest.ts';
import { selectBackend } from '../../training/backend/select.ts';
import { seededRandom } from '../../training/data/random.ts';
import { formatPhotoEval, runPhotoEval } from '../../training/eval/photo.ts';
import { train } from '../../training/harness.ts';
import { patchDiscriminator, resnetGenerator } from '../../training/nets/cyclegan.ts';
import { withTextureFlatten } from '../../training/nets/texture-flatten.ts';
import { ImageHistoryPool, PHOTO2ANIME_OPTIONS, type Photo2AnimeOptions, photo2animeRecipe } from '../../training/recipes/photo2anime.ts';
import { learningRateAt } from '../../training/recipes/schedule.ts';
import type { Recipe } from '../../training/recipes/recipe.ts';
import { startTestServer, type TestServer } from '../server/harness.ts';

const TINY = {
  cropSize: 16,
  generatorFilters: 4,
  generatorBlocks: 1,
  discriminatorFilters: 4,
  discriminatorLayers: 2,
  poolSize: 2,
  samplePhotos: 2,
  initSteps: 1,
};

let root: string;
let exportDir: string;
let generator: tf.LayersModel;
let server: TestServer | undefined;

/** A 48×32 image: a photo-like gradient (A) or flat colour bands (B). */
async function writeImage(path: string, kind: 'A' | 'B', seed: number): Promise<void> {
  const random = seededRandom(seed);
  const width = 48;
  const height = 32;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (kind === 'A') data.set([(x * 5 + random() * 30) | 0, (y * 7 + random() * 30) | 0, 90], i);
      else data.set(y < 16 ? [250, 200, 220] : [60, 160, 80], i);
    }
  }
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

beforeAll(async () => {
  // The training default: wasm with onnxruntime convolutions (the pure-JS backend takes minutes here).
  const backend = await selectBackend('wasm-ort', { log: () => {} });
  root = await mkdtemp(join(tmpdir(), 'cyclegan-'));
  const dataDir = join(root, 'data');
  for (const split of ['trainA', 'testA', 'trainB', 'testB']) await mkdir(join(dataDir, split), { recursive: true });
  for (let i = 0; i < 3; i++) {
    await writeImage(join(dataDir, 'trainA', `a${i}.png`), 'A', i);
    await writeImage(join(dataDir, 'trainB', `b${i}.png`), 'B', i);
  }
  for (let i = 0; i < 2; i++) {
    await writeImage(join(dataDir, 'testA', `ta${i}.png`), 'A', 10 + i);
    await writeImage(join(dataDir, 'testB', `tb${i}.png`), 'B', 10 + i);
  }
  const result = await train({
    recipe: photo2animeRecipe as unknown as Recipe,
    outDir: join(root, 'run'),
    steps: 3,
    seed: 5,
    batchSize: 2,
    recipeOptions: { ...TINY, dataDir },
    checkpointEvery: 2,
    progress: 'silent',
    backend,
  });
  exportDir = result.exportDir!;
  generator = result.models.genAB!;
  for (const [key, model] of Object.entries(result.models)) if (key !== 'genAB') model.dispose();
}, 120_000);

afterAll(async () => {
  await server?.close();
  generator?.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('CycleGAN nets', () => {
  it.each(['transpose', 'resize'] as const)(
    'the ResNet generator (%s upsampling) keeps any multiple-of-4 size and outputs tanh values',
    (upsampling) => {
      const net = resnetGenerator({ filters: 4, blocks: 2, seed: 1, upsampling });
      for (const [h, w] of [
        [16, 16],
        [20, 28],
      ] as const) {
        const out = tf.tidy(() => net.predict(tf.randomUniform([1, h, w, 3], -1, 1, 'float32', 2)) as tf.Tensor);
        expect(out.shape).toEqual([1, h, w, 3]);
        const values = out.dataSync();
        expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(1);
        out.dispose();
      }
      net.dispose();
    },
  );

  it('the generator is reproducible from its seed', () => {
    const [a, b] = [resnetGenerator({ filters: 4, blocks: 1, seed: 9 }), resnetGenerator({ filters: 4, blocks: 1, seed: 9 })];
    expect(a.getWeights()[0]!.dataSync()).toEqual(b.getWeights()[0]!.dataSync());
    a.dispose();
    b.dispose();
  });

  it("passes normEpsilon to every InstanceNorm, which caps a flat image's gain", () => {
    const flatFeatures = (normEpsilon?: number) => {
      const net = resnetGenerator({ filters: 4, blocks: 1, seed: 3, normEpsilon });
      const epsilons = net.layers
        .filter((layer) => layer.getClassName() === 'InstanceNormalization')
        .map((layer) => layer.getConfig().epsilon);
      // The stem's normalised features for a sky-like input: flat, with a faint vertical gradient.
      const stem = tf.model({ inputs: net.inputs, outputs: net.getLayer('generator_stem_norm').output as tf.SymbolicTensor });
      const spread = tf.tidy(() => {
        const sky = tf.add(0.3, tf.mul(1e-3, tf.reshape(tf.linspace(-1, 1, 16), [1, 16, 1, 1]).tile([1, 1, 16, 3])));
        return tf.moments(stem.predict(sky) as tf.Tensor).variance.dataSync()[0]!;
      });
      net.dispose();
      return { epsilons, spread };
    };
    const stock = flatFeatures();
    const capped = flatFeatures(1e-2);
    expect(new Set(stock.epsilons)).toEqual(new Set([1e-5]));
    expect(capped.epsilons.length).toBe(stock.epsilons.length);
    expect(new Set(capped.epsilons)).toEqual(new Set([1e-2]));
    expect(capped.spread).toBeLessThan(stock.spread / 100);
  });

  it('the 70×70 PatchGAN scores an 8× smaller grid of patches', () => {
    const net = patchDiscriminator({ filters: 4 });
    const out = tf.tidy(() => net.predict(tf.zeros([2, 64, 48, 3])) as tf.Tensor);
    expect(out.shape).toEqual([2, 8, 6, 1]);
    out.dispose();
    net.dispose();
  });
});

describe('photo2anime techniques', () => {
  const setupWith = (overrides: Partial<Photo2AnimeOptions>) =>
    photo2animeRecipe.setup({
      seed: 3,
      batchSize: 1,
      options: { ...PHOTO2ANIME_OPTIONS, ...TINY, dataDir: join(root, 'data'), ...overrides },
    });

  it('starts with reconstruction only, then trains the GAN with every technique on', async () => {
    const session = await setupWith({ initSteps: 1, lambdaColor: 1, edgeNegatives: 1 });
    try {
      expect(Object.keys(session.trainStep(0, seededRandom(1))).sort()).toEqual(['g', 'initA', 'initB', 'lr']);
      const gan = session.trainStep(1, seededRandom(2));
      for (const key of ['gAB', 'gBA', 'cycleA', 'cycleB', 'color', 'dB', 'dEdge', 'dGrey', 'dA'])
        expect(Number.isFinite(gan[key])).toBe(true);
      expect(gan.idA).toBeUndefined();
    } finally {
      session.dispose?.();
      for (const model of Object.values(session.models)) model.dispose();
    }
  });

  it('exports the generator alone, or with a guided filter on its output', async () => {
    const session = await setupWith({ outputFilter: 'self', filterRadius: 1, flattenDuringTraining: false });
    try {
      const filtered = session.exportTarget().model;
      expect(filtered.layers.map((l) => l.getClassName())).toContain('GuidedFilter');
      const out = tf.tidy(() => filtered.predict(tf.zeros([1, 16, 20, 3])) as tf.Tensor);
      expect(out.shape).toEqual([1, 16, 20, 3]);
      out.dispose();
      await expect(setupWith({ outputFilter: 'blur' })).rejects.toThrow(/--output-filter must be none, self, input or flatten/);
    } finally {
      session.dispose?.();
      for (const model of Object.values(session.models)) model.dispose();
    }
  });

  it('trains the colour-transform head with the anime discriminator judging flattened translations', async () => {
    await expect(setupWith({ outputFilter: 'none', flattenDuringTraining: true })).rejects.toThrow(/needs --output-filter flatten/);
    const session = await setupWith({
      generatorHead: 'colour-transform',
      outputFilter: 'flatten',
      flattenDuringTraining: true,
      initSteps: 0,
    });
    try {
      const losses = session.trainStep(0, seededRandom(1));
      for (const key of ['gAB', 'cycleA', 'dB']) expect(Number.isFinite(losses[key])).toBe(true);
      // The coefficient conv starts at zero: the straight-through gradient must reach it.
      const coefficients = session.models.genAB!.getLayer('photo2anime_coef_conv').getWeights()[0]!.dataSync();
      expect(coefficients.some((v) => v !== 0)).toBe(true);
      const exported = session.exportTarget().model;
      expect(exported.layers.map((l) => l.getClassName())).toEqual(expect.arrayContaining(['LocalColourTransform', 'TextureFlatten']));
    } finally {
      session.dispose?.();
      for (const model of Object.values(session.models)) model.dispose();
    }
  });

  it('anchors the colours to the photo in the scenes’ colour statistics with --color-anchor reinhard', async () => {
    await expect(setupWith({ colorAnchor: 'scenes' })).rejects.toThrow(/--color-anchor must be photo or reinhard/);
    const losses: Record<string, number>[] = [];
    for (const colorAnchor of ['photo', 'reinhard']) {
      const session = await setupWith({ colorAnchor, lambdaColor: 1, initSteps: 0, generatorHead: 'colour-transform' });
      try {
        losses.push(session.trainStep(0, seededRandom(1)));
      } finally {
        session.dispose?.();
        for (const model of Object.values(session.models)) model.dispose();
      }
    }
    // The untrained colour-transform head returns the photo: no distance to the photo, some to its recoloured twin.
    expect(losses[0]!.color).toBe(0);
    expect(losses[1]!.color).toBeGreaterThan(0.01);
  });

  it('switches each technique off', async () => {
    const session = await setupWith({
      initSteps: 0,
      lambdaColor: 0,
      edgeNegatives: 0,
      greyNegatives: 0,
      diffAugment: false,
      lambdaIdentity: 0.5,
    });
    try {
      const losses = session.trainStep(0, seededRandom(1));
      for (const key of ['initA', 'color', 'dEdge', 'dGrey']) expect(losses[key]).toBeUndefined();
      expect(Number.isFinite(losses.idA)).toBe(true);
    } finally {
      session.dispose?.();
      for (const model of Object.values(session.models)) model.dispose();
    }
  });
});

describe('photo2anime schedule and history pool', () => {
  it('holds the learning rate, then decays it linearly to 0', () => {
    const schedule = { learningRate: 2e-4, constantSteps: 100, decaySteps: 50 };
    expect(learningRateAt(0, schedule)).toBe(2e-4);
    expect(learningRateAt(99, schedule)).toBe(2e-4);
    expect(learningRateAt(125, schedule)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(150, schedule)).toBe(0);
    expect(learningRateAt(500, schedule)).toBe(0);
  });

  it('returns fresh fakes until full, then a mix of fresh and stored ones', () => {
    const pool = new ImageHistoryPool(2);
    const batch = (value: number) => tf.fill([2, 1, 1, 1], value) as tf.Tensor4D;
    const first = batch(1);
    const out1 = pool.query(first, seededRandom(1));
    expect(Array.from(out1.dataSync())).toEqual([1, 1]);
    expect(pool.size).toBe(2);
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const fakes = batch(10 + i);
      const out = pool.query(fakes, seededRandom(100 + i));
      for (const v of out.dataSync()) seen.add(v);
      tf.dispose([fakes, out]);
    }
    expect([...seen].some((v) => v < 10 + 9)).toBe(true); // older fakes come back
    expect(pool.size).toBe(2);
    tf.dispose([first, out1]);
    pool.dispose();
  });
});

describe('photo2anime: tiny CycleGAN → export → onnxruntime → server', () => {
  it('checkpoints, writes sample grids and exports an image-to-image manifest with provenance', async () => {
    expect((await stat(join(root, 'run', 'checkpoints', 'step-00000002', 'state.json'))).isFile()).toBe(true);
    expect((await stat(join(root, 'run', 'samples', 'step-00000003.png'))).isFile()).toBe(true);
    const manifest = parseManifest(JSON.parse(await readFile(join(exportDir, 'model.json'), 'utf8')));
    expect(manifest).toMatchObject({
      name: 'photo2anime',
      task: 'image-to-image',
      input: { name: 'image', layout: 'NCHW', channels: 3, range: [-1, 1], multipleOf: 4 },
      output: { name: 'output', layout: 'NCHW', range: [-1, 1] },
      provenance: { recipe: 'photo2anime', steps: 3, dataset: { name: 'photo2anime' } },
    });
  });

  it('runs in onnxruntime at a size it never trained on, matching tfjs (generator and flattening) within 1e-4', async () => {
    const session = await ort.InferenceSession.create(join(exportDir, 'model.onnx'));
    const nhwc = tf.randomUniform([1, 24, 36, 3], -1, 1, 'float32', 4);
    const nchw = tf.transpose(nhwc, [0, 3, 1, 2]);
    const out = await session.run({ image: new ort.Tensor('float32', nchw.dataSync() as Float32Array, [1, 3, 24, 36]) });
    expect(out.output!.dims).toEqual([1, 3, 24, 36]);
    const { flattenLevels: levels, flattenLow: low, flattenHigh: high } = PHOTO2ANIME_OPTIONS;
    const exported = withTextureFlatten(generator, { levels, low, high });
    const expected = tf.tidy(() => tf.transpose(exported.predict(nhwc) as tf.Tensor, [0, 3, 1, 2]).dataSync());
    const actual = out.output!.data as Float32Array;
    expect(actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0)).toBeLessThan(1e-4);
    tf.dispose([nhwc, nchw]);
    await session.release();
  });

  it('is served from a temp models folder and translates an uploaded photo', async () => {
    const modelsDir = join(root, 'models');
    await cp(exportDir, join(modelsDir, 'photo2anime'), { recursive: true });
    server = await startTestServer(modelsDir);
    const list = await request(server.server).get('/v1/models').expect(200);
    expect(list.body.models).toEqual([expect.objectContaining({ name: 'photo2anime', status: 'ready', task: 'image-to-image' })]);

    const photo = await sharp(join(root, 'data', 'testA', 'ta0.png'))
      .png()
      .toBuffer();
    const res = await request(server.server)
      .post('/v1/models/photo2anime/translate')
      .set('Content-Type', 'image/png')
      .send(photo)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    const meta = await sharp(res.body as Buffer).metadata();
    expect([meta.width, meta.height]).toEqual([48, 32]);
  });

  it('is scored by the photo eval, which writes its contact sheet', async () => {
    const sheet = join(root, 'sheet.png');
    const report = await runPhotoEval(exportDir, {
      dataDir: join(root, 'data'),
      contactSheet: sheet,
      swd: { levels: 2, descriptorsPerImage: 16, directions: 8, repeats: 1 },
    });
    expect(report.photos).toHaveLength(2);
    expect(report.animeImages).toBe(5);
    for (const scores of Object.values(report.methods)) {
      for (const value of [scores.swdRatio, scores.ssim, ...scores.swdRatioPerPhoto, ...scores.ssimPerPhoto])
        expect(Number.isFinite(value)).toBe(true);
      expect(scores.ssimPerPhoto).toHaveLength(2);
    }
    expect(report.methods.reinhard.ssim).toBeGreaterThan(report.methods.translated.ssim); // 3 steps of training: the baseline still wins
    expect(report.targets.met).toBe(false);
    expect(formatPhotoEval(report)).toContain('| **all 2** |');
    const meta = await sharp(sheet).metadata();
    expect([meta.width, meta.height]).toEqual([4 * 320, 2 * Math.round((320 * 32) / 48)]);
  });
});
