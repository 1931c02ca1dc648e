import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodePng, GENERATED_PNG, PHOTO_PNG, type PngCompression } from '../../server/imaging/png.ts';
import type { RawImage } from '../../server/imaging/grid.ts';
import { mulberry32 } from '../helpers/image-models.ts';

function pattern(width: number, height: number, channels: number): RawImage {
  return { data: Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37 + (i >> 5)) % 256), width, height, channels };
}

function noise(width: number, height: number, channels: number, seed: number): RawImage {
  const random = mulberry32(seed);
  return { data: Uint8Array.from({ length: width * height * channels }, () => Math.floor(random() * 256)), width, height, channels };
}

async function decodesTo(png: Buffer, image: RawImage): Promise<void> {
  const metadata = await sharp(png).metadata();
  expect([metadata.format, metadata.width, metadata.height, metadata.channels]).toEqual(['png', image.width, image.height, image.channels]);
  // sharp turns a grey PNG into RGB unless asked for 'b-w', and grey + alpha into RGBA (grey
  // three times, then alpha).
  let decoded = await (image.channels === 1 ? sharp(png).toColourspace('b-w') : sharp(png)).raw().toBuffer();
  if (image.channels === 2) decoded = Buffer.from(decoded.filter((_, i) => i % 4 === 0 || i % 4 === 3));
  expect(Buffer.compare(decoded, Buffer.from(image.data))).toBe(0);
}

describe('encodePng', () => {
  it.each([
    ['grey 28×28', pattern(28, 28, 1)],
    ['RGB 5×3', pattern(5, 3, 3)],
    ['grey 400×400 (deflated off the event loop)', pattern(400, 400, 1)],
  ])('%s decodes back to the same pixels, with the same channel count', async (_name, image) => {
    await decodesTo(await encodePng(image), image);
  });

  const photoSettings: Array<[string, PngCompression]> = [
    ['photo setting', PHOTO_PNG],
    ['average filter at level 9', { filter: 'average', level: 9, runsOnly: false }],
    ['average filter stored (level 0)', { filter: 'average', level: 0, runsOnly: false }],
  ];
  // Noise makes every filtered byte matter; widths below, at and beyond 16 bytes a row, and odd
  // sizes, reach the filter's first-pixel, vector and scalar-tail paths and its first row.
  it.each(photoSettings)('%s: every channel count and awkward size decodes back exactly', async (_name, compression) => {
    for (const channels of [1, 2, 3, 4]) {
      for (const [width, height] of [
        [1, 1],
        [5, 3],
        [16, 2],
        [17, 9],
        [301, 7],
      ] as const) {
        const image = noise(width, height, channels, width * 7 + height + channels);
        await decodesTo(await encodePng(image, compression), image);
      }
    }
  });

  it("keeps a photo PNG's filtered rows until zlib on the thread pool has read them, while the next image is filtered", async () => {
    const slow: PngCompression = { filter: 'average', level: 9, runsOnly: false }; // tens of ms on noise
    const [first, second] = [noise(600, 400, 3, 5), noise(600, 400, 3, 6)];
    const pending = encodePng(first, slow);
    await new Promise((resolve) => setImmediate(resolve)); // the first one is deflating on the thread pool now
    const [a, b] = await Promise.all([pending, encodePng(second, slow)]);
    await decodesTo(a, first);
    await decodesTo(b, second);
  });

  it('filters rows as PNG filter 3 (average) in the photo setting', async () => {
    // A horizontal ramp: after the average filter most bytes repeat, so the PNG is far smaller
    // than the same pixels unfiltered at the same settings.
    const width = 256;
    const ramp: RawImage = {
      width,
      height: 64,
      channels: 3,
      data: Uint8Array.from({ length: width * 64 * 3 }, (_, i) => Math.floor(i / 3) % width),
    };
    const filtered = await encodePng(ramp, PHOTO_PNG);
    const unfiltered = await encodePng(ramp, { ...PHOTO_PNG, filter: 'none' });
    expect(filtered.length).toBeLessThan(0.5 * unfiltered.length);
    await decodesTo(filtered, ramp);
  });

  it('is deterministic and refuses other channel counts', async () => {
    const image = pattern(28, 28, 1);
    expect(Buffer.compare(await encodePng(image), await encodePng(image, GENERATED_PNG))).toBe(0);
    await expect(encodePng(pattern(2, 2, 5))).rejects.toThrow(RangeError);
  });
});
