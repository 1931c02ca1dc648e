/**
 * Improved precision and recall on synthetic point clouds with known answers: a generated set that
 * is a subset of the reals is fully precise; a collapsed one recalls almost nothing; a far-away one
 * is neither precise nor recalling; the k-NN radii on a line are exact.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../training/data/random.ts';
import { kthNeighbourRadii, precisionRecall } from '../../training/eval/precision-recall.ts';

const DIM = 8;

function cloud(count: number, seed: number, centre = 0): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length: count * DIM }, () => centre + random() * 2 - 1);
}

describe('kthNeighbourRadii', () => {
  it('gives the squared distance to the k-th nearest other point', () => {
    // Points on a line at 0, 1, 3, 7.
    const points = Float64Array.from([0, 1, 3, 7]);
    expect([...kthNeighbourRadii(points, 1, 1)]).toEqual([1, 1, 4, 16]);
    expect([...kthNeighbourRadii(points, 1, 2)]).toEqual([9, 4, 9, 36]);
    expect(() => kthNeighbourRadii(points, 1, 4)).toThrow(/k must be/);
  });
});

describe('precisionRecall', () => {
  const real = cloud(400, 1);

  it('rates generated samples drawn from the reals fully precise, and a subset covering half the reals about half recalled', () => {
    const half = real.slice(0, 200 * DIM);
    const { precision, recall } = precisionRecall(real, half, DIM);
    expect(precision).toBe(1);
    expect(recall).toBeGreaterThan(0.5);
    expect(recall).toBeLessThan(1);
  });

  it('rates a fresh draw of the same distribution high on both', () => {
    const { precision, recall } = precisionRecall(real, cloud(400, 2), DIM);
    expect(precision).toBeGreaterThan(0.8);
    expect(recall).toBeGreaterThan(0.8);
  });

  it('rates a collapsed generated set precise but with recall near 0', () => {
    const collapsed = new Float64Array(400 * DIM);
    for (let i = 0; i < 400; i++) collapsed.set(real.subarray(0, DIM), i * DIM);
    const { precision, recall } = precisionRecall(real, collapsed, DIM);
    expect(precision).toBe(1);
    // The generated balls have radius 0: only the one real point they sit on is covered.
    expect(recall).toBe(1 / 400);
  });

  it('rates a set far from the reals 0 on both', () => {
    expect(precisionRecall(real, cloud(400, 3, 10), DIM)).toEqual({ precision: 0, recall: 0 });
  });
});
