/**
 * Instance normalization as one op with a closed-form gradient.
 *
 * Built from tf.moments, an instance norm costs about a dozen full-size elementwise kernels and
 * three spatial reductions forward and backward, which on the wasm backend cost about as much
 * as the convolutions around them. Here the forward pass and the gradient are one kernel each:
 * a small onnxruntime graph on 'wasm-ort', plain tf ops (the same formulas) on other backends.
 *
 *   y  = (x − μ) / σ,            μ, σ² over height and width per sample and channel (biased σ²)
 *   dx = (dy − mean(dy) − y · mean(dy · y)) / σ
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OnnxGraph } from '../export/onnx-graph.ts';
import type { DelegatedKernel } from './delegated-kernel.ts';
import type { SessionCache } from './ort-sync.ts';
import { appendAxisRunReduction } from './reduce-kernels.ts';
import { allocateOutput, heapValue } from './wasm-heap.ts';

/** Kernel names, registered for the wasm backend by ort-kernels.ts. */
export const INSTANCE_NORM = 'GanserveInstanceNorm';
export const INSTANCE_NORM_GRAD = 'GanserveInstanceNormGrad';

const SPATIAL = [1, 2];

/** Normalizes an NHWC tensor over height and width, per sample and channel. */
export function instanceNorm(x: tf.Tensor4D, epsilon: number): tf.Tensor4D {
  const fused = tf.getKernel(INSTANCE_NORM, tf.getBackend()) !== undefined;
  const normalize = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [y, invStd] = fused
      ? (tf.engine().runKernel(INSTANCE_NORM, { x: input }, { epsilon }) as tf.Tensor[] as [tf.Tensor, tf.Tensor])
      : composedForward(input, epsilon);
    save([y, invStd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedY, savedInvStd] = saved as [tf.Tensor, tf.Tensor];
        return fused
          ? (tf.engine().runKernel(INSTANCE_NORM_GRAD, { dy, y: savedY, invStd: savedInvStd }) as tf.Tensor)
          : composedGradient(dy, savedY, savedInvStd);
      },
    };
  });
  return normalize(x) as tf.Tensor4D;
}

function composedForward(x: tf.Tensor, epsilon: number): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, SPATIAL, true);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    return [tf.mul(tf.sub(x, mean), invStd), invStd];
  });
}

function composedGradient(dy: tf.Tensor, y: tf.Tensor, invStd: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const centred = tf.sub(dy, tf.mean(dy, SPATIAL, true));
    return tf.mul(invStd, tf.sub(centred, tf.mul(y, tf.mean(tf.mul(dy, y), SPATIAL, true))));
  });
}

/** Mean over height and width, [N, 1, 1, C]. */
function reduceSpatial(g: OnnxGraph, value: string, [batch, height, width, channels]: number[]): string {
  const mean = appendAxisRunReduction(g, value, [batch!, height!, width!, channels!], [1, 2], true);
  return g.op('Reshape', [mean, g.int64s('shape', [batch!, 1, 1, channels!])]);
}

/** Forward kernel: outputs y and 1/σ ([N, 1, 1, C]). */
export function instanceNormKernel(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { x } = inputs as Record<string, tf.TensorInfo | undefined>;
    const { epsilon } = attrs as unknown as { epsilon: number };
    if (x?.dtype !== 'float32' || x.shape.length !== 4) return undefined;
    const statsShape = [x.shape[0]!, 1, 1, x.shape[3]!];
    const session = cache.get(`instanceNorm|${x.shape}|${epsilon}`, () => {
      const g = new OnnxGraph('instance_norm');
      const input = g.input('x', 'float', x.shape);
      const centred = g.op('Sub', [input, reduceSpatial(g, input, x.shape)]);
      const variance = reduceSpatial(g, g.op('Mul', [centred, centred]), x.shape);
      const epsilonName = g.initializer(g.fresh('epsilon'), [epsilon], []);
      const invStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, epsilonName])])], {}, 'inv_std');
      g.output(invStd, 'float', statsShape);
      g.output(g.op('Mul', [centred, invStd], {}, 'y'), 'float', x.shape);
      return g;
    });
    const wasm = backend as BackendWasm;
    const y = allocateOutput(wasm, x.shape);
    const invStd = allocateOutput(wasm, statsShape);
    session.run({ x: heapValue(wasm, x) }, { y: heapValue(wasm, y), inv_std: heapValue(wasm, invStd) });
    return [y, invStd];
  };
}

/** Gradient kernel: dx from dy, y and 1/σ. */
export function instanceNormGradKernel(cache: SessionCache): DelegatedKernel {
  return ({ inputs, backend }) => {
    const { dy, y, invStd } = inputs as Record<string, tf.TensorInfo | undefined>;
    if (!dy || !y || !invStd) return undefined;
    const session = cache.get(`instanceNormGrad|${dy.shape}`, () => {
      const g = new OnnxGraph('instance_norm_grad');
      const upstream = g.input('dy', 'float', dy.shape);
      const normalized = g.input('y', 'float', y.shape);
      const scale = g.input('inv_std', 'float', invStd.shape);
      const centred = g.op('Sub', [upstream, reduceSpatial(g, upstream, dy.shape)]);
      const projection = g.op('Mul', [normalized, reduceSpatial(g, g.op('Mul', [upstream, normalized]), dy.shape)]);
      g.output(g.op('Mul', [scale, g.op('Sub', [centred, projection])], {}, 'dx'), 'float', dy.shape);
      return g;
    });
    const wasm = backend as BackendWasm;
    const dx = allocateOutput(wasm, dy.shape);
    session.run({ dy: heapValue(wasm, dy), y: heapValue(wasm, y), inv_std: heapValue(wasm, invStd) }, { dx: heapValue(wasm, dx) });
    return dx;
  };
}
