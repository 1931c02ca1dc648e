import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../server/imaging/png.ts';
import type { RawImage } from '../../server/imaging/grid.ts';

function pattern(width: number, height: number, channels: number): RawImage {
  return { data: Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37 + (i >> 5)) % 256), width, height, channels };
}

describe('encodePng', () => {
  it.each([
    ['grey 28×28', pattern(28, 28, 1)],
    ['RGB 5×3', pattern(5, 3, 3)],
    ['grey 400×400 (deflated off the event loop)', pattern(400, 400, 1)],
  ])('%s decodes back to the same pixels, with the same channel count', async (_name, image) => {
    const png = await encodePng(image);
    const metadata = await sharp(png).metadata();
    expect([metadata.format, metadata.width, metadata.height, metadata.channels]).toEqual(['png', image.width, image.height, image.channels]);
    const decoded = await sharp(png).raw().toColourspace(image.channels === 1 ? 'b-w' : 'srgb').toBuffer();
    expect(Buffer.compare(decoded, Buffer.from(image.data))).toBe(0);
  });

  it('is deterministic and refuses other channel counts', async () => {
    const image = pattern(28, 28, 1);
    expect(Buffer.compare(await encodePng(image), await encodePng(image))).toBe(0);
    await expect(encodePng(pattern(2, 2, 4))).rejects.toThrow(RangeError);
  });
});
