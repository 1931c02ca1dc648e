/**
 * Adam with one kernel per variable on 'wasm-ort'.
 *
 * tfjs's AdamOptimizer runs about a dozen elementwise kernels per variable (two moment updates,
 * two bias corrections, a square root, the step), each one more pass over the variable and one
 * more dispatch through the engine. Here each variable is one SIMD pass (simd-kernels.ts) that
 * reads w, m, v and the gradient once and writes the new three. It does the same f32 operations
 * in the same order, so it matches the stock optimizer on wasm bit for bit; elsewhere, and when
 * the kernel is not registered, this is the stock optimizer. State (moments, β powers,
 * iterations) stays in the stock fields, so checkpoints and `--resume` are unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DelegatedKernel } from './delegated-kernel.ts';
import { simdKernelsFor } from './simd-kernels.ts';

/** Kernel name, registered for the wasm backend by ort-kernels.ts. */
export const ADAM_UPDATE = 'GanserveAdamUpdate';

interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  /** 1 − β₁ᵗ and 1 − β₂ᵗ, as f32 values. */
  d1: number;
  d2: number;
  epsilon: number;
  learningRate: number;
}

/** The stock optimizer's private state, which this subclass drives. */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
}

/** Returns [value, m, v] after one Adam step of one variable. */
export const adamUpdateKernel: DelegatedKernel = ({ inputs, attrs, backend }) => {
  const { value, m, v, gradient } = inputs as Record<string, tf.TensorInfo | undefined>;
  const wasm = backend as BackendWasm;
  const kernels = simdKernelsFor(wasm);
  if (!kernels || !value || !m || !v || !gradient) return undefined;
  if ([value, m, v, gradient].some((t) => t.dtype !== 'float32')) return undefined;
  const outputs = {
    value: wasm.makeOutput(value.shape, 'float32'),
    m: wasm.makeOutput(value.shape, 'float32'),
    v: wasm.makeOutput(value.shape, 'float32'),
  };
  kernels.adam({ value, m, v, gradient }, outputs, attrs as unknown as AdamUpdateAttrs);
  return [outputs.value, outputs.m, outputs.v];
};

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!tf.getKernel(ADAM_UPDATE, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const named = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor: tensor as tf.Tensor | undefined }));
    // The stock optimizer's f32 scalars: 1 − β powers (exact in f32, see docs/training-backend.md).
    const d1 = Math.fround(1 - state.accBeta1.dataSync()[0]!);
    const d2 = Math.fround(1 - state.accBeta2.dataSync()[0]!);
    const attrs: AdamUpdateAttrs = {
      beta1: state.beta1,
      beta2: state.beta2,
      d1,
      d2,
      epsilon: state.epsilon,
      learningRate: state.learningRate,
    };
    tf.tidy(() => {
      named.forEach(({ name, tensor: gradient }, i) => {
        const value = tf.engine().registeredVariables[name]!;
        const m = (state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.zerosLike(value).variable(false) });
        const v = (state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.zerosLike(value).variable(false) });
        if (gradient == null) return;
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(ADAM_UPDATE, { value, m: m.variable, v: v.variable, gradient }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.variable.assign(newM!);
        v.variable.assign(newV!);
        value.assign(newValue!);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, state.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, state.beta2));
    });
    this.incrementIterations();
  }
}

/** tf.train.adam, with the fused update where the backend has it. */
export function adam(learningRate: number, beta1 = 0.9, beta2 = 0.999): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2);
}
