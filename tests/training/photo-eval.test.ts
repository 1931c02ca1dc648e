/**
 * The photo eval's measures on known inputs: SWD (Laplacian pyramid, 7×7 descriptors, random
 * projections), SSIM, the L*a*b* conversion and Reinhard transfer, and the cartoon-filter baseline.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../training/data/image-folder.ts';
import { seededRandom } from '../../training/data/random.ts';
import { cartoonFilter } from '../../training/eval/cartoon-filter.ts';
import { labStats, labToRgb, reinhardTransfer, rgbToLab } from '../../training/eval/color-transfer.ts';
import { ssim, toGray } from '../../training/eval/ssim.ts';
import { laplacianPyramid, slicedWasserstein, toPlanar, wasserstein1d } from '../../training/eval/swd.ts';

/** Smooth colour waves plus seeded noise: `texture` scales the fine detail. */
function image(width: number, height: number, seed: number, texture = 20): RgbImage {
  const random = seededRandom(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const wave = 128 + 60 * Math.sin((x + 7 * c) / (5 + seed) + y / 9);
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(wave + (random() - 0.5) * texture)));
      }
    }
  }
  return { name: `img${seed}`, width, height, data };
}

function mapPixels(source: RgbImage, f: (value: number, channel: number) => number): RgbImage {
  const data = source.data.map((v, i) => Math.max(0, Math.min(255, Math.round(f(v, i % 3)))));
  return { ...source, data };
}

const fast = { levels: 3, descriptorsPerImage: 64, directions: 32, repeats: 2 };

describe('wasserstein1d', () => {
  it('is the mean absolute difference of sorted samples, and handles unequal sizes', () => {
    expect(wasserstein1d(Float64Array.from([0, 1, 2]), Float64Array.from([1, 2, 3]))).toBeCloseTo(1, 12);
    expect(wasserstein1d(Float64Array.from([0, 0]), Float64Array.from([0, 0, 0, 0]))).toBe(0);
    expect(wasserstein1d(Float64Array.from([0, 10]), Float64Array.from([0, 0, 10, 10]))).toBe(0);
  });
});

describe('laplacianPyramid', () => {
  it('has shrinking levels that sum back (upsampled) to the image: checked via the band energy of a flat image', () => {
    const flat = toPlanar(mapPixels(image(32, 24, 1), () => 100));
    const pyramid = laplacianPyramid(flat, 3);
    expect(pyramid.map((l) => [l.width, l.height])).toEqual([
      [32, 24],
      [16, 12],
      [8, 6],
    ]);
    // A constant image has no detail: band-pass levels are 0, the low-pass keeps the value.
    for (const band of pyramid.slice(0, 2)) expect(Math.max(...band.data.map(Math.abs))).toBeLessThan(1e-3);
    expect(pyramid[2]!.data.every((v) => Math.abs(v - 100) < 1e-3)).toBe(true);
  });
});

describe('slicedWasserstein', () => {
  const photos = [image(64, 48, 1), image(64, 48, 2)];

  it('is 0 between a set and itself', () => {
    const planar = photos.map(toPlanar);
    const result = slicedWasserstein(planar, planar, fast);
    expect(result.perLevel).toHaveLength(3);
    expect(result.mean).toBe(0);
  });

  it('grows with the difference in texture', () => {
    const planar = photos.map(toPlanar);
    const slightly = photos.map((_p, i) => toPlanar(image(64, 48, i + 1, 30)));
    const very = photos.map((_p, i) => toPlanar(image(64, 48, i + 1, 160)));
    const near = slicedWasserstein(planar, slightly, fast).mean;
    const far = slicedWasserstein(planar, very, fast).mean;
    expect(near).toBeGreaterThan(0);
    expect(far).toBeGreaterThan(2 * near);
  });

  it('ignores a per-channel gain and offset (descriptors are normalised per channel, per set)', () => {
    const recoloured = photos.map((p) => mapPixels(p, (v, c) => v * [0.9, 0.8, 0.85][c]! + [20, 30, 10][c]!));
    const retextured = photos.map((_p, i) => image(64, 48, i + 1, 60));
    const recolourDistance = slicedWasserstein(photos.map(toPlanar), recoloured.map(toPlanar), fast).mean;
    const textureDistance = slicedWasserstein(photos.map(toPlanar), retextured.map(toPlanar), fast).mean;
    // Only the rounding back to bytes remains of the recolouring.
    expect(recolourDistance).toBeLessThan(0.25 * textureDistance);
  });

  it('compares sets of different sizes and image shapes', () => {
    const other = [image(40, 56, 5), image(48, 48, 6), image(56, 40, 7)];
    const result = slicedWasserstein(photos.map(toPlanar), other.map(toPlanar), fast);
    expect(result.mean).toBeGreaterThan(0);
    expect(Number.isFinite(result.mean)).toBe(true);
  });
});

describe('ssim', () => {
  const a = image(48, 40, 3);
  const gray = toGray(a);

  it('is 1 for identical images', () => {
    expect(ssim(gray, gray, 48, 40)).toBeCloseTo(1, 10);
  });

  it('drops for added noise, and is negative for an inverted image', () => {
    const noisy = toGray(mapPixels(a, (v) => v + (seededRandom(v)() - 0.5) * 120));
    const inverted = toGray(mapPixels(a, (v) => 255 - v));
    const noisyScore = ssim(gray, noisy, 48, 40);
    expect(noisyScore).toBeLessThan(0.9);
    expect(noisyScore).toBeGreaterThan(0);
    expect(ssim(gray, inverted, 48, 40)).toBeLessThan(0);
  });

  it('is symmetric and rejects mismatched sizes', () => {
    const other = toGray(image(48, 40, 4));
    expect(ssim(gray, other, 48, 40)).toBeCloseTo(ssim(other, gray, 48, 40), 12);
    expect(() => ssim(gray, other.subarray(1), 48, 40)).toThrow(/width × height/);
  });
});

describe('Reinhard colour transfer in L*a*b*', () => {
  it('round-trips RGB → Lab → RGB within one byte, with known reference values', () => {
    const original = image(16, 16, 8);
    const back = labToRgb(rgbToLab(original), 16, 16);
    expect(Math.max(...original.data.map((v, i) => Math.abs(v - back.data[i]!)))).toBeLessThanOrEqual(1);
    const white = rgbToLab({ name: 'white', width: 1, height: 1, data: Uint8Array.from([255, 255, 255]) });
    expect(white[0]).toBeCloseTo(100, 2);
    expect(Math.abs(white[1]!)).toBeLessThan(0.01);
    const red = rgbToLab({ name: 'red', width: 1, height: 1, data: Uint8Array.from([255, 0, 0]) });
    expect([red[0], red[1], red[2]].map((v) => Math.round(v!))).toEqual([53, 80, 67]);
  });

  it('matches the per-channel mean and std of the target set', () => {
    const photo = image(32, 32, 9);
    const targetSet = [mapPixels(image(32, 32, 10), (v, c) => v * 0.5 + [120, 40, 90][c]!)];
    const target = labStats(targetSet);
    const result = labStats([reinhardTransfer(photo, target)]);
    for (let c = 0; c < 3; c++) {
      expect(result.mean[c]).toBeCloseTo(target.mean[c]!, 0);
      expect(Math.abs(result.std[c]! - target.std[c]!)).toBeLessThan(0.1 * target.std[c]! + 0.5);
    }
  });
});

describe('cartoonFilter', () => {
  it('flattens texture into few colours and keeps the picture', async () => {
    const source = image(96, 64, 3, 60);
    const cartoon = await cartoonFilter(source, { colours: 16 });
    expect([cartoon.width, cartoon.height]).toEqual([96, 64]);
    const colours = (img: RgbImage) =>
      new Set(Array.from({ length: img.width * img.height }, (_, p) => img.data.slice(p * 3, p * 3 + 3).join(','))).size;
    expect(colours(cartoon)).toBeLessThanOrEqual(16);
    expect(colours(source)).toBeGreaterThan(500);
    expect(ssim(toGray(source), toGray(cartoon), 96, 64)).toBeGreaterThan(0.3);
  });
});
