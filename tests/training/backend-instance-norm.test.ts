/**
 * instanceNorm (one op, closed-form gradient, optional fused leaky ReLU): the wasm-ort kernels
 * (WebAssembly SIMD for channel counts divisible by 4, onnxruntime graphs otherwise) and the
 * composed fallback all match the moments-based definition, values and gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { INSTANCE_NORM, INSTANCE_NORM_GRAD, instanceNorm } from '../../training/backend/instance-norm.ts';
import { delegatedCalls } from '../../training/backend/ort-kernels.ts';
import { simdKernelCalls } from '../../training/backend/simd-kernels.ts';
import { randomValues, relativeError, runOn, TOLERANCE, use } from './backend-parity.ts';

afterAll(async () => {
  await use('wasm-ort');
});

/** No activation, ReLU, leaky ReLU. */
const ACTIVATIONS = [undefined, 0, 0.2];

/** Values and input gradient of Σ w · norm(x), for norm = the op under test or the definition. */
function valuesAndGradient(shape: [number, number, number, number], alpha: number | undefined, useOp: boolean): tf.Tensor[] {
  const size = tf.util.sizeFromShape(shape);
  const channels = shape[3];
  // Channel 0 varies so little that epsilon dominates its variance.
  const x = tf.tensor4d(
    randomValues(size, 500).map((v, i) => v * (i % channels === 0 ? 0.003 : 3) + (i % channels)),
    shape,
  );
  const weights = tf.tensor4d(randomValues(size, 501), shape);
  const norm = (t: tf.Tensor): tf.Tensor => {
    if (useOp) return instanceNorm(t as tf.Tensor4D, 1e-5, alpha);
    const { mean, variance } = tf.moments(t, [1, 2], true);
    const y = tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5)));
    if (alpha === undefined) return y;
    return alpha === 0 ? tf.relu(y) : tf.leakyRelu(y, alpha);
  };
  return [norm(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(norm(t), weights)))(x)];
}

const counts = () => [
  delegatedCalls.get(INSTANCE_NORM) ?? 0,
  delegatedCalls.get(INSTANCE_NORM_GRAD) ?? 0,
  simdKernelCalls.get('instanceNorm') ?? 0,
  simdKernelCalls.get('instanceNormGrad') ?? 0,
];

describe('instanceNorm', () => {
  for (const [shape, path] of [
    [[2, 9, 7, 8], 'WebAssembly SIMD'],
    [[2, 9, 7, 5], 'onnxruntime'],
  ] as const) {
    for (const alpha of ACTIVATIONS) {
      it(`on wasm-ort (${path}, ${shape.join('×')}, activation ${alpha ?? 'none'}) is one kernel each way and matches the definition on cpu`, async () => {
        const before = counts();
        const [values, gradient] = await runOn('wasm-ort', () => valuesAndGradient([...shape], alpha, true));
        const [forward, backward, simdForward, simdBackward] = counts().map((count, i) => count - before[i]!);
        expect(forward).toBeGreaterThanOrEqual(1);
        expect(backward).toBe(1);
        const simd = path === 'WebAssembly SIMD' ? 1 : 0;
        expect([simdForward! > 0 ? 1 : 0, simdBackward]).toEqual([simd, simd]);
        const [expectedValues, expectedGradient] = await runOn('cpu', () => valuesAndGradient([...shape], alpha, false));
        expect(relativeError(values!, expectedValues!)).toBeLessThan(TOLERANCE);
        expect(relativeError(gradient!, expectedGradient!)).toBeLessThan(TOLERANCE);
      });
    }
  }

  for (const alpha of ACTIVATIONS) {
    it(`falls back to composed ops on backends without its kernels (activation ${alpha ?? 'none'})`, async () => {
      const [values, gradient] = await runOn('cpu', () => valuesAndGradient([2, 9, 7, 5], alpha, true));
      const [expectedValues, expectedGradient] = await runOn('cpu', () => valuesAndGradient([2, 9, 7, 5], alpha, false));
      expect(relativeError(values!, expectedValues!)).toBeLessThan(TOLERANCE);
      expect(relativeError(gradient!, expectedGradient!)).toBeLessThan(TOLERANCE);
    });
  }
});
