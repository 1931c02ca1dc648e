import { describe, expect, it } from 'vitest';
import { accuracy, argmaxRows, diversityRatio, meanOf, meanPairwiseDistance, perClassAccuracy } from '../../training/eval/metrics.ts';
import { inkMass, measureBatch, slant } from '../../training/eval/measures.ts';

describe('accuracy metrics', () => {
  it('computes overall and per-class accuracy', () => {
    const labels = [0, 0, 1, 1, 2, 2, 2, 2];
    const predicted = [0, 1, 1, 1, 2, 0, 2, 2];
    expect(accuracy(predicted, labels)).toBe(6 / 8);
    expect(perClassAccuracy(predicted, labels, 4)).toEqual([0.5, 1, 0.75, Number.NaN]);
  });

  it('rejects mismatched lengths and out-of-range labels', () => {
    expect(() => accuracy([1], [1, 2])).toThrow();
    expect(() => perClassAccuracy([0], [5], 3)).toThrow(/label 5/);
  });

  it('takes the argmax of each row', () => {
    expect(Array.from(argmaxRows([0.1, 0.9, 0, 3, -1, 2], 3))).toEqual([1, 0]);
  });

  it('averages ignoring NaN', () => {
    expect(meanOf([1, Number.NaN, 3])).toBe(2);
  });
});

describe('diversity metrics', () => {
  it('gives the mean Euclidean distance over all pairs', () => {
    // Points (0,0), (3,4), (0,4): distances 5, 4, 3.
    expect(meanPairwiseDistance([0, 0, 3, 4, 0, 4], 2)).toBeCloseTo(4, 10);
  });

  it('is 0 for collapsed features and NaN with fewer than two', () => {
    expect(meanPairwiseDistance([1, 2, 1, 2, 1, 2], 2)).toBe(0);
    expect(meanPairwiseDistance([1, 2], 2)).toBeNaN();
  });

  it('rates a collapsed generator near 0 and a matching one near 1', () => {
    const real = [0, 0, 3, 4, 0, 4];
    expect(diversityRatio([1, 1, 1, 1, 1, 1], real, 2)).toBe(0);
    expect(diversityRatio([10, 10, 13, 14, 10, 14], real, 2)).toBeCloseTo(1, 10);
    expect(diversityRatio([0, 0, 6, 8, 0, 8], real, 2)).toBeCloseTo(2, 10);
  });
});

/** A 28×28 black image with white pixels where `ink(x, y)` is true. */
function drawImage(ink: (x: number, y: number) => boolean): Float32Array {
  const image = new Float32Array(28 * 28).fill(-1);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) if (ink(x, y)) image[y * 28 + x] = 1;
  return image;
}

const vertical = drawImage((x, y) => y >= 4 && y < 24 && x === 14);
const thickVertical = drawImage((x, y) => y >= 4 && y < 24 && x >= 13 && x <= 15);
// Top to the right: x grows as y (row) goes up.
const rightLeaning = drawImage((x, y) => y >= 4 && y < 24 && x === Math.round(14 + (14 - y) * 0.4));
const leftLeaning = drawImage((x, y) => y >= 4 && y < 24 && x === Math.round(14 - (14 - y) * 0.4));

describe('image measures', () => {
  it('measures ink as mean intensity in [0, 1]', () => {
    expect(inkMass(new Float32Array(784).fill(-1))).toBe(0);
    expect(inkMass(new Float32Array(784).fill(1))).toBe(1);
    expect(inkMass(vertical)).toBeCloseTo(20 / 784, 10);
  });

  it('gives a thick stroke more ink than a thin one', () => {
    expect(inkMass(thickVertical)).toBeGreaterThan(2.5 * inkMass(vertical));
  });

  it('gives a right-leaning stroke a positive slant, a vertical one none, a left-leaning one negative', () => {
    expect(slant(vertical, 28)).toBeCloseTo(0, 10);
    expect(slant(rightLeaning, 28)).toBeGreaterThan(0.3);
    expect(slant(rightLeaning, 28)).toBeLessThan(0.5);
    expect(slant(leftLeaning, 28)).toBeLessThan(-0.3);
  });

  it('gives a blank image and a flat line zero slant', () => {
    expect(slant(new Float32Array(784).fill(-1), 28)).toBe(0);
    expect(
      slant(
        drawImage((x, y) => y === 10 && x > 3 && x < 20),
        28,
      ),
    ).toBe(0);
  });

  it('measures a packed batch', () => {
    const batch = new Float32Array(3 * 784);
    batch.set(vertical, 0);
    batch.set(thickVertical, 784);
    batch.set(rightLeaning, 2 * 784);
    const { ink, slant: slants } = measureBatch(batch, 3, 28);
    expect(ink[1]).toBeGreaterThan(ink[0]!);
    expect(slants[2]).toBeGreaterThan(slants[0]!);
    expect(() => measureBatch(batch, 2, 28)).toThrow();
  });
});
