/**
 * The conv filter layouts prepared once per filter value (training/backend/filter-layouts.ts):
 * each layout against tfjs's own transpose and reverse, the cache (one preparation per value,
 * shared by a conv and its input gradient), and that a new value of the same shape is never
 * served a stale copy, also when its slot is reused.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputGradFormulation } from '../../training/backend/conv-kernels.ts';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type FilterLayout, filterLayoutSlots, filterLayoutStats, preparedFilter } from '../../training/backend/filter-layouts.ts';
import { nchwcBlockSize, useNchwc } from '../../training/backend/nchwc.ts';
import { compareWithCpu, randomValues, runOn, TOLERANCE, use } from './backend-parity.ts';

beforeAll(async () => {
  await use('wasm-ort');
});

afterAll(async () => {
  await use('wasm-ort');
});

type Shape4 = [number, number, number, number];

const filter = (shape: number[], seed: number) =>
  tf.tensor4d(
    randomValues(
      shape.reduce((a, b) => a * b),
      seed,
    ),
    shape as [number, number, number, number],
  );

/** The prepared copy of a filter (made on wasm-ort) read back from the heap. */
function prepared(shape: number[], seed: number, layout: FilterLayout): Float32Array {
  const backend = tf.backend() as BackendWasm;
  const w = filter(shape, seed);
  const values = Float32Array.from(backend.typedArrayFromHeap(preparedFilter(backend, w, layout)) as Float32Array);
  w.dispose();
  return values;
}

describe('filter layouts, written by the SIMD block transposes and copies', () => {
  // Non-square kernels and odd sizes, so any axis mix-up changes the result and the transposes'
  // element-wise edges (rows or columns beyond a multiple of 4) are crossed.
  const expected: Record<Exclude<FilterLayout, 'nchwc' | 'flippedNchwc'>, (w: tf.Tensor4D) => tf.Tensor> = {
    oihw: (w) => tf.transpose(w, [3, 2, 0, 1]),
    flippedIohw: (w) => tf.transpose(tf.reverse(w, [0, 1]), [2, 3, 0, 1]),
    flippedHwoi: (w) => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]),
  };
  it.each(
    (Object.keys(expected) as Array<keyof typeof expected>).flatMap((layout) => [
      [layout, [3, 2, 17, 20]],
      [layout, [2, 3, 5, 7]],
      [layout, [4, 4, 8, 12]],
    ]) as Array<[keyof typeof expected, number[]]>,
  )('%s of %j matches tf.transpose (and tf.reverse)', async (layout, shape) => {
    const [want] = await runOn('cpu', () => expected[layout](filter(shape, 1)));
    await use('wasm-ort');
    expect(Array.from(prepared(shape, 1, layout))).toEqual(Array.from(want!));
  });

  // MLAS's OIHWBiBo blocks, from HWIO [kh, kw, ci, co] split as [kh, kw, ci/B, B, co/B, B].
  const block = nchwcBlockSize();
  const blocked: Record<'nchwc' | 'flippedNchwc', (w: tf.Tensor4D) => tf.Tensor> = {
    nchwc: (w) => tf.transpose(tf.reshape(w, [3, 2, 32 / block, block, 48 / block, block]), [4, 2, 0, 1, 3, 5]),
    flippedNchwc: (w) => tf.transpose(tf.reshape(tf.reverse(w, [0, 1]), [3, 2, 32 / block, block, 48 / block, block]), [2, 4, 0, 1, 5, 3]),
  };
  it.runIf(block > 0).each(['nchwc', 'flippedNchwc'] as const)('%s matches tf.reshape + tf.transpose', async (layout) => {
    const [want] = await runOn('cpu', () => blocked[layout](filter([3, 2, 32, 48], 2)));
    await use('wasm-ort');
    expect(Array.from(prepared([3, 2, 32, 48], 2, layout))).toEqual(Array.from(want!));
  });

  it.runIf(block > 0)('refuses an NCHWc layout whose block does not divide the channels', async () => {
    await use('wasm-ort');
    expect(() => prepared([3, 3, 24, block], 3, 'nchwc')).toThrow(/NCHWc block size dividing 24/);
  });
});

describe('prepared filters on wasm-ort', () => {
  /** Preparations for two applications of one filter (like the PatchGAN's), each with its dx. */
  function preparationsForTwoApplications(xShape: Shape4, filterShape: Shape4, stride: number): number {
    const before = filterLayoutStats.prepared;
    tf.tidy(() => {
      const w = filter(filterShape, 2);
      const gradient = tf.grad((input: tf.Tensor) =>
        tf.add(
          tf.sum(tf.conv2d(input as tf.Tensor4D, w, stride, 'same')),
          tf.sum(tf.square(tf.conv2d(input as tf.Tensor4D, w, stride, 'same'))),
        ),
      );
      gradient(filter(xShape, 3)).dataSync();
    });
    return filterLayoutStats.prepared - before;
  }

  it('prepares a filter once for its forward conv and its input gradient (ConvTranspose reads OIHW too)', async () => {
    await use('wasm-ort');
    useNchwc(false);
    try {
      const info = tf.backend_util.computeConv2DInfo([1, 12, 12, 8], [3, 3, 8, 16], 2, 1, 'same');
      expect(inputGradFormulation(info)).toBe('convTranspose');
      expect(preparationsForTwoApplications([1, 12, 12, 8], [3, 3, 8, 16], 2)).toBe(1);
    } finally {
      useNchwc(true);
    }
  });

  it.runIf(nchwcBlockSize() > 0)('prepares the two NCHWc layouts once each (forward conv, flipped conv for dx)', async () => {
    await use('wasm-ort');
    const info = tf.backend_util.computeConv2DInfo([1, 12, 12, 16], [3, 3, 16, 32], 1, 1, 'same');
    expect(inputGradFormulation(info)).toBe('nchwcFlippedConv');
    expect(preparationsForTwoApplications([1, 12, 12, 16], [3, 3, 16, 32], 1)).toBe(2);
    expect([filterLayoutSlots([3, 3, 16, 32], 'nchwc'), filterLayoutSlots([3, 3, 16, 32], 'flippedNchwc')]).toEqual([1, 1]);
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
