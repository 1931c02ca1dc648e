import { describe, expect, it } from 'vitest';
import { percentile } from '../../scripts/bench/stats.ts';

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
