/**
 * The photo2anime recipe's added terms on known inputs: the YUV colour anchor, the luma-order and
 * smooth-chroma terms, the block low-pass its content losses compare through, DiffAugment's
 * translation and cutout (and that gradients flow through them), and the anime discriminator's
 * edge-smoothed and grey negatives.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { diffAugment } from '../../training/augment.ts';
import { seededRandom } from '../../training/data/random.ts';
import { blockMean, colorLoss, lumaOrderLoss, smoothChromaLoss, totalVariation } from '../../training/losses.ts';
import { edgeSmoothed, greyscale } from '../../training/negatives.ts';

/** A 1×h×w×3 image of one colour in [-1, 1]. */
const flat = (h: number, w: number, rgb: [number, number, number]) => tf.tile(tf.tensor4d(rgb, [1, 1, 1, 3]), [1, h, w, 1]) as tf.Tensor4D;

describe('colorLoss', () => {
  it('is zero for the photo itself and grows with a hue shift', () => {
    const photo = flat(4, 4, [0.2, -0.1, 0.5]);
    expect(colorLoss(photo, photo).dataSync()[0]).toBeCloseTo(0, 6);
    const shifted = flat(4, 4, [0.5, -0.1, 0.2]);
    expect(colorLoss(shifted, photo).dataSync()[0]).toBeGreaterThan(0.01);
  });

  it('weighs luma (L1) more than the same change in chroma (Huber)', () => {
    const photo = flat(2, 2, [0, 0, 0]);
    const brighter = flat(2, 2, [0.2, 0.2, 0.2]); // Y only
    const luma = colorLoss(brighter, photo).dataSync()[0]!;
    expect(luma).toBeCloseTo(0.1, 5); // |ΔY| = 0.2 / 2 in [0, 1] units
    const tinted = flat(2, 2, [0, 0, 0.2]);
    const chroma = colorLoss(tinted, photo).dataSync()[0]!;
    // ΔY = 0.0114; ΔU = 0.0436, ΔV = −0.0100 enter as ½d²: far below an L1 on them.
    expect(chroma).toBeCloseTo(0.0114 + 0.5 * 0.0436 ** 2 + 0.5 * 0.01 ** 2, 4);
  });
});

describe('diffAugment', () => {
  const ramp = tf.tensor4d(
    Array.from({ length: 16 * 16 * 3 }, (_, i) => (Math.floor(i / 3) % 16) / 16),
    [1, 16, 16, 3],
  );

  it('keeps the shape, shifts the content and zeroes a square', () => {
    const out = diffAugment(ramp, seededRandom(4));
    expect(out.shape).toEqual([1, 16, 16, 3]);
    const values = out.dataSync();
    const zeros = values.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(0);
    expect(Array.from(values)).not.toEqual(Array.from(ramp.dataSync()));
  });

  it('is the same for the same draws, and off with a zero policy', () => {
    expect(diffAugment(ramp, seededRandom(9)).dataSync()).toEqual(diffAugment(ramp, seededRandom(9)).dataSync());
    expect(diffAugment(ramp, seededRandom(9), { translation: 0, cutout: 0 }).dataSync()).toEqual(ramp.dataSync());
  });

  it('passes gradients: 1 where a pixel survives, 0 where it was cut or shifted out', () => {
    const grad = tf.grad((x: tf.Tensor) => tf.sum(diffAugment(x as tf.Tensor4D, seededRandom(4))))(ramp);
    const values = new Set(Array.from(grad.dataSync()));
    expect([...values].sort()).toEqual([0, 1]);
  });
});

describe('anime negatives', () => {
  it('greyscale keeps luma in three equal channels', () => {
    const grey = greyscale(flat(2, 2, [1, 0, -1])).dataSync();
    const luma = 0.299 - 0.114;
    expect(Array.from(grey.slice(0, 3)).map((v) => Number(v.toFixed(5)))).toEqual([luma, luma, luma].map((v) => Number(v.toFixed(5))));
  });

  it('edgeSmoothed blurs a step edge and leaves flat regions alone', () => {
    const left = flat(16, 8, [-1, -1, -1]);
    const right = flat(16, 8, [1, 1, 1]);
    const step = tf.concat([left, right], 2) as tf.Tensor4D;
    const smoothed = edgeSmoothed(step);
    const row = (t: tf.Tensor) => Array.from(t.slice([0, 8, 0, 0], [1, 1, 16, 1]).dataSync());
    const before = row(step);
    const after = row(smoothed);
    expect(after[7]).toBeGreaterThan(before[7]! + 0.2); // dark side next to the edge got lighter
    expect(after[8]).toBeLessThan(before[8]! - 0.2);
    expect(after[0]).toBeCloseTo(before[0]!, 5); // far from the edge: untouched
    expect(after[15]).toBeCloseTo(before[15]!, 5);
    const unchanged = edgeSmoothed(left).dataSync();
    expect(Math.max(...Array.from(unchanged, (v) => Math.abs(v + 1)))).toBeLessThan(1e-5);
  });
});

describe('blockMean', () => {
  it('averages each block, so texture inside a block is invisible to the losses built on it', () => {
    // A 4×4 checkerboard of ±1 on top of a left/right step: 2×2 blocks see only the step.
    const values = Array.from({ length: 16 }, (_, i) => (((i % 4) + Math.floor(i / 4)) % 2 === 0 ? 1 : -1)).map(
      (v, i) => v + (i % 4 < 2 ? 0 : 4),
    );
    const image = tf.tensor4d(values, [1, 4, 4, 1]);
    expect(Array.from(blockMean(image, 2).dataSync())).toEqual([0, 4, 0, 4]);
    expect(blockMean(image, 1)).toBe(image);
  });

  it('passes gradients back to every pixel, 1/f² each', () => {
    const image = tf.randomNormal([2, 4, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const gradient = tf
      .grad((x: tf.Tensor) => tf.sum(blockMean(x as tf.Tensor4D, 4)))(image)
      .dataSync();
    expect(Math.max(...Array.from(gradient, (g) => Math.abs(g - 1 / 16)))).toBeLessThan(1e-7);
  });

  it('rejects sizes that are not multiples of the factor', () => {
    expect(() => blockMean(tf.zeros([1, 6, 8, 3]) as tf.Tensor4D, 4)).toThrow(/not a multiple of 4/);
  });
});

describe('totalVariation', () => {
  it('is zero on a flat image and the mean neighbour step of a ramp', () => {
    expect(totalVariation(flat(4, 4, [0.3, -0.2, 0.1])).dataSync()[0]).toBeCloseTo(0, 6);
    // Columns rise by 0.25 left to right, rows are equal: only horizontal steps, each 0.25.
    const ramp = tf.tensor4d(
      Array.from({ length: 4 * 5 * 3 }, (_, i) => (Math.floor(i / 3) % 5) * 0.25),
      [1, 4, 5, 3],
    );
    expect(totalVariation(ramp).dataSync()[0]).toBeCloseTo(0.25, 6);
  });

  it('prices speckle above a smooth image of the same mean, and its gradient flattens the speckle', () => {
    const speckle = tf.tensor4d(
      Array.from({ length: 6 * 6 * 3 }, (_, i) => ((Math.floor(i / 3) + Math.floor(i / 18)) % 2 === 0 ? 0.2 : -0.2)),
      [1, 6, 6, 3],
    );
    expect(totalVariation(speckle).dataSync()[0]).toBeCloseTo(0.8, 6);
    const gradient = tf.grad((x: tf.Tensor) => totalVariation(x as tf.Tensor4D))(speckle);
    // Descending the gradient moves every +0.2 pixel down and every −0.2 pixel up.
    const product = tf.sum(tf.mul(gradient, speckle)).dataSync()[0]!;
    expect(product).toBeGreaterThan(0);
  });
});

describe('lumaOrderLoss', () => {
  /** A 1×32×32×3 grey image whose value at row y is f(y / 31), in [-1, 1]. */
  const rows = (f: (t: number) => number) =>
    tf.tensor4d(
      Array.from({ length: 32 * 32 * 3 }, (_, i) => f(Math.floor(i / 96) / 31)),
      [1, 32, 32, 3],
    );
  const sky = rows((t) => -0.6 + 1.2 * t); // a smooth ramp of light, top to bottom

  it('is zero for any translation that keeps the ramp rising: another tone curve, a colour cast', () => {
    expect(lumaOrderLoss(sky, sky).dataSync()[0]).toBeCloseTo(0, 6);
    expect(
      lumaOrderLoss(
        rows((t) => 0.9 * t ** 2),
        sky,
      ).dataSync()[0],
    ).toBeCloseTo(0, 6);
    const dusk = rows((t) => 0.6 - 1.2 * t); // falling, and a translation falling with it
    expect(
      lumaOrderLoss(
        rows((t) => 0.5 - t),
        dusk,
      ).dataSync()[0],
    ).toBeCloseTo(0, 6);
    expect(lumaOrderLoss(sky, dusk).dataSync()[0]).toBeGreaterThan(0.01);
    const tinted = tf.add(sky, tf.tensor4d([0.3, 0, -0.3], [1, 1, 1, 3])) as tf.Tensor4D;
    expect(lumaOrderLoss(tinted, sky).dataSync()[0]).toBeCloseTo(0, 6);
  });

  it('prices bands along the ramp, and its gradient evens them out', () => {
    const bands = rows((t) => -0.6 + 1.2 * t + 0.3 * Math.sin(6 * Math.PI * t));
    const loss = lumaOrderLoss(bands, sky).dataSync()[0]!;
    expect(loss).toBeGreaterThan(0.005);
    const gradient = tf.grad((x: tf.Tensor) => lumaOrderLoss(x as tf.Tensor4D, sky))(bands);
    const stepped = tf.sub(bands, tf.mul(0.5, gradient)) as tf.Tensor4D;
    expect(lumaOrderLoss(stepped, sky).dataSync()[0]!).toBeLessThan(loss);
  });

  it('leaves flat areas free: texture where the photo has no clear slope costs nothing', () => {
    // The photo's own faint grain (steps of block means well under the 0.004 threshold) sets no order.
    const grainy = rows((t) => 0.1 + 0.002 * Math.sin(40 * t));
    const texture = rows((t) => 0.3 * Math.sin(20 * t));
    expect(lumaOrderLoss(texture, grainy).dataSync()[0]).toBeCloseTo(0, 6);
  });
});

describe('smoothChromaLoss', () => {
  /** A 1×32×32×3 image whose colour at row y is f(y / 31), in [-1, 1]. */
  const rows = (f: (t: number) => [number, number, number]) =>
    tf.tensor4d(
      Array.from({ length: 32 * 32 * 3 }, (_, i) => f(Math.floor(i / 96) / 31)[i % 3]!),
      [1, 32, 32, 3],
    );
  // A dusk sky: light ramping up, its hue nearly constant.
  const sky = rows((t) => [-0.2 + 0.6 * t, -0.3 + 0.6 * t, 0.1 + 0.6 * t]);

  it('is zero for a recolouring that stays smooth: another flat tint, a brighter ramp', () => {
    expect(smoothChromaLoss(sky, sky).dataSync()[0]).toBeCloseTo(0, 6);
    expect(
      smoothChromaLoss(
        rows((t) => [0.3 + 0.5 * t, 0.1 + 0.5 * t, -0.2 + 0.5 * t]),
        sky,
      ).dataSync()[0],
    ).toBeCloseTo(0, 5);
  });

  it('prices bands of hue across the smooth sky, and its gradient evens them out', () => {
    const bands = rows((t) => {
      const s = 0.3 * Math.sin(6 * Math.PI * t);
      return [-0.2 + 0.6 * t + s, -0.3 + 0.6 * t, 0.1 + 0.6 * t - s];
    });
    const loss = smoothChromaLoss(bands, sky).dataSync()[0]!;
    expect(loss).toBeGreaterThan(0.01);
    const gradient = tf.grad((x: tf.Tensor) => smoothChromaLoss(x as tf.Tensor4D, sky))(bands);
    expect(smoothChromaLoss(tf.sub(bands, tf.mul(0.5, gradient)) as tf.Tensor4D, sky).dataSync()[0]!).toBeLessThan(loss);
  });

  it('leaves hue edges free where the photo has them', () => {
    const split = rows((t) => (t < 0.5 ? [0.6, -0.4, -0.4] : [-0.4, -0.4, 0.6])); // red over blue
    const recoloured = rows((t) => (t < 0.5 ? [-0.4, 0.6, -0.4] : [0.6, 0.6, -0.4])); // green over yellow
    expect(smoothChromaLoss(recoloured, split).dataSync()[0]).toBeCloseTo(0, 6);
  });
});
