import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { decodeImage } from '../../server/imaging/decode.ts';
import { encodeImage } from '../../server/imaging/encode.ts';
import { turboAvailable } from '../../server/imaging/jpeg.ts';

// A platform where the native binding cannot load.
vi.mock('@julusian/jpeg-turbo', () => {
  throw new Error('no prebuilt binary for this platform');
});

describe('without the libjpeg-turbo binding', () => {
  it('decodes and encodes every JPEG with sharp', async () => {
    expect(turboAvailable).toBe(false);
    const pixels = Buffer.alloc(32 * 16 * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 13) % 251;
    const jpeg = await sharp(pixels, { raw: { width: 32, height: 16, channels: 3 } })
      .jpeg({ quality: 80 })
      .toBuffer();
    const image = await decodeImage(jpeg, { maxPixels: 1e6 });
    expect([image.decoder, image.width, image.height]).toEqual(['libvips', 32, 16]);
    expect(image.rgb.equals(await sharp(jpeg).raw().toBuffer())).toBe(true);
    const encoded = await encodeImage({ width: 32, height: 16, rgb: image.rgb }, { format: 'jpeg', quality: 80 });
    expect(encoded.encoder).toBe('libvips');
    expect((await sharp(encoded.body).metadata()).format).toBe('jpeg');
  });
});
