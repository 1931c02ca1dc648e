/**
 * Instance normalization, optionally followed by a (leaky) ReLU, as one op with a closed-form
 * gradient.
 *
 * Built from tf.moments, an instance norm costs about a dozen full-size elementwise kernels and
 * three spatial reductions forward and backward, which on the wasm backend cost about as much
 * as the convolutions around them; the activation after it is two more kernels forward and
 * backward. Here the forward pass and the gradient are one kernel each on 'wasm-ort': WebAssembly
 * SIMD passes over the heap (simd-kernels.ts) when the channel count is a multiple of 4, else a
 * small onnxruntime graph; plain tf ops (the same formulas) on other backends.
 *
 *   y  = (x − μ) / σ,            μ, σ² over height and width per sample and channel (biased σ²)
 *   z  = y > 0 ? y : α·y         with an activation (α = 0: ReLU)
 *   g  = dz · (y > 0 ? 1 : α)    (g = dy without one)
 *   dx = (g − mean(g) − y · mean(g · y)) / σ
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OnnxGraph } from '../export/onnx-graph.ts';
import type { DelegatedKernel } from './delegated-kernel.ts';
import type { SessionCache } from './ort-sync.ts';
import { appendAxisRunReduction } from './reduce-kernels.ts';
import { simdKernelsFor } from './simd-kernels.ts';
import { allocateOutput, heapValue } from './wasm-heap.ts';

/** Kernel names, registered for the wasm backend by ort-kernels.ts. */
export const INSTANCE_NORM = 'GanserveInstanceNorm';
export const INSTANCE_NORM_GRAD = 'GanserveInstanceNormGrad';

const SPATIAL = [1, 2];

/** The kernels' attributes: `activate` applies leaky(·) with slope `alpha` after the norm. */
interface NormAttrs {
  epsilon: number;
  activate: boolean;
  alpha: number;
}

/**
 * Normalizes an NHWC tensor over height and width, per sample and channel; with `alpha`, then
 * applies leaky ReLU with that slope (0: ReLU).
 */
export function instanceNorm(x: tf.Tensor4D, epsilon: number, alpha?: number): tf.Tensor4D {
  const fused = tf.getKernel(INSTANCE_NORM, tf.getBackend()) !== undefined;
  const attrs: NormAttrs = { epsilon, activate: alpha !== undefined, alpha: alpha ?? 0 };
  const normalize = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const outputs = fused
      ? (tf.engine().runKernel(INSTANCE_NORM, { x: input }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[])
      : composedForward(input, attrs);
    // [y, 1/σ], or [leaky(y), y, 1/σ] with an activation.
    const [value, y, invStd] = (attrs.activate ? outputs : [outputs[0], ...outputs]) as [tf.Tensor, tf.Tensor, tf.Tensor];
    save([y, invStd]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedY, savedInvStd] = saved as [tf.Tensor, tf.Tensor];
        return fused
          ? (tf
              .engine()
              .runKernel(INSTANCE_NORM_GRAD, { dy, y: savedY, invStd: savedInvStd }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor)
          : composedGradient(dy, savedY, savedInvStd, attrs);
      },
    };
  });
  return normalize(x) as tf.Tensor4D;
}

/** ReLU at slope 0, leaky ReLU otherwise: the activation the fused kernels apply. */
export function leaky(x: tf.Tensor, slope: number): tf.Tensor {
  return slope === 0 ? tf.relu(x) : tf.leakyRelu(x, slope);
}

function composedForward(x: tf.Tensor, { epsilon, activate, alpha }: NormAttrs): tf.Tensor[] {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, SPATIAL, true);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const y = tf.mul(tf.sub(x, mean), invStd);
    return activate ? [leaky(y, alpha), y, invStd] : [y, invStd];
  });
}

function composedGradient(dy: tf.Tensor, y: tf.Tensor, invStd: tf.Tensor, { activate, alpha }: NormAttrs): tf.Tensor {
  return tf.tidy(() => {
    const g = activate ? tf.where(tf.greater(y, 0), dy, tf.mul(dy, alpha)) : dy;
    const centred = tf.sub(g, tf.mean(g, SPATIAL, true));
    return tf.mul(invStd, tf.sub(centred, tf.mul(y, tf.mean(tf.mul(g, y), SPATIAL, true))));
  });
}

/** Whether the SIMD kernels take this shape: NHWC float32 with whole groups of 4 channels. */
const simdShape = (x: tf.TensorInfo) => x.dtype === 'float32' && x.shape.length === 4 && x.shape[3]! % 4 === 0;

/** Mean over height and width, [N, 1, 1, C]. */
function reduceSpatial(g: OnnxGraph, value: string, [batch, height, width, channels]: number[]): string {
  const mean = appendAxisRunReduction(g, value, [batch!, height!, width!, channels!], [1, 2], true);
  return g.op('Reshape', [mean, g.int64s('shape', [batch!, 1, 1, channels!])]);
}

/** Forward kernel: outputs y and 1/σ ([N, 1, 1, C]), preceded by leaky(y) with an activation. */
export function instanceNormKernel(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { x } = inputs as Record<string, tf.TensorInfo | undefined>;
    const { epsilon, activate, alpha } = attrs as unknown as NormAttrs;
    if (x?.dtype !== 'float32' || x.shape.length !== 4) return undefined;
    const wasm = backend as BackendWasm;
    const statsShape = [x.shape[0]!, 1, 1, x.shape[3]!];
    const y = allocateOutput(wasm, x.shape);
    const z = activate ? allocateOutput(wasm, x.shape) : undefined;
    const invStd = allocateOutput(wasm, statsShape);
    const simd = simdKernelsFor(wasm);
    if (simd && simdShape(x)) {
      const scratch = allocateOutput(wasm, [x.shape[3]!]);
      simd.instanceNorm(x, y, z, invStd, scratch, epsilon, activate ? alpha : undefined);
      wasm.disposeData(scratch.dataId);
    } else {
      const session = cache.get(`instanceNorm|${x.shape}|${epsilon}|${activate ? alpha : '-'}`, () => {
        const g = new OnnxGraph('instance_norm');
        const input = g.input('x', 'float', x.shape);
        const centred = g.op('Sub', [input, reduceSpatial(g, input, x.shape)]);
        const variance = reduceSpatial(g, g.op('Mul', [centred, centred]), x.shape);
        const epsilonName = g.initializer(g.fresh('epsilon'), [epsilon], []);
        const scale = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, epsilonName])])], {}, 'inv_std');
        g.output(scale, 'float', statsShape);
        const normalized = g.op('Mul', [centred, scale], {}, 'y');
        g.output(normalized, 'float', x.shape);
        if (activate) g.output(g.op('LeakyRelu', [normalized], { alpha: { float: alpha } }, 'z'), 'float', x.shape);
        return g;
      });
      const outputs = { y: heapValue(wasm, y), inv_std: heapValue(wasm, invStd) } as Record<string, ReturnType<typeof heapValue>>;
      if (z) outputs.z = heapValue(wasm, z);
      session.run({ x: heapValue(wasm, x) }, outputs);
    }
    return z ? [z, y, invStd] : [y, invStd];
  };
}

/** Gradient kernel: dx from dy, y and 1/σ (through the activation's slope when it has one). */
export function instanceNormGradKernel(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { dy, y, invStd } = inputs as Record<string, tf.TensorInfo | undefined>;
    const { activate, alpha } = attrs as unknown as NormAttrs;
    if (!dy || !y || !invStd) return undefined;
    const wasm = backend as BackendWasm;
    const dx = allocateOutput(wasm, dy.shape);
    const simd = simdKernelsFor(wasm);
    if (simd && simdShape(dy)) {
      const scratch = allocateOutput(wasm, [2 * dy.shape[3]!]);
      simd.instanceNormGrad(dy, y, invStd, dx, scratch, activate ? alpha : undefined);
      wasm.disposeData(scratch.dataId);
      return dx;
    }
    const session = cache.get(`instanceNormGrad|${dy.shape}|${activate ? alpha : '-'}`, () => {
      const g = new OnnxGraph('instance_norm_grad');
      const normalized = g.input('y', 'float', y.shape);
      let upstream = g.input('dy', 'float', dy.shape);
      if (activate) {
        const positive = g.op('Greater', [normalized, g.initializer(g.fresh('zero'), [0], [])]);
        upstream = g.op('Where', [positive, upstream, g.op('Mul', [upstream, g.initializer(g.fresh('alpha'), [alpha], [])])]);
      }
      const scale = g.input('inv_std', 'float', invStd.shape);
      const centred = g.op('Sub', [upstream, reduceSpatial(g, upstream, dy.shape)]);
      const projection = g.op('Mul', [normalized, reduceSpatial(g, g.op('Mul', [upstream, normalized]), dy.shape)]);
      g.output(g.op('Mul', [scale, g.op('Sub', [centred, projection])], {}, 'dx'), 'float', dy.shape);
      return g;
    });
    session.run({ dy: heapValue(wasm, dy), y: heapValue(wasm, y), inv_std: heapValue(wasm, invStd) }, { dx: heapValue(wasm, dx) });
    return dx;
  };
}
