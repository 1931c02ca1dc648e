import { describe, expect, it } from 'vitest';
import {
  HELD_OUT_COUNT,
  MNIST_CLASSES,
  MNIST_PIXELS,
  digitsOfClass,
  loadMnistDigits,
  splitMnist,
  stratifiedQuotas,
} from '../../training/data/mnist.ts';

function classCounts(labels: Int32Array): number[] {
  const counts = new Array<number>(MNIST_CLASSES).fill(0);
  for (const label of labels) counts[label]! += 1;
  return counts;
}

/** A content fingerprint of each image, to compare sets without relying on order. */
function fingerprints(images: Float32Array, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const image = images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
    let hash = 0;
    for (let p = 0; p < image.length; p++) hash = (Math.imul(hash, 31) + Math.round((image[p]! + 1) * 500)) | 0;
    return `${hash}`;
  });
}

describe('MNIST loading', () => {
  it('gives 10,000 white-on-black digits in [-1, 1] with labels 0–9', () => {
    const all = loadMnistDigits();
    expect(all.count).toBe(10_000);
    expect(all.images.length).toBe(10_000 * MNIST_PIXELS);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of all.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    expect(min).toBe(-1);
    expect(max).toBe(1);
    // Mostly black background: the mean pixel sits well below 0.
    expect(sum / all.images.length).toBeLessThan(-0.6);
    expect(classCounts(all.labels).every((c) => c > 800 && c < 1200)).toBe(true);
  });
});

describe('MNIST split', () => {
  it('holds out 1,500 digits, disjoint from the 8,500 training digits', () => {
    const { train, heldOut } = splitMnist();
    expect(heldOut.count).toBe(HELD_OUT_COUNT);
    expect(train.count).toBe(8500);
    const trainPrints = new Set(fingerprints(train.images, train.count));
    const overlap = fingerprints(heldOut.images, heldOut.count).filter((f) => trainPrints.has(f));
    // MNIST has a handful of exact duplicates at most; a leaking split would overlap by hundreds.
    expect(overlap.length).toBeLessThan(5);
  });

  it('is stratified: every class is held out in proportion to its size', () => {
    const all = classCounts(loadMnistDigits().labels);
    const held = classCounts(splitMnist().heldOut.labels);
    held.forEach((count, label) => {
      expect(Math.abs(count - (all[label]! * HELD_OUT_COUNT) / 10_000)).toBeLessThan(1);
    });
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const first = splitMnist({ seed: 7 });
    const again = splitMnist({ seed: 7 });
    const other = splitMnist({ seed: 8 });
    expect(Buffer.from(again.heldOut.images.buffer).equals(Buffer.from(first.heldOut.images.buffer))).toBe(true);
    expect(Array.from(again.heldOut.labels)).toEqual(Array.from(first.heldOut.labels));
    expect(Buffer.from(other.heldOut.images.buffer).equals(Buffer.from(first.heldOut.images.buffer))).toBe(false);
  });

  it('rejects an impossible held-out size', () => {
    expect(() => splitMnist({ heldOut: 20_000 })).toThrow(/heldOut/);
  });

  it('selects the digits of one class', () => {
    const sevens = digitsOfClass(splitMnist().heldOut, 7);
    expect(sevens.count).toBeGreaterThan(100);
    expect(sevens.labels.every((l) => l === 7)).toBe(true);
  });
});

describe('stratifiedQuotas', () => {
  it('splits a total in proportion, summing exactly', () => {
    expect(stratifiedQuotas([10, 10, 10], 3)).toEqual([1, 1, 1]);
    expect(stratifiedQuotas([1, 1, 1], 2)).toEqual([1, 1, 0]);
    expect(stratifiedQuotas([50, 30, 20], 10)).toEqual([5, 3, 2]);
    expect(stratifiedQuotas([7, 2, 1], 5).reduce((a, b) => a + b)).toBe(5);
  });
});
