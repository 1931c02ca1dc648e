import { beforeAll, describe, expect, it } from 'vitest';
import { PixelKernels } from '../../server/imaging/pixel-kernels.ts';
import { fromTensor, toTensor, type HwcImage } from '../../server/imaging/tensor.ts';
import type { Layout, PixelRange } from '../../server/models/manifest.ts';
import { mulberry32 } from '../helpers/image-models.ts';

const LAYOUTS: Layout[] = ['NCHW', 'NHWC'];
const RANGES: PixelRange[] = [
  [-1, 1],
  [0, 1],
  [0, 255],
];
/** 1×1 and 15×1 have only a scalar tail; 16×1 only full vectors; the others both. */
const SIZES: Array<[number, number]> = [
  [1, 1],
  [15, 1],
  [16, 1],
  [17, 3],
  [64, 33],
  [127, 45],
];

function randomImage(width: number, height: number, channels: number, seed: number): HwcImage {
  const random = mulberry32(seed);
  return { width, height, channels, data: Uint8Array.from({ length: width * height * channels }, () => Math.floor(random() * 256)) };
}

/**
 * Model outputs that probe every branch of the byte conversion: values spread over and past the
 * range, exact ties between two bytes (rounding half to even), NaN, ±Infinity and −0.
 */
function awkwardOutput(length: number, range: PixelRange, seed: number): Float32Array {
  const random = mulberry32(seed);
  const [low, high] = range;
  const special = [Number.NaN, Infinity, -Infinity, -0, low, high, low - 1, high + 1, 1e30, -1e30];
  return Float32Array.from({ length }, (_, i) => {
    if (i % 7 === 3) return special[(i >> 3) % special.length]!;
    if (i % 5 === 1) return low + ((Math.floor(random() * 255) + 0.5) / 255) * (high - low); // a tie, as far as f32 allows
    return low - 0.2 * (high - low) + random() * 1.4 * (high - low);
  });
}

const bytesOf = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

/** Index of the first byte where a and b differ (−1 when equal): a readable failure, and fast. */
function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const index = a.findIndex((byte, i) => byte !== b[i]);
  return index >= 0 ? index : Math.min(a.length, b.length);
}

describe('PixelKernels', () => {
  let kernels: PixelKernels;
  beforeAll(async () => {
    kernels = await PixelKernels.load();
  });

  describe.each(LAYOUTS)('%s', (layout) => {
    it.each(RANGES.map((range) => ({ range })))('toTensor equals the JavaScript version bit for bit in range $range', ({ range }) => {
      for (const [width, height] of SIZES) {
        const image = randomImage(width, height, 3, width * 31 + height);
        const expected = toTensor(image, layout, range, 3);
        const actual = kernels.toTensor(image, layout, range, 3);
        expect(actual.dims).toEqual(expected.dims);
        expect(firstDifference(bytesOf(actual.data), bytesOf(expected.data))).toBe(-1);
      }
    });

    it.each(RANGES.map((range) => ({ range })))('fromTensor equals the JavaScript version byte for byte in range $range', ({ range }) => {
      for (const [width, height] of SIZES) {
        const dims = layout === 'NCHW' ? [1, 3, height, width] : [1, height, width, 3];
        const tensor = { data: awkwardOutput(width * height * 3, range, width + height), dims };
        const actual = kernels.fromTensor(tensor, layout, range);
        const expected = fromTensor(tensor, layout, range);
        expect({ ...actual, data: null }).toEqual({ ...expected, data: null });
        expect(firstDifference(bytesOf(actual.data), bytesOf(expected.data))).toBe(-1);
      }
    });
  });

  it('rounds exact ties half to even, as a Uint8ClampedArray store does', () => {
    // Range [0, 255] maps values to bytes unchanged, so 0.5, 1.5, … are exact ties.
    const values = Float32Array.from({ length: 48 }, (_, i) => i + 0.5);
    const image = kernels.fromTensor({ data: values, dims: [1, 4, 4, 3] }, 'NHWC', [0, 255]);
    expect(Array.from(image.data)).toEqual(Array.from(values, (v) => (Math.floor(v) % 2 === 0 ? Math.floor(v) : Math.ceil(v))));
  });

  it('leaves one-channel models, grey inputs and one-channel outputs to the JavaScript loops, with the same results', () => {
    const rgb = randomImage(19, 7, 3, 1);
    const grey = randomImage(19, 7, 1, 2);
    for (const layout of LAYOUTS) {
      expect(Array.from(kernels.toTensor(rgb, layout, [-1, 1], 1).data)).toEqual(Array.from(toTensor(rgb, layout, [-1, 1], 1).data));
      expect(Array.from(kernels.toTensor(grey, layout, [0, 1], 3).data)).toEqual(Array.from(toTensor(grey, layout, [0, 1], 3).data));
      const oneChannel = { data: awkwardOutput(19 * 7, [-1, 1], 3), dims: layout === 'NCHW' ? [1, 1, 7, 19] : [1, 7, 19, 1] };
      expect(kernels.fromTensor(oneChannel, layout, [-1, 1])).toEqual(fromTensor(oneChannel, layout, [-1, 1]));
    }
  });

  it('rejects tensors of the wrong shape with the JavaScript version’s errors', () => {
    expect(() => kernels.fromTensor({ data: new Float32Array(12), dims: [3, 2, 2] }, 'NCHW', [-1, 1])).toThrow(/4-D image tensor/);
    expect(() => kernels.fromTensor({ data: new Float32Array(11), dims: [1, 3, 2, 2] }, 'NCHW', [-1, 1])).toThrow(
      /fewer than its dims say/,
    );
    expect(() => kernels.fromTensor({ data: new Float32Array(16), dims: [1, 4, 2, 2] }, 'NCHW', [-1, 1])).toThrow(/1 or 3 output channels/);
  });

  it('returns pixels in a buffer of their own and keeps one memory that only grows', () => {
    const big = randomImage(300, 200, 3, 4);
    const first = kernels.fromTensor(kernels.toTensor(big, 'NCHW', [-1, 1], 3), 'NCHW', [-1, 1]);
    expect(firstDifference(bytesOf(first.data), bytesOf(big.data))).toBe(-1);
    const held = kernels.byteLength;
    const second = kernels.fromTensor(kernels.toTensor(randomImage(30, 20, 3, 5), 'NHWC', [0, 255], 3), 'NHWC', [0, 255]);
    expect(kernels.byteLength).toBe(held);
    expect(second.data.buffer).not.toBe(first.data.buffer);
    expect(firstDifference(bytesOf(first.data), bytesOf(big.data))).toBe(-1); // untouched by the later call
  });

  it('writes the pixels into a buffer it is given when that is large enough, and into a fresh one otherwise', () => {
    const image = randomImage(17, 5, 3, 6);
    const tensor = kernels.toTensor(image, 'NCHW', [-1, 1], 3);
    const roomy = new ArrayBuffer(17 * 5 * 3 + 10);
    const into = kernels.fromTensor(tensor, 'NCHW', [-1, 1], roomy);
    expect(into.data.buffer).toBe(roomy);
    expect([into.data.byteOffset, into.data.length]).toEqual([0, 17 * 5 * 3]);
    expect(firstDifference(bytesOf(into.data), bytesOf(image.data))).toBe(-1);
    const tooSmall = new ArrayBuffer(17 * 5 * 3 - 1);
    const fresh = kernels.fromTensor(kernels.toTensor(image, 'NCHW', [-1, 1], 3), 'NCHW', [-1, 1], tooSmall);
    expect(fresh.data.buffer).not.toBe(tooSmall);
    expect(firstDifference(bytesOf(fresh.data), bytesOf(image.data))).toBe(-1);
  });
});
