/**
 * The conv filter layouts prepared once per filter value (training/backend/filter-layouts.ts):
 * each layout against tfjs's own transpose and reverse, the cache (one preparation per value,
 * shared by a conv and its input gradient), and that a new value of the same shape is never
 * served a stale copy, also when its slot is reused.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputGradFormulation } from '../../training/backend/conv-kernels.ts';
import { type FilterLayout, filterLayoutSlots, filterLayoutStats, rearrangeFilter } from '../../training/backend/filter-layouts.ts';
import { compareWithCpu, randomValues, runOn, TOLERANCE, use } from './backend-parity.ts';

beforeAll(async () => {
  await use('wasm-ort');
});

afterAll(async () => {
  await use('wasm-ort');
});

const filter = (shape: number[], seed: number) =>
  tf.tensor4d(
    randomValues(
      shape.reduce((a, b) => a * b),
      seed,
    ),
    shape as [number, number, number, number],
  );

describe('rearrangeFilter', () => {
  // A non-square kernel and distinct sizes, so any axis mix-up changes the result; 17 × 20
  // channels also cross the 16-wide tiles.
  const shape = [3, 2, 17, 20];
  const expected: Record<FilterLayout, (w: tf.Tensor4D) => tf.Tensor> = {
    oihw: (w) => tf.transpose(w, [3, 2, 0, 1]),
    flippedIohw: (w) => tf.transpose(tf.reverse(w, [0, 1]), [2, 3, 0, 1]),
    flippedHwoi: (w) => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]),
  };
  it.each(Object.keys(expected) as FilterLayout[])('%s matches tf.transpose (and tf.reverse)', async (layout) => {
    const [want] = await runOn('cpu', () => expected[layout](filter(shape, 1)));
    const source = Float32Array.from(
      randomValues(
        shape.reduce((a, b) => a * b),
        1,
      ),
    );
    expect(Array.from(rearrangeFilter(source, shape, layout))).toEqual(Array.from(want!));
  });
});

describe('prepared filters on wasm-ort', () => {
  it('prepares a filter once for its forward conv and its input gradient (ConvTranspose reads OIHW too)', async () => {
    const info = tf.backend_util.computeConv2DInfo([1, 12, 12, 8], [3, 3, 8, 16], 2, 1, 'same');
    expect(inputGradFormulation(info)).toBe('convTranspose');
    await use('wasm-ort');
    const before = filterLayoutStats.prepared;
    tf.tidy(() => {
      const w = filter([3, 3, 8, 16], 2);
      const x = filter([1, 12, 12, 8], 3);
      // Two applications (like the PatchGAN's), each with its input gradient: four kernel calls.
      const gradient = tf.grad((input: tf.Tensor) =>
        tf.add(tf.sum(tf.conv2d(input as tf.Tensor4D, w, 2, 'same')), tf.sum(tf.square(tf.conv2d(input as tf.Tensor4D, w, 2, 'same')))),
      );
      gradient(x).dataSync();
    });
    expect(filterLayoutStats.prepared - before).toBe(1);
  });

  it('never serves a stale copy: new values of the same shape, their old tensors freed', async () => {
    const shape = [3, 3, 6, 10];
    for (let round = 0; round < 4; round += 1) {
      const { error, delegated } = await compareWithCpu(tf.Conv2D, () =>
        tf.conv2d(filter([2, 9, 9, 6], 10 + round), filter(shape, 20 + round), 1, 'same'),
      );
      expect(delegated).toBe(1);
      expect(error).toBeLessThan(TOLERANCE);
    }
    // Each round's filter was freed before the next one came: one slot served all four.
    expect(filterLayoutSlots(shape, 'oihw')).toBe(1);
  });

  it('keeps a copy per filter alive at once', async () => {
    const shape = [3, 3, 5, 7];
    const { error } = await compareWithCpu(tf.Conv2D, () => {
      const x = filter([1, 8, 8, 5], 30);
      const [a, b, c] = [31, 32, 33].map((seed) => filter(shape, seed));
      return [tf.conv2d(x, a!, 1, 'same'), tf.conv2d(x, b!, 1, 'same'), tf.conv2d(x, c!, 1, 'same'), tf.conv2d(x, a!, 1, 'same')];
    });
    expect(error).toBeLessThan(TOLERANCE);
    expect(filterLayoutSlots(shape, 'oihw')).toBe(3);
  });
});
