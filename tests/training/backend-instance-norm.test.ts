/**
 * instanceNorm (one op, closed-form gradient): the wasm-ort kernels and the composed fallback both
 * match the moments-based definition, values and gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { INSTANCE_NORM, INSTANCE_NORM_GRAD, instanceNorm } from '../../training/backend/instance-norm.ts';
import { delegatedCalls } from '../../training/backend/ort-kernels.ts';
import { randomValues, relativeError, runOn, TOLERANCE, use } from './backend-parity.ts';

afterAll(async () => {
  await use('wasm-ort');
});

const shape: [number, number, number, number] = [2, 9, 7, 5];

/** Values and input gradient of Σ w · norm(x), for norm = the op under test or the definition. */
function valuesAndGradient(useOp: boolean): tf.Tensor[] {
  const x = tf.tensor4d(
    randomValues(2 * 9 * 7 * 5, 500).map((v, i) => v * 3 + (i % 5)),
    shape,
  );
  const weights = tf.tensor4d(randomValues(2 * 9 * 7 * 5, 501), shape);
  const norm = (t: tf.Tensor): tf.Tensor => {
    if (useOp) return instanceNorm(t as tf.Tensor4D, 1e-5);
    const { mean, variance } = tf.moments(t, [1, 2], true);
    return tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5)));
  };
  return [norm(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(norm(t), weights)))(x)];
}

describe('instanceNorm', () => {
  it('on wasm-ort runs as two onnxruntime kernels and matches the definition on cpu', async () => {
    const before = [INSTANCE_NORM, INSTANCE_NORM_GRAD].map((k) => delegatedCalls.get(k) ?? 0);
    const [values, gradient] = await runOn('wasm-ort', () => valuesAndGradient(true));
    const after = [INSTANCE_NORM, INSTANCE_NORM_GRAD].map((k) => delegatedCalls.get(k) ?? 0);
    expect(after[0]! - before[0]!).toBeGreaterThanOrEqual(1);
    expect(after[1]! - before[1]!).toBe(1);
    const [expectedValues, expectedGradient] = await runOn('cpu', () => valuesAndGradient(false));
    expect(relativeError(values!, expectedValues!)).toBeLessThan(TOLERANCE);
    expect(relativeError(gradient!, expectedGradient!)).toBeLessThan(TOLERANCE);
  });

  it('falls back to composed ops on backends without its kernels', async () => {
    const [values, gradient] = await runOn('cpu', () => valuesAndGradient(true));
    const [expectedValues, expectedGradient] = await runOn('cpu', () => valuesAndGradient(false));
    expect(relativeError(values!, expectedValues!)).toBeLessThan(TOLERANCE);
    expect(relativeError(gradient!, expectedGradient!)).toBeLessThan(TOLERANCE);
  });
});
