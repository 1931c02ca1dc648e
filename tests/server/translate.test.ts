import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeImage } from '../../server/imaging/decode.ts';
import type { Layout, PixelRange } from '../../server/models/manifest.ts';
import { applyColourMix, colourMixModel, imageManifest, rotateAndInvert, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

const MODELS: Array<{ name: string; layout: Layout; range: PixelRange }> = [
  { name: 'nchw-signed', layout: 'NCHW', range: [-1, 1] },
  { name: 'nhwc-signed', layout: 'NHWC', range: [-1, 1] },
  { name: 'nchw-bytes', layout: 'NCHW', range: [0, 255] },
  { name: 'nhwc-bytes', layout: 'NHWC', range: [0, 255] },
];

let server: TestServer;

beforeAll(async () => {
  const dir = tempModelsDir();
  for (const m of MODELS) {
    writeModel(
      dir,
      m.name,
      imageManifest(m.name, { layout: m.layout, inRange: m.range, multipleOf: 4, maxSide: 512 }),
      colourMixModel(m.layout, rotateAndInvert(m.range)),
    );
  }
  server = await startTestServer(dir);
});
afterAll(() => server?.close());

/** Deterministic varied pixels, so any misplaced pixel or channel changes the result. */
function pattern(width: number, height: number, channels: number): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = (x * 37 + y * 11 + c * 85 + ((x * y) % 7) * 13) % 256;
    }
  }
  return data;
}

async function raw(image: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function translate(model: string, query = '') {
  return request(server.url).post(`/v1/models/${model}/translate${query}`).responseType('blob');
}

describe('POST /v1/models/:name/translate round-trips', () => {
  for (const model of MODELS) {
    for (const [width, height] of [
      [32, 24],
      [37, 21],
    ] as const) {
      it(`${model.name} ${width}×${height}: output equals the model applied to the input`, async () => {
        const pixels = pattern(width, height, 3);
        const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
          .png()
          .toBuffer();
        const res = await translate(model.name).set('Content-Type', 'image/png').send(png);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('image/png');
        const out = await raw(res.body as Buffer);
        expect([out.width, out.height, out.channels]).toEqual([width, height, 3]);
        const expected = applyColourMix(pixels, rotateAndInvert(model.range), model.range, model.range);
        expect(Buffer.from(expected).equals(out.data)).toBe(true);
      });
    }
  }

  it('stays exact when a worker writes each input tensor over the last one, larger or smaller', async () => {
    // Sequential requests go to the first idle worker, so every image after the first is written
    // into memory that still holds an earlier tensor, as a view on a larger buffer when it is smaller.
    for (const [width, height, shift] of [
      [320, 300, 0],
      [64, 40, 101],
      [321, 300, 202],
      [320, 300, 33],
    ] as const) {
      const pixels = pattern(width, height, 3).map((v) => (v + shift) % 256);
      const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
        .png()
        .toBuffer();
      const res = await translate('nchw-signed').set('Content-Type', 'image/png').send(png);
      expect(res.status).toBe(200);
      const expected = applyColourMix(pixels, rotateAndInvert([-1, 1]), [-1, 1], [-1, 1]);
      expect(Buffer.from(expected).equals((await raw(res.body as Buffer)).data)).toBe(true);
    }
  });

  it('stays exact under concurrent requests of mixed sizes, whose pixel buffers are recycled between them', async () => {
    const cases = Array.from({ length: 12 }, (_, i) => ({ width: [96, 200, 37][i % 3]!, height: [64, 120, 53][i % 3]!, shift: 17 * i }));
    const answers = await Promise.all(
      cases.map(async ({ width, height, shift }) => {
        const pixels = pattern(width, height, 3).map((v) => (v + shift) % 256);
        const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
          .png()
          .toBuffer();
        const res = await translate('nchw-signed').set('Content-Type', 'image/png').send(png);
        return { pixels, res };
      }),
    );
    for (const { pixels, res } of answers) {
      expect(res.status).toBe(200);
      const expected = applyColourMix(pixels, rotateAndInvert([-1, 1]), [-1, 1], [-1, 1]);
      expect(Buffer.from(expected).equals((await raw(res.body as Buffer)).data)).toBe(true);
    }
  });

  it('applies EXIF orientation: a JPEG tagged orientation 6 comes back upright with swapped sides', async () => {
    const pixels = pattern(40, 24, 3);
    const jpeg = await sharp(pixels, { raw: { width: 40, height: 24, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const res = await translate('nchw-bytes').set('Content-Type', 'image/jpeg').send(jpeg);
    expect(res.status).toBe(200);
    const out = await raw(res.body as Buffer);
    expect([out.width, out.height]).toEqual([24, 40]);
    const upright = await sharp(jpeg).rotate().raw().toBuffer();
    expect(Buffer.from(applyColourMix(upright, rotateAndInvert([0, 255]), [0, 255], [0, 255])).equals(out.data)).toBe(true);
  });

  it('keeps the alpha channel of an RGBA input in png and webp output', async () => {
    const rgba = pattern(21, 13, 4);
    const png = await sharp(rgba, { raw: { width: 21, height: 13, channels: 4 } })
      .png()
      .toBuffer();
    const res = await translate('nhwc-bytes').attach('image', png, 'rgba.png');
    expect(res.status).toBe(200);
    const out = await raw(res.body as Buffer);
    expect(out.channels).toBe(4);
    const alphaIn = Buffer.from(rgba.filter((_, i) => i % 4 === 3));
    const alphaOut = Buffer.from(out.data.filter((_, i) => i % 4 === 3));
    expect(alphaOut.equals(alphaIn)).toBe(true);
    const webp = await translate('nhwc-bytes', '?format=webp&quality=90').set('Content-Type', 'image/png').send(png);
    expect([webp.status, webp.headers['content-type']]).toEqual([200, 'image/webp']);
    expect((await sharp(webp.body as Buffer).metadata()).hasAlpha).toBe(true);
  });

  it('accepts multipart uploads and answers jpeg with the requested quality', async () => {
    const png = await sharp(pattern(48, 48, 3), { raw: { width: 48, height: 48, channels: 3 } })
      .png()
      .toBuffer();
    const low = await translate('nchw-signed', '?format=jpeg&quality=5').attach('image', png, 'in.png');
    const high = await translate('nchw-signed', '?format=jpeg&quality=100').attach('image', png, {
      filename: 'in.png',
      contentType: 'image/png',
    });
    expect([low.status, low.headers['content-type'], high.status]).toEqual([200, 'image/jpeg', 200]);
    expect((low.body as Buffer).length).toBeLessThan((high.body as Buffer).length);
  });

  it('without a format in the query, answers the image type the Accept header prefers (png by default)', async () => {
    const png = await sharp(pattern(16, 12, 3), { raw: { width: 16, height: 12, channels: 3 } })
      .png()
      .toBuffer();
    const send = (accept: string | null, query = '') => {
      const req = translate('nchw-signed', query).set('Content-Type', 'image/png');
      return (accept === null ? req : req.set('Accept', accept)).send(png);
    };
    const cases: Array<[string | null, string, string]> = [
      [null, '', 'image/png'],
      ['*/*', '', 'image/png'],
      ['image/webp', '', 'image/webp'],
      ['image/webp;q=0.5, image/jpeg', '', 'image/jpeg'],
      ['image/avif, image/webp;q=0.9, */*;q=0.8', '', 'image/webp'],
      // An Accept that admits none of png, jpeg and webp is ignored, not refused.
      ['application/json', '', 'image/png'],
      // The query wins over Accept.
      ['image/webp', '?format=jpeg', 'image/jpeg'],
    ];
    for (const [accept, query, expected] of cases) {
      const res = await send(accept, query);
      expect([accept, res.status, res.headers['content-type']]).toEqual([accept, 200, expected]);
      expect((await sharp(res.body as Buffer).metadata()).format).toBe(expected.slice('image/'.length));
      expect(res.headers.vary).toMatch(/Accept/);
    }
  });

  it('says where the time went in a Server-Timing header, stage by stage in pipeline order', async () => {
    const png = await sharp(pattern(64, 48, 3), { raw: { width: 64, height: 48, channels: 3 } })
      .png()
      .toBuffer();
    const started = performance.now();
    const res = await translate('nchw-signed').set('Content-Type', 'image/png').send(png);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    const stages = (res.headers['server-timing'] as string)
      .split(', ')
      .map((entry) => /^(\w+);dur=(\d+\.\d)(?:;desc="(.*)")?$/.exec(entry));
    expect(stages.map((m) => m?.[1])).toEqual(['decode', 'preprocess', 'queue', 'inference', 'postprocess', 'encode']);
    // A lone request runs with the whole pool's threads (the solo session).
    expect(stages[3]![3]).toBe(`${Math.max(server.config.soloThreads, server.config.threadsPerWorker)} threads`);
    // The codecs: libvips read the PNG, and our own filter + zlib wrote it.
    expect([stages[0]![3], stages[5]![3]]).toEqual(['libvips', 'zlib']);
    // The stages are parts of the request, so together they fit in the time the client waited.
    const sum = stages.reduce((total, m) => total + Number(m![2]), 0);
    expect(sum).toBeLessThanOrEqual(elapsed + 0.3);
  });

  it('reads and writes plain JPEGs with libjpeg-turbo, other JPEGs with libvips, and names the codec in Server-Timing', async () => {
    const pixels = pattern(64, 48, 3);
    const codecs = (res: { headers: Record<string, unknown> }) =>
      ['decode', 'encode'].map(
        (stage) => new RegExp(`${stage};dur=[\\d.]+;desc="([\\w-]+)"`).exec(res.headers['server-timing'] as string)?.[1],
      );
    const plain = await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } })
      .jpeg({ quality: 85 })
      .toBuffer();
    const fast = await translate('nchw-bytes', '?format=jpeg').set('Content-Type', 'image/jpeg').send(plain);
    expect([fast.status, ...codecs(fast)]).toEqual([200, 'libjpeg-turbo', 'libjpeg-turbo']);
    // Same pixels through the model as an accurate decode gives, up to the fast DCT's rounding.
    const expected = applyColourMix(await sharp(plain).raw().toBuffer(), rotateAndInvert([0, 255]), [0, 255], [0, 255]);
    const png = await translate('nchw-bytes', '?format=png').set('Content-Type', 'image/jpeg').send(plain);
    const out = (await raw(png.body as Buffer)).data;
    expect(out.reduce((worst, value, i) => Math.max(worst, Math.abs(value - expected[i]!)), 0)).toBeLessThanOrEqual(8);
    const fine = await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const accurate = await translate('nchw-bytes', '?format=jpeg&quality=95').set('Content-Type', 'image/jpeg').send(fine);
    expect([accurate.status, ...codecs(accurate)]).toEqual([200, 'libvips', 'libvips']);
  });

  it("decodes plain JPEGs into the pool's shelved buffers, each handed back once translate has copied it, and stays exact under concurrency", async () => {
    const pool = server.pool;
    const spies = { borrow: vi.spyOn(pool, 'pixelBuffer'), translate: vi.spyOn(pool, 'translate'), recycle: vi.spyOn(pool, 'recycle') };
    try {
      const cases = Array.from({ length: 8 }, (_, i) => ({ width: [96, 40][i % 2]!, height: [64, 30][i % 2]!, shift: 29 * i }));
      const jpegs = await Promise.all(
        cases.map(({ width, height, shift }) =>
          sharp(
            pattern(width, height, 3).map((v) => (v + shift) % 256),
            { raw: { width, height, channels: 3 } },
          )
            .jpeg({ quality: 85 })
            .toBuffer(),
        ),
      );
      const answers = await Promise.all(
        jpegs.map((jpeg) => translate('nchw-bytes', '?format=png').set('Content-Type', 'image/jpeg').send(jpeg)),
      );
      for (const [i, res] of answers.entries()) {
        expect(res.status).toBe(200);
        const decoded = await decodeImage(jpegs[i]!, { maxPixels: 1e6 });
        expect(decoded.decoder).toBe('libjpeg-turbo');
        const expected = applyColourMix(decoded.rgb, rotateAndInvert([0, 255]), [0, 255], [0, 255]);
        expect(Buffer.from(expected).equals((await raw(res.body as Buffer)).data)).toBe(true);
      }
      // Every borrowed buffer went back after the translate that copied it, before anyone borrowed it again.
      expect(spies.borrow).toHaveBeenCalledTimes(cases.length);
      const at = (spy: { mock: { invocationCallOrder: number[] } }, k: number) => spy.mock.invocationCallOrder[k]!;
      for (const [i, { value: buffer }] of spies.borrow.mock.results.entries()) {
        const borrowedAt = at(spies.borrow, i);
        const returnedAt = Math.min(
          ...spies.recycle.mock.calls.flatMap(([b], k) =>
            b === buffer && at(spies.recycle, k) > borrowedAt ? [at(spies.recycle, k)] : [],
          ),
        );
        const copiedAt = Math.min(...spies.translate.mock.invocationCallOrder.filter((order) => order > borrowedAt));
        const borrowedAgainAt = Math.min(
          ...spies.borrow.mock.results.flatMap((r, k) =>
            r.value === buffer && at(spies.borrow, k) > borrowedAt ? [at(spies.borrow, k)] : [],
          ),
        );
        expect(returnedAt).toBeGreaterThan(copiedAt);
        expect(returnedAt).toBeLessThan(borrowedAgainAt);
      }
      // A JPEG that libjpeg-turbo refuses after borrowing still hands its buffer back.
      spies.borrow.mockClear();
      spies.recycle.mockClear();
      const corrupt = Buffer.from(jpegs[0]!);
      for (let i = Math.floor(corrupt.length / 2); i < corrupt.length - 16; i++) corrupt[i] ^= 0x5a;
      expect((await translate('nchw-bytes').set('Content-Type', 'image/jpeg').send(corrupt)).status).toBe(422);
      expect(spies.borrow).toHaveBeenCalledTimes(1);
      expect(spies.recycle.mock.calls.map(([buffer]) => buffer)).toEqual([spies.borrow.mock.results[0]!.value]);
    } finally {
      for (const spy of Object.values(spies)) spy.mockRestore();
    }
  });

  it('still runs a lone request with every thread after uploads that failed to decode', async () => {
    const png = await sharp(pattern(16, 16, 3), { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toBuffer();
    for (let i = 0; i < 3; i++)
      expect((await translate('nchw-bytes').set('Content-Type', 'image/png').send(png.subarray(0, 40))).status).toBe(422);
    const res = await translate('nchw-bytes').set('Content-Type', 'image/png').send(png);
    expect(res.headers['server-timing']).toContain(`inference;dur=`);
    expect(res.headers['server-timing']).toMatch(
      new RegExp(`desc="${Math.max(server.config.soloThreads, server.config.threadsPerWorker)} threads"`),
    );
  });

  it('scales images over max_side down, keeping the aspect ratio; max_side cannot raise the manifest limit', async () => {
    const png = await sharp(pattern(200, 100, 3), { raw: { width: 200, height: 100, channels: 3 } })
      .png()
      .toBuffer();
    const res = await translate('nchw-bytes', '?max_side=50').set('Content-Type', 'image/png').send(png);
    expect([res.status, res.headers['x-image-size']]).toEqual([200, '50x25']);
    const big = await sharp({ create: { width: 1024, height: 256, channels: 3, background: '#abc' } })
      .png()
      .toBuffer();
    const capped = await translate('nchw-bytes', '?max_side=4000').set('Content-Type', 'image/png').send(big);
    expect(capped.headers['x-image-size']).toBe('512x128'); // the manifest's maxSide is 512
  });

  it('translates grey and palette inputs to RGB output', async () => {
    const base = sharp(pattern(16, 12, 3), { raw: { width: 16, height: 12, channels: 3 } });
    for (const input of [await base.clone().grayscale().png().toBuffer(), await base.clone().png({ palette: true }).toBuffer()]) {
      const res = await translate('nhwc-signed').set('Content-Type', 'image/png').send(input);
      expect(res.status).toBe(200);
      const out = await raw(res.body as Buffer);
      expect([out.width, out.height, out.channels]).toEqual([16, 12, 3]);
    }
  });
});
