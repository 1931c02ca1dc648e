/**
 * Pair makers: colorize (lightness in, a*b* out) and ×2 upscaling (halved and enlarged back in,
 * the photo out), on images whose answers are known.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { colorizePairs } from '../../training/data/pairs/colorize.ts';
import { halvedAndEnlarged, upscale2xPairs } from '../../training/data/pairs/upscale.ts';
import { rgbToLab as rgbToLabBytes } from '../../training/eval/color-transfer.ts';
import { useCpuBackend } from './export-harness.ts';

beforeAll(useCpuBackend);

/** One colour repeated over an NHWC image in [-1, 1]. */
function flat(rgb: [number, number, number], height = 4, width = 6): tf.Tensor4D {
  return tf.tile(
    tf.tensor4d(
      rgb.map((v) => v / 127.5 - 1),
      [1, 1, 1, 3],
    ),
    [1, height, width, 1],
  ) as tf.Tensor4D;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('colorize pairs', () => {
  const pairs = colorizePairs(110);

  it('a grey photo has no chroma to predict, and its lightness is the input', () => {
    const { input, target } = pairs.makePair(flat([128, 128, 128]));
    expect(input.shape).toEqual([1, 4, 6, 1]);
    expect(target.shape).toEqual([1, 4, 6, 2]);
    expect(Math.max(...target.dataSync().map(Math.abs))).toBeLessThan(1e-3);
    const lightness = rgbToLabBytes({ name: 'grey', width: 1, height: 1, data: Uint8Array.of(128, 128, 128) })[0]!;
    expect(input.dataSync()[0]).toBeCloseTo(lightness / 50 - 1, 4);
  });

  it('a red photo gives the red a*b* in units of the chroma scale (clipped to [-1, 1])', () => {
    const [, a, b] = rgbToLabBytes({ name: 'red', width: 1, height: 1, data: Uint8Array.of(200, 40, 30) });
    const { target } = pairs.makePair(flat([200, 40, 30]));
    expect(target.dataSync()[0]).toBeCloseTo(a! / 110, 3);
    expect(target.dataSync()[1]).toBeCloseTo(b! / 110, 3);
    const { target: saturated } = colorizePairs(20).makePair(flat([200, 40, 30]));
    expect(Array.from(saturated.dataSync().slice(0, 2))).toEqual([1, 1]);
  });

  it('shows the input as the grey photo and input + target as the photo', () => {
    const photo = flat([90, 140, 200]);
    const { input, target } = pairs.makePair(photo);
    const grey = pairs.inputAsRgb(input).dataSync();
    expect(maxAbsDiff([grey[0]!, grey[0]!], [grey[1]!, grey[2]!])).toBeLessThan(1e-4);
    expect(maxAbsDiff(pairs.outputAsRgb(input, target).dataSync(), photo.dataSync())).toBeLessThan(1e-3);
  });
});

describe('×2 upscaling pairs', () => {
  const pairs = upscale2xPairs();

  it('keeps a flat image as it is', () => {
    const photo = flat([30, 160, 90], 8, 8);
    const { input, target } = pairs.makePair(photo);
    expect(maxAbsDiff(input.dataSync(), photo.dataSync())).toBeLessThan(1e-6);
    expect(maxAbsDiff(target.dataSync(), photo.dataSync())).toBe(0);
  });

  it('loses the detail finer than two pixels: a one-pixel checkerboard becomes its mean', () => {
    const checkerboard = tf.tensor4d(
      Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => (((Math.floor(i / 3) % 8) + Math.floor(i / 24)) % 2 === 0 ? 1 : -1)),
      [1, 8, 8, 3],
    );
    const input = halvedAndEnlarged(checkerboard).dataSync();
    expect(Math.max(...input.map(Math.abs))).toBeLessThan(1e-6);
  });

  it('keeps the size, smooths a step edge, and refuses odd sides', () => {
    const step = tf.tensor4d(
      Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => (Math.floor(i / 3) % 8 < 3 ? -1 : 1)),
      [1, 8, 8, 3],
    );
    const { input } = pairs.makePair(step);
    expect(input.shape).toEqual([1, 8, 8, 3]);
    const row = Array.from({ length: 8 }, (_, x) => input.dataSync()[x * 3]!);
    expect(row[0]).toBeCloseTo(-1, 6);
    expect(row[7]).toBeCloseTo(1, 6);
    expect(row.some((v) => v > -0.99 && v < 0.99)).toBe(true); // the edge is blurred
    expect(() => halvedAndEnlarged(flat([1, 2, 3], 5, 6))).toThrow(/even sides/);
  });
});
