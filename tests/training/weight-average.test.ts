/** The generator weight average: its start, its update rule with the early ramp, and its guards. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { WeightAverage, weightAverageFor } from '../../training/nets/weight-average.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A one-layer model whose kernel and bias are filled with `value`. */
function dense(value: number, units = 3): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.dense({ units, inputShape: [2] })] });
  model.setWeights(model.getWeights().map((w) => tf.fill(w.shape, value)));
  return model;
}

const valuesOf = (model: tf.LayersModel) => model.getWeights().flatMap((w) => Array.from(w.dataSync()));

describe('WeightAverage', () => {
  it('starts as a copy of the trained model, whatever the shadow was built with', () => {
    const average = new WeightAverage(dense(2), dense(-7), 0.999);
    expect(new Set(valuesOf(average.shadow))).toEqual(new Set([2]));
  });

  it('moves by (1 − β) toward the trained weights, with β ramping up as (1 + step) / (10 + step)', () => {
    const source = dense(0);
    const average = new WeightAverage(source, dense(0), 0.5);
    source.setWeights(source.getWeights().map((w) => tf.onesLike(w)));
    average.update(0); // β = min(0.5, 1/10) = 0.1: w̄ = 0.1·0 + 0.9·1
    for (const v of valuesOf(average.shadow)) expect(v).toBeCloseTo(0.9, 6);
    source.setWeights(source.getWeights().map((w) => tf.fill(w.shape, 3)));
    average.update(100); // β = min(0.5, 101/110) = 0.5: w̄ = 0.5·0.9 + 0.5·3
    for (const v of valuesOf(average.shadow)) expect(v).toBeCloseTo(1.95, 6);
    expect(valuesOf(source).every((v) => v === 3)).toBe(true); // the trained model is only read
  });

  it('refuses a decay outside (0, 1) and models of different shapes', () => {
    expect(() => new WeightAverage(dense(0), dense(0), 1)).toThrow(/decay/);
    expect(() => new WeightAverage(dense(0), dense(0), 0)).toThrow(/decay/);
    const twoLayers = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] }), tf.layers.dense({ units: 1 })] });
    expect(() => new WeightAverage(dense(0), twoLayers, 0.9)).toThrow(/architecture/);
  });

  it('is off at --ema-decay 0 without building a shadow, and refuses a decay outside [0, 1)', () => {
    let built = 0;
    const build = () => {
      built += 1;
      return dense(0);
    };
    expect(weightAverageFor(dense(1), build, 0)).toBeUndefined();
    expect(built).toBe(0);
    expect(weightAverageFor(dense(1), build, 0.9)).toBeInstanceOf(WeightAverage);
    expect(built).toBe(1);
    for (const decay of [1, -0.1]) expect(() => weightAverageFor(dense(1), build, decay)).toThrow(/--ema-decay must be 0/);
  });
});
