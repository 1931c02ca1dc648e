import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Layout, PixelRange } from '../../server/models/manifest.ts';
import { clientErrorOf, type ProblemError } from '../../server/http/problem.ts';
import { decodeImage } from '../../server/imaging/decode.ts';
import { encodeImage } from '../../server/imaging/encode.ts';
import { cropTopLeft, fromTensor, reflectIndex, reflectPad, toTensor, type HwcImage } from '../../server/imaging/tensor.ts';
import { mulberry32 } from '../helpers/image-models.ts';

const LIMITS = { maxPixels: 40_000_000 };

function gradient(width: number, height: number, channels = 3): HwcImage {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + Math.floor(i / 5)) % 256;
  return { width, height, channels, data };
}

/** The decode's error as the HTTP layer answers it. */
async function decodeError(bytes: Buffer, limits = LIMITS): Promise<ProblemError> {
  const error = await decodeImage(bytes, limits).then(
    () => null,
    (e: unknown) => e,
  );
  const problem = clientErrorOf(error);
  expect(problem).not.toBeNull();
  return problem!;
}

describe('tensor conversion', () => {
  it('reflects indices like numpy reflect, for any overshoot', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => reflectIndex(i, 3))).toEqual([0, 1, 2, 1, 0, 1, 2, 1]);
    expect(reflectIndex(5, 1)).toBe(0);
  });

  it('pads right and bottom by reflection and crops back to the original', () => {
    const image = gradient(5, 3);
    const padded = reflectPad(image, 4);
    expect([padded.width, padded.height]).toEqual([8, 4]);
    const at = (img: HwcImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
    expect(at(padded, 5, 0)).toEqual(at(image, 3, 0)); // x=5 mirrors x=3
    expect(at(padded, 7, 3)).toEqual(at(image, 1, 1)); // x=7 → 1, y=3 → 1
    expect(cropTopLeft(padded, 5, 3)).toEqual(image);
    expect(reflectPad(gradient(8, 4), 4).data).toEqual(gradient(8, 4).data);
  });

  it.each<[Layout, PixelRange]>([
    ['NCHW', [-1, 1]],
    ['NHWC', [-1, 1]],
    ['NCHW', [0, 1]],
    ['NHWC', [0, 255]],
  ])('round-trips %s %j exactly and places channels per layout', (layout, range) => {
    const image = gradient(6, 4);
    const tensor = toTensor(image, layout, range, 3);
    expect(tensor.dims).toEqual(layout === 'NCHW' ? [1, 3, 4, 6] : [1, 4, 6, 3]);
    const scale = (range[1] - range[0]) / 255;
    // pixel (x=2, y=1), green channel
    const byte = image.data[(1 * 6 + 2) * 3 + 1]!;
    const index = layout === 'NCHW' ? 1 * 24 + 1 * 6 + 2 : (1 * 6 + 2) * 3 + 1;
    expect(tensor.data[index]).toBeCloseTo(byte * scale + range[0], 5);
    expect(fromTensor(tensor, layout, range).data).toEqual(image.data);
  });

  it('clamps out-of-range values and NaN, and expands one channel to grey', () => {
    const tensor = { data: Float32Array.from([-5, 0, 5, Number.NaN]), dims: [1, 1, 2, 2] };
    expect(Array.from(fromTensor(tensor, 'NCHW', [-1, 1]).data)).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255, 0, 0, 0]);
  });

  it('feeds luma to one-channel models', () => {
    const tensor = toTensor({ width: 1, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0]) }, 'NCHW', [0, 255], 1);
    expect(tensor.dims).toEqual([1, 1, 1, 1]);
    expect(tensor.data[0]).toBeCloseTo(0.299 * 255, 3);
  });
});

describe('decodeImage', () => {
  it('applies EXIF orientation (6 = rotate 90° clockwise)', async () => {
    // 4×2 image, left half red, right half blue; orientation 6 shows it as 2×4, red on top.
    const raw = Buffer.alloc(4 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) raw.set(x < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const image = await decodeImage(jpeg, LIMITS);
    expect([image.width, image.height]).toEqual([2, 4]);
    expect(image.rgb[0]).toBeGreaterThan(200); // top-left red
    expect(image.rgb[3 * 2 * 3 + 2]).toBeGreaterThan(200); // bottom-left blue
  });

  it('splits alpha from RGBA and grey+alpha inputs', async () => {
    const rgba = await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const image = await decodeImage(rgba, LIMITS);
    expect(image.alpha).not.toBeNull();
    expect(image.alpha![0]).toBe(128);
    expect(Array.from(image.rgb.subarray(0, 3))).toEqual([10, 20, 30]);
    const greyAlpha = await sharp({ create: { width: 2, height: 2, channels: 4, background: { r: 90, g: 90, b: 90, alpha: 1 } } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const grey = await decodeImage(greyAlpha, LIMITS);
    expect(Array.from(grey.rgb.subarray(0, 3))).toEqual([90, 90, 90]);
  });

  it('turns grey, palette, CMYK and 16-bit inputs into RGB', async () => {
    const base = () => sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 200, g: 100, b: 50 } } });
    const inputs = {
      grey: await base().grayscale().png().toBuffer(),
      palette: await base().png({ palette: true, colours: 4 }).toBuffer(),
      cmyk: await base().toColourspace('cmyk').jpeg().toBuffer(),
      rgb16: await base().toColourspace('rgb16').png().toBuffer(),
      tiff: await base().tiff().toBuffer(),
      webp: await base().webp({ lossless: true }).toBuffer(),
      gif: await base().gif().toBuffer(),
    };
    expect((await sharp(inputs.cmyk).metadata()).space).toBe('cmyk');
    for (const [kind, bytes] of Object.entries(inputs)) {
      const image = await decodeImage(bytes, LIMITS);
      expect([kind, image.width, image.height, image.rgb.length]).toEqual([kind, 8, 6, 8 * 6 * 3]);
      if (kind !== 'gif') expect(image.alpha).toBeNull(); // GIF decodes with an (opaque) alpha
      const [r, g, b] = image.rgb;
      if (kind === 'grey') expect(r === g && g === b).toBe(true);
      // CMYK without an ICC profile converts approximately: check the hue order only.
      else if (kind === 'cmyk') expect(r! > g! && g! > b!).toBe(true);
      else expect([kind, Math.abs(r! - 200) < 12, Math.abs(g! - 100) < 12, Math.abs(b! - 50) < 12]).toEqual([kind, true, true, true]);
    }
  });

  it('scales down to maxSide keeping the aspect ratio, never up', async () => {
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const small = await decodeImage(png, { ...LIMITS, maxSide: 150 });
    expect([small.width, small.height]).toEqual([150, 100]);
    const same = await decodeImage(png, { ...LIMITS, maxSide: 1000 });
    expect([same.width, same.height]).toEqual([300, 200]);
    const thin = await sharp({ create: { width: 1000, height: 3, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const line = await decodeImage(thin, { ...LIMITS, maxSide: 100 });
    expect([line.width, line.height, line.rgb.length]).toEqual([100, 1, 100 * 3]);
  });

  it('scales the image as shown, after EXIF orientation', async () => {
    // Stored 400×100; orientation 8 shows it as 100×400, which maxSide 200 scales to 50×200.
    const raw = Buffer.alloc(400 * 100 * 3, 128);
    const jpeg = await sharp(raw, { raw: { width: 400, height: 100, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 8 })
      .toBuffer();
    const image = await decodeImage(jpeg, { ...LIMITS, maxSide: 200 });
    expect([image.width, image.height, image.rgb.length]).toEqual([50, 200, 50 * 200 * 3]);
  });

  it('refuses too many pixels from the header (422), non-images and unsupported formats (415), truncation (422)', async () => {
    const big = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const bomb = await decodeError(big, { maxPixels: 1_000_000 });
    expect([bomb.status, bomb.message]).toEqual([422, expect.stringContaining('2000×1000')]);
    expect((await decodeError(Buffer.from('hello, not an image'))).status).toBe(415);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>');
    expect((await decodeError(svg)).status).toBe(415);
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#369' } })
      .jpeg()
      .toBuffer();
    expect((await decodeError(jpeg.subarray(0, jpeg.length / 2))).status).toBe(422);
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#369' } })
      .png()
      .toBuffer();
    expect((await decodeError(png.subarray(0, png.length - 20))).status).toBe(422);
  });
});

describe('encodeImage', () => {
  const rgb = gradient(5, 4).data;
  const alpha = Uint8Array.from({ length: 20 }, (_, i) => i * 12);

  it('keeps alpha in png and webp, drops it in jpeg, and png is lossless', async () => {
    const png = await encodeImage({ width: 5, height: 4, rgb, alpha }, { format: 'png' });
    expect(png.contentType).toBe('image/png');
    const { data, info } = await sharp(png.body).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect(data[3 + 4 * 7]).toBe(alpha[7]);
    expect(data[4 * 7]).toBe(rgb[3 * 7]);
    const webp = await encodeImage({ width: 5, height: 4, rgb, alpha }, { format: 'webp', quality: 80 });
    expect((await sharp(webp.body).metadata()).hasAlpha).toBe(true);
    const jpeg = await encodeImage({ width: 5, height: 4, rgb, alpha }, { format: 'jpeg', quality: 70 });
    const meta = await sharp(jpeg.body).metadata();
    expect([jpeg.contentType, meta.format, meta.hasAlpha]).toEqual(['image/jpeg', 'jpeg', false]);
  });

  it('quality changes jpeg size', async () => {
    const noisy = Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 2654435761) % 251);
    const low = await encodeImage({ width: 64, height: 64, rgb: noisy }, { format: 'jpeg', quality: 10 });
    const high = await encodeImage({ width: 64, height: 64, rgb: noisy }, { format: 'jpeg', quality: 95 });
    expect(low.body.length).toBeLessThan(high.body.length);
  });

  it('png stays lossless at every quality, and row filters make photo-like images compress', async () => {
    // Smooth shading with mild sensor-like noise, like a photo: unfiltered deflate barely shrinks it.
    const [width, height] = [96, 64];
    const noise = mulberry32(3);
    const photoLike = Uint8Array.from({ length: width * height * 3 }, (_, i) => {
      const p = Math.floor(i / 3);
      return ((p % width) * 2 + Math.floor(p / width) + (i % 3) * 40 + Math.floor(noise() * 7)) & 255;
    });
    for (const quality of [undefined, 1, 50, 100]) {
      const png = await encodeImage({ width, height, rgb: photoLike }, { format: 'png', quality });
      expect(Buffer.from(photoLike).equals(await sharp(png.body).raw().toBuffer())).toBe(true);
    }
    const ours = await encodeImage({ width, height, rgb: photoLike }, { format: 'png' });
    const unfiltered = await sharp(photoLike, { raw: { width, height, channels: 3 } })
      .png({ compressionLevel: 6, adaptiveFiltering: false })
      .toBuffer();
    expect(ours.body.length).toBeLessThan(0.8 * unfiltered.length);
  });
});
