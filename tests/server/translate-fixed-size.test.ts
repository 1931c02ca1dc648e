/**
 * Models whose graph takes one fixed size (ONNX exports without dynamic axes, as PyTorch users
 * often make them): the size is read from the graph or declared in the manifest, images of any
 * size are fitted into it and the output comes back at the input's size.
 */
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PixelRange } from '../../server/models/manifest.ts';
import { applyColourMix, colourMixModel, imageManifest, rotateAndInvert, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

const RANGE: PixelRange = [-1, 1];
let server: TestServer;

beforeAll(async () => {
  const dir = tempModelsDir();
  const mix = rotateAndInvert(RANGE);
  // Graph fixed at 48 wide × 32 high, manifest silent about it.
  writeModel(dir, 'fixed-auto', imageManifest('fixed-auto'), colourMixModel('NCHW', mix, undefined, { width: 48, height: 32 }));
  // NHWC graph fixed at 24×24, and the manifest says so.
  const declared = imageManifest('fixed-declared', { layout: 'NHWC' });
  writeModel(
    dir,
    'fixed-declared',
    { ...declared, input: { ...declared.input, size: { width: 24, height: 24 } } },
    colourMixModel('NHWC', mix, undefined, { width: 24, height: 24 }),
  );
  // The manifest claims a size the graph does not take.
  const wrong = imageManifest('fixed-mismatch');
  writeModel(
    dir,
    'fixed-mismatch',
    { ...wrong, input: { ...wrong.input, size: { width: 64, height: 64 } } },
    colourMixModel('NCHW', mix, undefined, { width: 32, height: 32 }),
  );
  server = await startTestServer(dir);
});
afterAll(() => server?.close());

/** Smooth RGB(A) content: resampling it down and up again changes it only slightly. */
function gradient(width: number, height: number, channels: 3 | 4): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * channels;
      data[p] = Math.round((x / Math.max(1, width - 1)) * 255);
      data[p + 1] = Math.round((y / Math.max(1, height - 1)) * 255);
      data[p + 2] = Math.round(128 + 60 * Math.sin((x + y) / 20));
      if (channels === 4) data[p + 3] = Math.round(((x + y) / (width + height - 2)) * 255);
    }
  }
  return data;
}

/** Mean absolute difference of two byte arrays. */
function meanAbsoluteError(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

async function translated(model: string, width: number, height: number): Promise<{ rgb: Buffer; expected: Uint8Array; size: string }> {
  const pixels = gradient(width, height, 3);
  const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  const res = await request(server.url)
    .post(`/v1/models/${model}/translate`)
    .set('Content-Type', 'image/png')
    .responseType('blob')
    .send(png);
  expect(res.status).toBe(200);
  const { data, info } = await sharp(res.body as Buffer)
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([width, height, 3]);
  return { rgb: data, expected: applyColourMix(pixels, rotateAndInvert(RANGE), RANGE, RANGE), size: res.headers['x-image-size'] as string };
}

describe('fixed-size graphs', () => {
  it('reads the size from a static graph and shows it in /v1/models', async () => {
    const res = await request(server.url).get('/v1/models/fixed-auto');
    expect(res.body.status).toBe('ready');
    expect(res.body.input.size).toEqual({ width: 48, height: 32 });
  });

  it('refuses a manifest size the graph contradicts, with both sizes in the reason', async () => {
    const res = await request(server.url).get('/v1/models/fixed-mismatch');
    expect(res.body.status).toBe('unavailable');
    expect(res.body.reason).toMatch(/input\.size 64×64 contradicts the ONNX graph, which takes only 32×32/);
  });

  for (const [model, width, height] of [
    ['fixed-auto', 100, 50], // scaled down into 48×32 (to 48×24, padded)
    ['fixed-auto', 20, 10], // scaled up into it
    ['fixed-declared', 30, 60], // NHWC, a portrait into a square (12×24, padded)
  ] as const) {
    it(`${model}: a ${width}×${height} image comes back at its size, translated`, async () => {
      const { rgb, expected, size } = await translated(model, width, height);
      expect(size).toBe(`${width}x${height}`);
      // The model is per pixel; only the scaling there and back blurs the smooth input a little.
      expect(meanAbsoluteError(rgb, expected)).toBeLessThan(6);
    });
  }

  it('keeps the alpha of the input at full size', async () => {
    const [width, height] = [60, 40];
    const rgba = gradient(width, height, 4);
    const png = await sharp(rgba, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer();
    const res = await request(server.url)
      .post('/v1/models/fixed-auto/translate?format=png')
      .set('Content-Type', 'image/png')
      .responseType('blob')
      .send(png);
    expect(res.status).toBe(200);
    const { data, info } = await sharp(res.body as Buffer)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    for (let p = 0; p < width * height; p++) expect(data[p * 4 + 3]).toBe(rgba[p * 4 + 3]);
  });
});
