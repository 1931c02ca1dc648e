/**
 * Shared helpers for the backend parity tests: run the same computation on the 'wasm-ort' backend
 * and on tfjs's pure-JS 'cpu' reference, from the same seeded inputs, and compare.
 */
import * as tf from '@tensorflow/tfjs';
import { delegatedCalls } from '../../training/backend/ort-kernels.ts';
import { selectBackend } from '../../training/backend/select.ts';

/** Seeded uniform [-1, 1) values, so a failure reproduces. */
export function randomValues(size: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 0x100000000) * 2 - 1;
  }
  return out;
}

/**
 * max |a − b| / max |b|: the largest error relative to the reference's scale, which stays
 * meaningful both for outputs near zero and for large conv sums.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i += 1) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return maxDiff / Math.max(scale, 1e-12);
}

/** Silent backend switch: the "backend: ..." line is for training runs, not tests. */
export async function use(backend: 'wasm-ort' | 'cpu' | 'wasm'): Promise<void> {
  await selectBackend(backend, { log: () => {} });
}

/** Runs `compute` on a backend and returns every output's values (copied out, tensors freed). */
export async function runOn(backend: 'wasm-ort' | 'cpu', compute: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await use(backend);
  const outputs = tf.tidy(compute);
  const list = Array.isArray(outputs) ? outputs : [outputs];
  const values = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return values;
}

export interface Comparison {
  error: number;
  /** Calls the named kernel served on onnxruntime (or JS) during the wasm-ort run. */
  delegated: number;
}

/** wasm-ort vs cpu for `compute`; the worst relative error over its outputs. */
export async function compareWithCpu(kernelName: string, compute: () => tf.Tensor | tf.Tensor[]): Promise<Comparison> {
  const before = delegatedCalls.get(kernelName) ?? 0;
  const actual = await runOn('wasm-ort', compute);
  const delegated = (delegatedCalls.get(kernelName) ?? 0) - before;
  const expected = await runOn('cpu', compute);
  const error = Math.max(...actual.map((values, i) => relativeError(values, expected[i]!)));
  return { error, delegated };
}

export const TOLERANCE = 1e-4;
