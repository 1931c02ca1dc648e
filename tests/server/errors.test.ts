import sharp, { type Sharp } from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxGraph } from '../../training/export/onnx-graph.ts';
import {
  busyConvModel,
  colourMixModel,
  imageManifest,
  mulberry32,
  rotateAndInvert,
  tempModelsDir,
  writeModel,
} from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

const BODY_LIMIT = 200_000;
const PIXEL_LIMIT = 250_000;
let server: TestServer;
let goodPng: Buffer;

/** A tiny conditional generator (noise [N,4] + label [N] → [N,3,2,2]), to hit the wrong endpoint. */
function tinyGenerator(): Uint8Array {
  const g = new OnnxGraph('tiny_generator');
  const noise = g.input('noise', 'float', ['N', 4]);
  g.input('label', 'int64', ['N']);
  const w = g.initializer('w', new Float32Array(48).fill(0.1), [4, 12]);
  g.op('Reshape', [g.op('MatMul', [noise, w]), g.int64s('shape', [-1, 3, 2, 2])], {}, 'image');
  g.output('image', 'float', ['N', 3, 2, 2]);
  return g.toBytes();
}

beforeAll(async () => {
  const dir = tempModelsDir();
  writeModel(dir, 'mix', imageManifest('mix', { inRange: [0, 255] }), colourMixModel('NCHW', rotateAndInvert([0, 255])));
  writeModel(
    dir,
    'digits',
    {
      name: 'digits',
      task: 'conditional-generation',
      onnx: 'model.onnx',
      noise: { name: 'noise', dim: 4, distribution: 'normal' },
      label: { name: 'label', classes: ['a', 'b'] },
      output: { name: 'image', layout: 'NCHW', range: [-1, 1] },
    },
    tinyGenerator(),
  );
  server = await startTestServer(dir, { MAX_BODY_BYTES: String(BODY_LIMIT), MAX_INPUT_PIXELS: String(PIXEL_LIMIT) });
  goodPng = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#4a8' } })
    .png()
    .toBuffer();
});
afterAll(() => server?.close());

/** Random pixels: they compress badly, so any cut removes pixel data. */
function noisyImage(side: number): Sharp {
  const random = mulberry32(side);
  const pixels = Buffer.from(Array.from({ length: side * side * 3 }, () => Math.floor(random() * 256)));
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } });
}

/** Asserts an RFC 9457 problem response with this status. */
function expectProblem(res: request.Response, status: number, detail?: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).toMatchObject({
    status,
    type: expect.stringMatching(/^urn:ganserve:problem:/),
    title: expect.any(String),
    detail: expect.any(String),
  });
  if (detail) expect(body.detail).toMatch(detail);
}

const post = (path: string) => request(server.url).post(path);

describe('client mistakes are 4xx problem+json', () => {
  it('404: unknown model, unknown route', async () => {
    expectProblem(await request(server.url).get('/v1/models/nope'), 404, /nope/);
    expectProblem(await post('/v1/models/nope/translate').set('Content-Type', 'image/png').send(goodPng), 404);
    expectProblem(await request(server.url).get('/v2/elsewhere'), 404);
  });

  it('405 with Allow: a real path asked with a method it does not take', async () => {
    const translate = await request(server.url).get('/v1/models/mix/translate');
    expectProblem(translate, 405, /GET is not allowed on \/v1\/models\/mix\/translate: use POST/);
    expect(translate.headers.allow).toBe('POST');
    const models = await request(server.url).delete('/v1/models');
    expectProblem(models, 405);
    expect(models.headers.allow).toBe('GET, HEAD');
    expect((await request(server.url).put('/v1/models/mix/generate')).headers.allow).toBe('GET, HEAD, POST');
    expect((await request(server.url).post('/openapi.json')).headers.allow).toBe('GET, HEAD');
    // Not a path of the API: still 404, whatever the method.
    expectProblem(await request(server.url).delete('/v1/models/mix/translate/extra'), 404);
    expectProblem(await request(server.url).post('/openapiXjson'), 404);
  });

  it('400: endpoint not valid for the model task', async () => {
    expectProblem(await post('/v1/models/digits/translate').set('Content-Type', 'image/png').send(goodPng), 400, /generate/);
  });

  it('400: missing image field, other file field, empty body', async () => {
    expectProblem(await post('/v1/models/mix/translate').field('note', 'no file'), 400, /image/);
    expectProblem(await post('/v1/models/mix/translate').attach('photo', goodPng, 'a.png'), 400, /photo/);
    expectProblem(await post('/v1/models/mix/translate').set('Content-Type', 'image/png').send(Buffer.alloc(0)), 400);
    expectProblem(await post('/v1/models/mix/translate'), 400);
  });

  it.each([
    'format=gif',
    'quality=0',
    'quality=101',
    'quality=high',
    'max_side=-5',
    'max_side=0',
    'max_side=1.5',
    'colour=red',
    'format=png&format=jpeg',
  ])('400: bad query %s', async (query) => {
    expectProblem(await post(`/v1/models/mix/translate?${query}`).set('Content-Type', 'image/png').send(goodPng), 400, /query/);
  });

  it('413: raw and multipart bodies over the limit', async () => {
    const big = Buffer.alloc(BODY_LIMIT + 10_000, 7);
    expectProblem(await post('/v1/models/mix/translate').set('Content-Type', 'image/png').send(big), 413);
    expectProblem(await post('/v1/models/mix/translate').attach('image', big, 'big.png'), 413);
  });

  it('415: not an image, unsupported format, non-image Content-Type', async () => {
    expectProblem(await post('/v1/models/mix/translate').set('Content-Type', 'image/png').send(Buffer.from('plain text, not pixels')), 415);
    expectProblem(await post('/v1/models/mix/translate').attach('image', Buffer.from('%PDF-1.4 fake'), 'doc.pdf'), 415);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');
    expectProblem(await post('/v1/models/mix/translate').set('Content-Type', 'image/svg+xml').send(svg), 415);
    expectProblem(await post('/v1/models/mix/translate').set('Content-Type', 'application/json').send('{"image":"x"}'), 415);
    expectProblem(await post('/v1/models/mix/translate').set('Content-Type', 'text/plain').send('hello'), 415);
  });

  it('422: truncated image, too many pixels (from the header)', async () => {
    const jpeg = await noisyImage(64).jpeg().toBuffer();
    expectProblem(
      await post('/v1/models/mix/translate')
        .set('Content-Type', 'image/jpeg')
        .send(jpeg.subarray(0, jpeg.length / 2)),
      422,
    );
    const png = await noisyImage(64).png().toBuffer();
    expectProblem(await post('/v1/models/mix/translate').attach('image', png.subarray(0, png.length / 2), 'cut.png'), 422);
    // 1000×1000 = 1 MP > 0.25 MP limit, yet a tiny file: refused before decoding.
    const bomb = await sharp({ create: { width: 1000, height: 1000, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    expect(bomb.length).toBeLessThan(BODY_LIMIT);
    expectProblem(await post('/v1/models/mix/translate').set('Content-Type', 'image/png').send(bomb), 422, /pixel/);
  });

  it('100 random-byte and truncated uploads leave the server healthy', async () => {
    const random = mulberry32(42);
    const jpeg = await noisyImage(48).jpeg().toBuffer();
    const png = await noisyImage(48).png().toBuffer();
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      let body: Buffer;
      if (i % 2 === 0) {
        body = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 4000) }, () => Math.floor(random() * 256)));
        if (i % 4 === 0) body.set([0xff, 0xd8, 0xff], 0); // random bytes behind a JPEG signature
      } else {
        const whole = i % 4 === 1 ? jpeg : png;
        body = whole.subarray(0, 1 + Math.floor(random() * (whole.length - 40)));
      }
      const res =
        i % 3 === 0
          ? await post('/v1/models/mix/translate').attach('image', body, 'x.bin')
          : await post('/v1/models/mix/translate').set('Content-Type', 'image/jpeg').send(body);
      expect(res.status, `upload ${i}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `upload ${i}`).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      statuses.push(res.status);
    }
    expect(new Set(statuses)).toEqual(new Set([415, 422]));
    expect((await request(server.url).get('/healthz')).status).toBe(200);
    expect((await post('/v1/models/mix/translate').set('Content-Type', 'image/png').send(goodPng)).status).toBe(200);
  });
});

describe('503 when the model queue is full', () => {
  let busy: TestServer;
  beforeAll(async () => {
    const dir = tempModelsDir();
    writeModel(dir, 'busy', imageManifest('busy', { maxSide: 1024 }), busyConvModel(32));
    busy = await startTestServer(dir, { INFERENCE_WORKERS: '1', INFERENCE_THREADS: '1', QUEUE_LIMIT: '1' });
  });
  afterAll(() => busy?.close());

  it('answers 503 with Retry-After instead of queueing without bound, and recovers', async () => {
    const png = await sharp({ create: { width: 384, height: 384, channels: 3, background: '#777' } })
      .png()
      .toBuffer();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => request(busy.url).post('/v1/models/busy/translate').set('Content-Type', 'image/png').send(png)),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    const refused = responses.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const res of refused) {
      expectProblem(res, 503, /queue/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect((await request(busy.url).post('/v1/models/busy/translate').set('Content-Type', 'image/png').send(png)).status).toBe(200);
  });
});
