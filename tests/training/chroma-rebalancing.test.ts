/** Colour rebalancing weights (Zhang et al. 2016) on targets whose histogram is known. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChromaRebalancing } from '../../training/data/pairs/chroma-rebalancing.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** `count` pixels of one a*b* colour, interleaved. */
const pixels = (a: number, b: number, count: number) => Array.from({ length: count }, () => [a, b]).flat();

describe('ChromaRebalancing', () => {
  // 90 % near-grey, 10 % saturated red: the paper's situation in miniature.
  const targets = Float32Array.from([...pixels(0.01, 0.01, 900), ...pixels(0.7, 0.5, 100)]);

  it('weighs a rare colour above a common one, with expectation 1 over the training colours', () => {
    const rebalancing = ChromaRebalancing.fromTargets(targets, { uniformShare: 0.5, bins: 10, sigma: 0.01 });
    const [grey, red] = Array.from(rebalancing.pixelWeights(tf.tensor4d([0.01, 0.01, 0.7, 0.5], [1, 1, 2, 2])).dataSync());
    // Two occupied cells (Q = 2): w ∝ 1 / (0.5·p + 0.5/2), so red/grey = (0.45 + 0.25) / (0.05 + 0.25).
    expect(red! / grey!).toBeCloseTo(7 / 3, 4);
    expect(0.9 * grey! + 0.1 * red!).toBeCloseTo(1, 5);
  });

  it('gives every colour weight 1 when the mix is all uniform, and to cells no target reached', () => {
    const uniform = ChromaRebalancing.fromTargets(targets, { uniformShare: 1, bins: 10 });
    for (const w of uniform.weights) expect(w).toBeCloseTo(1, 6);
    const rebalancing = ChromaRebalancing.fromTargets(targets, { uniformShare: 0.5, bins: 10, sigma: 0.01 });
    const [unseen] = Array.from(rebalancing.pixelWeights(tf.tensor4d([-0.9, 0.9], [1, 1, 1, 2])).dataSync());
    expect(unseen).toBe(1);
  });

  it('maps each pixel to its cell, the edges ±1 included, as [N, H, W, 1]', () => {
    const rebalancing = ChromaRebalancing.fromTargets(Float32Array.from([...pixels(1, 1, 10), ...pixels(-1, -1, 30)]), {
      uniformShare: 0.5,
      bins: 4,
      sigma: 0.01,
    });
    const weights = rebalancing.pixelWeights(tf.tensor4d([1, 1, -1, -1, 0.9, 0.99, -0.99, -0.6], [2, 2, 1, 2]));
    expect(weights.shape).toEqual([2, 2, 1, 1]);
    const [top, bottom, top2, bottom2] = Array.from(weights.dataSync());
    expect(top2).toBe(top);
    expect(bottom2).toBe(bottom);
    expect(top!).toBeGreaterThan(bottom!);
  });

  it('refuses a uniform share outside (0, 1] and empty targets', () => {
    expect(() => ChromaRebalancing.fromTargets(targets, { uniformShare: 0 })).toThrow(/uniform share/);
    expect(() => ChromaRebalancing.fromTargets(new Float32Array(0), { uniformShare: 0.5 })).toThrow(/at least one/);
  });
});
