/**
 * The fused Adam update (one SIMD kernel per variable) against tfjs's AdamOptimizer: the same
 * weights, moments and optimizer state after several steps, on wasm-ort where the kernel runs
 * and on cpu where the class is the stock optimizer.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ADAM_UPDATE, adam } from '../../training/backend/fused-adam.ts';
import { delegatedCalls } from '../../training/backend/ort-kernels.ts';
import { randomValues, relativeError, TOLERANCE, use } from './backend-parity.ts';

afterAll(async () => {
  await use('wasm-ort');
});

/** Sizes with and without a scalar tail after the 4-wide loop. */
const SHAPES = [[3, 3, 4, 8], [7], [33, 5], [1]];
const STEPS = 4;

/** Weights and both moments of every variable after STEPS steps of `optimizer` on fixed gradients. */
async function train(optimizer: tf.AdamOptimizer): Promise<Float32Array[]> {
  const variables = SHAPES.map((shape, i) => tf.variable(tf.tensor(randomValues(tf.util.sizeFromShape(shape), 700 + i), shape)));
  for (let step = 0; step < STEPS; step += 1) {
    const gradients: Record<string, tf.Tensor> = {};
    variables.forEach((variable, i) => {
      // Gradients of mixed scales, zeros included, as real nets produce.
      const values = randomValues(variable.size, 800 + 10 * step + i).map((g, j) => (j % 5 === 0 ? 0 : g * 10 ** ((j % 7) - 4)));
      gradients[variable.name] = tf.tensor(values, variable.shape);
    });
    optimizer.applyGradients(gradients as Record<string, tf.Variable>);
    tf.dispose(Object.values(gradients));
  }
  const weights = await optimizer.getWeights();
  const values = [...variables, ...weights.slice(1).map((w) => w.tensor)].map((t) => Float32Array.from(t.dataSync()));
  values.push(Float32Array.from(weights[0]!.tensor.dataSync()));
  tf.dispose(variables);
  optimizer.dispose();
  return values;
}

describe('fused Adam', () => {
  it('on wasm-ort runs one kernel per variable and equals the stock optimizer', async () => {
    await use('wasm-ort');
    const expected = await train(tf.train.adam(2e-3, 0.8, 0.99));
    const before = delegatedCalls.get(ADAM_UPDATE) ?? 0;
    const actual = await train(adam(2e-3, 0.8, 0.99));
    expect((delegatedCalls.get(ADAM_UPDATE) ?? 0) - before).toBe(SHAPES.length * STEPS);
    expect(actual).toHaveLength(expected.length);
    actual.forEach((values, i) => {
      expect(relativeError(values, expected[i]!)).toBeLessThan(TOLERANCE);
      // Same f32 operations in the same order: bit for bit.
      expect(values).toEqual(expected[i]);
    });
  });

  it('is the stock optimizer on backends without the kernel', async () => {
    await use('cpu');
    const expected = await train(tf.train.adam(2e-3, 0.8, 0.99));
    const actual = await train(adam(2e-3, 0.8, 0.99));
    actual.forEach((values, i) => expect(values).toEqual(expected[i]));
  });
});
