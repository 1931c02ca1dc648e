import { describe, expect, it } from 'vitest';
import { medianDifferenceInterval, percentile } from '../../scripts/bench/stats.ts';
import { mulberry32 } from '../helpers/image-models.ts';

describe('percentile (nearest rank)', () => {
  it('picks the value at rank ceil(p·n), from unsorted input, without sorting it in place', () => {
    const values = [40, 10, 30, 20];
    expect(percentile(values, 0.5)).toBe(20);
    expect(percentile(values, 0.95)).toBe(40);
    expect(percentile(values, 0)).toBe(10);
    expect(percentile(values, 1)).toBe(40);
    expect(values).toEqual([40, 10, 30, 20]);
    expect(percentile([5, 1, 3], 0.5)).toBe(3);
  });

  it('is NaN for no values', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('medianDifferenceInterval (bootstrap)', () => {
  it('is a point for constant samples', () => {
    expect(medianDifferenceInterval([5, 5, 5], [2, 2, 2])).toEqual([3, 3]);
  });

  it('brackets the true shift of two skewed samples about 95 % of the time, wider with fewer samples', () => {
    const random = mulberry32(9);
    const noisy = (n: number, shift: number) => Array.from({ length: n }, () => 200 + shift + 60 * random() ** 3);
    const trials = Array.from({ length: 40 }, () => medianDifferenceInterval(noisy(200, 10), noisy(200, 0), 500));
    const covered = trials.filter(([low, high]) => low <= 10 && high >= 10).length;
    expect(covered).toBeGreaterThanOrEqual(34);
    const width = ([low, high]: [number, number]) => high - low;
    const fewSamples = medianDifferenceInterval(noisy(25, 10), noisy(25, 0), 500);
    expect(width(fewSamples)).toBeGreaterThan(Math.max(...trials.map(width)));
  });

  it('gives the same interval for the same samples and seed', () => {
    const a = [3, 9, 4, 7, 1, 8];
    const b = [2, 6, 5, 0, 3, 1];
    expect(medianDifferenceInterval(a, b)).toEqual(medianDifferenceInterval(a, b));
  });
});
