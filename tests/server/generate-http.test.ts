/**
 * The generate endpoint end to end: a real server (worker pool, repository) over models built in
 * code whose pixels the tests compute themselves.
 */
import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import type { InputTensor } from '../../server/inference/contract.ts';
import { imageManifest, tempModelsDir, colourMixModel, rotateAndInvert } from '../helpers/image-models.ts';
import {
  convLabelGenerator,
  exactLabelGenerator,
  exactTextGenerator,
  expectedLabelImage,
  expectedTextImage,
  writeModelFolder,
} from '../helpers/generator-models.ts';

const VOCABULARY = ['a', 'thick', 'thin', 'seven', 'one', '7'];
const SIDE = 6;

let modelsDir: string;
let running: RunningServer;
/** Rows of every onnxruntime run, recorded from the pool. */
const runSizes = new Map<string, number[]>();

beforeAll(async () => {
  modelsDir = tempModelsDir();
  const digits = exactLabelGenerator({ name: 'digits-exact', side: SIDE, batching: { maxBatch: 16, maxWaitMs: 5 } });
  await writeModelFolder(modelsDir, digits.manifest, digits.onnx);
  const pets = exactLabelGenerator({ name: 'pets', side: SIDE, classes: ['cat', 'dog'], range: [0, 255], distribution: 'uniform' });
  await writeModelFolder(modelsDir, pets.manifest, pets.onnx);
  const text = exactTextGenerator({ name: 'text-exact', side: SIDE, vocabulary: VOCABULARY, maxTokens: 4 });
  await writeModelFolder(modelsDir, text.manifest, text.onnx, text.files);
  const conv = convLabelGenerator({ name: 'conv', batching: { maxBatch: 8, maxWaitMs: 10 } });
  await writeModelFolder(modelsDir, conv.manifest, conv.onnx);
  const tiny = convLabelGenerator({ name: 'tiny-queue', batching: { maxBatch: 1, maxWaitMs: 0, maxQueue: 1 } });
  await writeModelFolder(modelsDir, tiny.manifest, tiny.onnx);
  const badVocabulary = exactTextGenerator({ name: 'bad-vocab', side: SIDE, vocabulary: VOCABULARY });
  await writeModelFolder(modelsDir, badVocabulary.manifest, badVocabulary.onnx, { 'vocab.json': '{"a": 1}' });
  await writeModelFolder(modelsDir, imageManifest('photo'), colourMixModel('NCHW', rotateAndInvert([-1, 1])));

  const config = loadConfig({
    MODELS_DIR: modelsDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    INFERENCE_WORKERS: '2',
    INFERENCE_THREADS: '1',
  });
  running = await startServer(config, createLogger('silent'));
  await running.loaded;
  const run = running.pool.run.bind(running.pool);
  running.pool.run = (model: string, feeds: Record<string, InputTensor>, options) => {
    const rows = Object.values(feeds)[0]!.dims[0]!;
    runSizes.set(model, [...(runSizes.get(model) ?? []), rows]);
    return run(model, feeds, options);
  };
});

afterAll(async () => {
  await running?.close();
  await rm(modelsDir, { recursive: true, force: true });
});

const http = () => request(running.server);

/** Decodes an image body to single-channel pixels. */
async function grey(body: Buffer): Promise<{ pixels: Uint8Array; width: number; height: number; channels: number }> {
  const metadata = await sharp(body).metadata();
  const { data, info } = await sharp(body).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { pixels: new Uint8Array(data), width: info.width, height: info.height, channels: metadata.channels! };
}

function binary(req: request.Test): request.Test {
  return req.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });
}

describe('POST /v1/models/{name}/generate', () => {
  it('returns the model’s image for a label and seed as a single-channel PNG, white on black', async () => {
    const res = await binary(http().post('/v1/models/digits-exact/generate').send({ label: 7, seed: 42 }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-seed']).toBe('42');
    const image = await grey(res.body);
    expect([image.width, image.height, image.channels]).toEqual([SIDE, SIDE, 1]);
    expect(image.pixels).toEqual(expectedLabelImage(42, 7, { side: SIDE }));
  });

  it('accepts the label as an index or a class name, with identical bytes', async () => {
    const byIndex = await binary(http().post('/v1/models/digits-exact/generate').send({ label: 3, seed: 9 }));
    const byName = await binary(http().post('/v1/models/digits-exact/generate').send({ label: '3', seed: 9 }));
    expect(Buffer.compare(byIndex.body, byName.body)).toBe(0);
    const pets = await binary(http().post('/v1/models/pets/generate').send({ label: 'dog', seed: 5 }));
    const petsByIndex = await binary(http().post('/v1/models/pets/generate').send({ label: 1, seed: 5 }));
    expect(Buffer.compare(pets.body, petsByIndex.body)).toBe(0);
  });

  it('maps the [0, 255] output range and uniform noise correctly', async () => {
    const res = await binary(http().post('/v1/models/pets/generate').send({ label: 'cat', seed: 77 }));
    expect((await grey(res.body)).pixels).toEqual(expectedLabelImage(77, 0, { side: SIDE, range: [0, 255], distribution: 'uniform' }));
  });

  it('draws a random seed from crypto when none is given, and that seed reproduces the image', async () => {
    const first = await binary(http().post('/v1/models/digits-exact/generate').send({ label: 1 }));
    const seed = first.headers['x-seed'] as string;
    expect(seed).toMatch(/^\d+$/);
    expect(first.headers['cache-control']).toBe('no-store');
    const again = await binary(
      http()
        .post('/v1/models/digits-exact/generate')
        .send({ label: 1, seed: Number(seed) }),
    );
    expect(Buffer.compare(first.body, again.body)).toBe(0);
    const other = await binary(http().post('/v1/models/digits-exact/generate').send({ label: 1 }));
    expect(other.headers['x-seed']).not.toBe(seed);
  });

  it('answers JSON with one entry per image when asked for application/json', async () => {
    const res = await http()
      .post('/v1/models/digits-exact/generate')
      .set('Accept', 'application/json')
      .send({ labels: [1, '2', 3], seed: 100 });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-seed']).toBe('100');
    expect(res.headers.vary).toMatch(/Accept/);
    const images = res.body.images as Array<{ label: number; class: string; seed: number; mime: string; data: string }>;
    expect(images.map(({ label, class: name, seed, mime }) => ({ label, name, seed, mime }))).toEqual([
      { label: 1, name: '1', seed: 100, mime: 'image/png' },
      { label: 2, name: '2', seed: 101, mime: 'image/png' },
      { label: 3, name: '3', seed: 102, mime: 'image/png' },
    ]);
    for (const [i, image] of images.entries()) {
      expect((await grey(Buffer.from(image.data, 'base64'))).pixels).toEqual(expectedLabelImage(100 + i, i + 1, { side: SIDE }));
    }
  });

  it('answers one picture for */* or image types, and a grid (row-major, as square as possible) for count > 1', async () => {
    const res = await binary(http().post('/v1/models/digits-exact/generate').set('Accept', '*/*').send({ label: 4, count: 5, seed: 10 }));
    expect(res.headers['content-type']).toBe('image/png');
    const grid = await grey(res.body);
    expect([grid.width, grid.height]).toEqual([3 * SIDE, 2 * SIDE]);
    for (let i = 0; i < 6; i++) {
      const expected = i < 5 ? expectedLabelImage(10 + i, 4, { side: SIDE }) : new Uint8Array(SIDE * SIDE);
      const left = (i % 3) * SIDE;
      const top = Math.floor(i / 3) * SIDE;
      const cell = Uint8Array.from(
        { length: SIDE * SIDE },
        (_, p) => grid.pixels[(top + Math.floor(p / SIDE)) * grid.width + left + (p % SIDE)]!,
      );
      expect(cell).toEqual(expected);
    }
  });

  it('upscales by an integer factor with nearest neighbour, single images and grids alike', async () => {
    const res = await binary(http().post('/v1/models/digits-exact/generate').send({ label: 2, seed: 3, scale: 4 }));
    const image = await grey(res.body);
    expect([image.width, image.height]).toEqual([4 * SIDE, 4 * SIDE]);
    const expected = expectedLabelImage(3, 2, { side: SIDE });
    const upscaled = Uint8Array.from(
      { length: 16 * SIDE * SIDE },
      (_, p) => expected[Math.floor(Math.floor(p / (4 * SIDE)) / 4) * SIDE + Math.floor((p % (4 * SIDE)) / 4)]!,
    );
    expect(image.pixels).toEqual(upscaled);
    const grid = await grey(
      (await binary(http().post('/v1/models/digits-exact/generate').send({ label: 2, seed: 3, count: 4, scale: 3 }))).body,
    );
    expect([grid.width, grid.height]).toEqual([2 * 3 * SIDE, 2 * 3 * SIDE]);
  });

  it('encodes jpeg and webp on request', async () => {
    const jpeg = await binary(http().post('/v1/models/digits-exact/generate').send({ label: 2, seed: 3, format: 'jpeg' }));
    expect(jpeg.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(jpeg.body).metadata()).format).toBe('jpeg');
    const webp = await http()
      .post('/v1/models/digits-exact/generate')
      .set('Accept', 'application/json')
      .send({ label: 2, seed: 3, format: 'webp', scale: 2 });
    expect(webp.body.images[0].mime).toBe('image/webp');
    const decoded = await sharp(Buffer.from(webp.body.images[0].data, 'base64')).metadata();
    expect([decoded.format, decoded.width]).toEqual(['webp', 2 * SIDE]);
  });
});

describe('GET /v1/models/{name}/generate', () => {
  it('has the POST semantics, and seeded responses carry a strong ETag and answer 304 when unchanged', async () => {
    const post = await binary(http().post('/v1/models/digits-exact/generate').send({ label: 7, seed: 42, count: 2, scale: 2 }));
    const get = await binary(http().get('/v1/models/digits-exact/generate?label=7&seed=42&count=2&format=png&scale=2'));
    expect(get.status).toBe(200);
    expect(Buffer.compare(get.body, post.body)).toBe(0);
    const etag = get.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(get.headers['cache-control']).toMatch(/public, max-age=\d+/);
    const again = await http().get('/v1/models/digits-exact/generate?label=7&seed=42&count=2&format=png&scale=2');
    expect(again.headers.etag).toBe(etag);
    const revalidated = await http()
      .get('/v1/models/digits-exact/generate?label=7&seed=42&count=2&format=png&scale=2')
      .set('If-None-Match', etag);
    expect(revalidated.status).toBe(304);
    const head = await http().head('/v1/models/digits-exact/generate?label=7&seed=42&count=2&format=png&scale=2');
    expect([head.status, head.headers.etag]).toEqual([200, etag]);
    const json = await http().get('/v1/models/digits-exact/generate?labels=1,2&seed=42').set('Accept', 'application/json');
    expect(json.body.images.map((i: { label: number }) => i.label)).toEqual([1, 2]);
    expect(json.headers.etag).not.toBe(etag);
  });

  it('is not cacheable without a seed', async () => {
    const res = await http().get('/v1/models/digits-exact/generate?label=7');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-seed']).toMatch(/^\d+$/);
  });
});

describe('prompts', () => {
  it('tokenizes with the model vocabulary, reports ignored words, and draws the prompt', async () => {
    const res = await http()
      .post('/v1/models/text-exact/generate')
      .set('Accept', 'application/json')
      .send({ prompt: 'A THICK seven, please!', seed: 8, count: 2 });
    expect(res.status).toBe(200);
    expect(res.body.ignoredWords).toEqual(['please']);
    const ids = ['a', 'thick', 'seven'].map((w) => VOCABULARY.indexOf(w) + 1);
    for (const [i, image] of (res.body.images as Array<{ data: string; seed: number; label?: number }>).entries()) {
      expect(image.seed).toBe(8 + i);
      expect(image.label).toBeUndefined();
      expect((await grey(Buffer.from(image.data, 'base64'))).pixels).toEqual(expectedTextImage(8 + i, ids, SIDE));
    }
    const picture = await binary(http().get('/v1/models/text-exact/generate').query({ prompt: 'thin one bitte schön', seed: 1 }));
    expect(picture.status).toBe(200);
    expect(picture.headers['x-ignored-words']).toBe('bitte,sch%C3%B6n');
    expect((await grey(picture.body)).pixels).toEqual(expectedTextImage(1, [3, 5], SIDE));
  });

  it('answers 422 with a vocabulary hint when no word is known', async () => {
    const res = await http().post('/v1/models/text-exact/generate').send({ prompt: 'hello world' });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 422, ignoredWords: ['hello', 'world'], vocabulary: VOCABULARY });
    expect(res.body.detail).toMatch(/known words include: a, thick, thin, seven, one, 7/);
  });
});

describe('bad requests', () => {
  it.each([
    ['label out of range', 'digits-exact', { label: 10 }, /label 10 is out of range.*0\.\.9/],
    ['unknown class name', 'pets', { label: 'horse' }, /unknown label "horse".*cat, dog/],
    ['count over 64', 'digits-exact', { label: 1, count: 65 }, /count: must be at most 64/],
    ['both label and prompt', 'text-exact', { label: 1, prompt: 'seven' }, /only one of label, labels or prompt/],
    ['a prompt on a model without text input', 'digits-exact', { prompt: 'seven' }, /no text input/],
    ['a label on a text-only model', 'text-exact', { label: 1 }, /conditioned on text/],
    ['a non-integer seed', 'digits-exact', { label: 1, seed: 1.5 }, /seed: must be an integer/],
    ['a seed out of uint32', 'digits-exact', { label: 1, seed: 2 ** 32 }, /seed: must be an integer/],
    ['scale over 8', 'digits-exact', { label: 1, scale: 9 }, /scale: must be at most 8/],
    ['no conditioning', 'digits-exact', { seed: 1 }, /give a label, labels or a prompt/],
    ['an unknown field', 'digits-exact', { label: 1, colour: 'red' }, /colour/],
  ])('%s → 400 problem+json', async (_case, model, body, detail) => {
    const res = await http().post(`/v1/models/${model}/generate`).send(body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, title: expect.any(String), type: expect.any(String) });
    expect(res.body.detail).toMatch(detail);
  });

  it('malformed JSON → 400 problem+json', async () => {
    const res = await http().post('/v1/models/digits-exact/generate').set('Content-Type', 'application/json').send('{"label": 7,');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.status).toBe(400);
  });

  it.each([
    ['non-integer seed', '?label=1&seed=4.2', /seed/],
    ['non-numeric count', '?label=1&count=many', /count/],
    ['repeated label', '?label=1&label=2', /label: given more than once/],
  ])('GET with a %s → 400', async (_case, query, detail) => {
    const res = await http().get(`/v1/models/digits-exact/generate${query}`);
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(detail);
  });

  it('a model whose vocabulary file is malformed → 503 with the reason', async () => {
    const res = await http().post('/v1/models/bad-vocab/generate').send({ prompt: 'seven' });
    expect(res.status).toBe(503);
    expect(res.body.detail).toMatch(/vocabulary must be a JSON array of strings/);
  });

  it('the endpoint on an image-to-image model → 400, an unknown model → 404', async () => {
    const wrong = await http().post('/v1/models/photo/generate').send({ label: 1 });
    expect(wrong.status).toBe(400);
    expect(wrong.body.detail).toMatch(/translate/);
    const unknown = await http().get('/v1/models/nope/generate?label=1');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('dynamic batching over HTTP', () => {
  /** The JSON images of one request, as base64 strings by seed. */
  async function imagesBySeed(body: object): Promise<Map<number, string>> {
    const res = await http().post('/v1/models/conv/generate').set('Accept', 'application/json').send(body);
    expect(res.status).toBe(200);
    return new Map((res.body.images as Array<{ seed: number; data: string }>).map((i) => [i.seed, i.data]));
  }

  it('gives identical bytes for the same seed alone and inside concurrent batches of different compositions', async () => {
    const alone = new Map<number, string>();
    for (const seed of [500, 501, 502, 503, 900]) for (const [s, data] of await imagesBySeed({ label: 3, seed })) alone.set(s, data);
    runSizes.set('conv', []);
    for (const mix of [
      [
        { label: 3, seed: 500, count: 4 },
        { label: 5, seed: 1, count: 3 },
        { label: 3, seed: 900 },
      ],
      [
        { label: 3, seed: 900 },
        { labels: [3, 3], seed: 502 },
        { label: 0, seed: 7, count: 6 },
        { label: 3, seed: 500, count: 2 },
      ],
      Array.from({ length: 12 }, (_, i) => ({ label: 3, seed: 500 + (i % 4) })),
    ]) {
      const results = await Promise.all(mix.map(imagesBySeed));
      for (const images of results) {
        for (const [seed, data] of images) if (alone.has(seed) && data !== undefined) expect(data).toBe(alone.get(seed));
      }
    }
    const sizes = runSizes.get('conv')!;
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(new Set(sizes).size).toBeGreaterThan(1);
  });

  it('says in Server-Timing how long each request queued and ran, and how big its batch was', async () => {
    runSizes.set('conv', []);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => http().post('/v1/models/conv/generate').send({ label: 1, seed: i })),
    );
    const batches = answers.map((res) => {
      expect(res.status).toBe(200);
      const timing = /^queue;dur=\d+\.\d, inference;dur=\d+\.\d;desc="batch of (\d+)", encode;dur=\d+\.\d$/.exec(
        res.headers['server-timing'] as string,
      );
      expect(timing).not.toBeNull();
      return Number(timing![1]);
    });
    // Each request names a batch the pool really ran.
    const sizes = runSizes.get('conv')!;
    for (const rows of batches) expect(sizes).toContain(rows);
  });

  it('gives identical bytes after a restart (a second server on the same models)', async () => {
    const before = await binary(http().get('/v1/models/conv/generate?label=6&seed=31337&count=3&scale=2'));
    const config = loadConfig({
      MODELS_DIR: modelsDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      INFERENCE_WORKERS: '1',
      INFERENCE_THREADS: '1',
    });
    const restarted = await startServer(config, createLogger('silent'));
    try {
      await restarted.loaded;
      const after = await binary(request(restarted.server).get('/v1/models/conv/generate?label=6&seed=31337&count=3&scale=2'));
      expect(after.status).toBe(200);
      expect(Buffer.compare(after.body, before.body)).toBe(0);
      expect(after.headers.etag).toBe(before.headers.etag);
    } finally {
      await restarted.close();
    }
  });

  it('refuses with 503 and Retry-After when the model’s queue is full', async () => {
    const responses = await Promise.all(
      Array.from({ length: 16 }, () => http().post('/v1/models/tiny-queue/generate').send({ label: 1, count: 64 })),
    );
    const refused = responses.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(responses.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    expect(refused[0]!.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused[0]!.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
