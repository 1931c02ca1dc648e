/**
 * Training on 'wasm-ort' matches the pure-JS 'cpu' reference end to end: gradients of a small
 * CycleGAN-like conv net, and the weights after optimizer steps on a tf.layers model. Also checks the
 * corrected MirrorPad gradient against its definition.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delegatedCalls } from '../../training/backend/ort-kernels.ts';
import { MIRROR_PAD_GRAD, mirrorPadBackward, mirrorPadGradCalls } from '../../training/backend/mirror-pad-grad.ts';
import { compareWithCpu, randomValues, relativeError, runOn, TOLERANCE, use } from './backend-parity.ts';

beforeAll(async () => {
  await use('wasm-ort');
});

afterAll(async () => {
  await use('wasm-ort');
});

const shapes = {
  x: [2, 12, 12, 3],
  stem: [3, 3, 3, 8],
  down: [3, 3, 8, 16],
  downBias: [16],
  up: [3, 3, 8, 16],
  out: [1, 1, 8, 3],
  dense: [6 * 6 * 16, 5],
} as const;

/**
 * Reflect pad → conv → instance norm → ReLU → stride-2 conv with bias → LeakyReLU → stride-2
 * transposed conv → 1×1 conv → tanh, plus a dense head. (No bias before the norm: it would cancel
 * and its gradient would be pure rounding noise.)
 */
function convNetLoss(params: Record<keyof typeof shapes, tf.Tensor>): tf.Scalar {
  const x = params.x as tf.Tensor4D;
  let h: tf.Tensor = tf.mirrorPad(
    x,
    [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
    'reflect',
  );
  h = tf.conv2d(h as tf.Tensor4D, params.stem as tf.Tensor4D, 1, 'valid');
  const { mean, variance } = tf.moments(h, [1, 2], true);
  h = tf.relu(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5))));
  const down = tf.fused.conv2d({
    x: h as tf.Tensor4D,
    filter: params.down as tf.Tensor4D,
    strides: 2,
    pad: 'same',
    bias: params.downBias,
    activation: 'leakyrelu',
    leakyreluAlpha: 0.2,
  });
  const up = tf.relu(tf.conv2dTranspose(down as tf.Tensor4D, params.up as tf.Tensor4D, [2, 12, 12, 8], 2, 'same'));
  const image = tf.tanh(tf.conv2d(up, params.out as tf.Tensor4D, 1, 'valid'));
  const logits = tf.matMul(tf.reshape(down, [2, -1]), params.dense);
  return tf.add(tf.mean(tf.square(tf.sub(image, x))), tf.mean(tf.square(logits))) as tf.Scalar;
}

describe('training on wasm-ort matches the cpu reference', () => {
  it('gradients of a small conv net (every parameter and the input)', async () => {
    const names = Object.keys(shapes) as Array<keyof typeof shapes>;
    const compute = () => {
      const params = Object.fromEntries(
        names.map((name, i) => {
          const shape = [...shapes[name]];
          return [
            name,
            tf.tensor(
              randomValues(
                shape.reduce((a, b) => a * b),
                100 + i,
              ),
              shape,
            ),
          ];
        }),
      ) as Record<keyof typeof shapes, tf.Tensor>;
      const grads = tf.grads((...values: tf.Tensor[]) =>
        convNetLoss(Object.fromEntries(names.map((n, i) => [n, values[i]!])) as Record<keyof typeof shapes, tf.Tensor>),
      );
      return grads(names.map((n) => params[n]));
    };
    const filterGradsBefore = delegatedCalls.get(tf.Conv2DBackpropFilter) ?? 0;
    const actual = await runOn('wasm-ort', compute);
    expect((delegatedCalls.get(tf.Conv2DBackpropFilter) ?? 0) - filterGradsBefore).toBe(4);
    const expected = await runOn('cpu', compute);
    names.forEach((name, i) => {
      expect(relativeError(actual[i]!, expected[i]!), name).toBeLessThan(TOLERANCE);
    });
  });

  // SGD, not Adam: Adam divides by sqrt(v), which turns rounding-level gradient differences on
  // near-zero gradients into visible weight differences on any two backends.
  it('weights after three SGD steps on a tf.layers conv model', async () => {
    const compute = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [10, 10, 3],
            filters: 8,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            activation: 'relu',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          }),
          tf.layers.conv2dTranspose({
            filters: 4,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
          }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
          tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
        ],
      });
      const optimizer = tf.train.sgd(0.1);
      const x = tf.tensor4d(randomValues(4 * 10 * 10 * 3, 200), [4, 10, 10, 3]);
      const target = tf.tensor2d(randomValues(4 * 2, 201), [4, 2]);
      for (let step = 0; step < 3; step += 1) {
        optimizer.minimize(() => tf.losses.meanSquaredError(target, model.apply(x) as tf.Tensor) as tf.Scalar);
      }
      const weights = model.getWeights().map((w) => w.clone());
      optimizer.dispose();
      model.dispose();
      return weights;
    };
    const actual = await runOn('wasm-ort', compute);
    const expected = await runOn('cpu', compute);
    expect(actual).toHaveLength(8);
    actual.forEach((values, i) => expect(relativeError(values, expected[i]!), `weight ${i}`).toBeLessThan(TOLERANCE));
  });
});

/** The definition: dx[i] = Σ dy[j] over every padded position j whose value was copied from x[i]. */
function mirrorPadAdjoint(
  dy: Float32Array,
  xShape: [number, number],
  pads: [[number, number], [number, number]],
  mode: 'reflect' | 'symmetric',
): Float32Array {
  const [rows, cols] = xShape;
  const paddedCols = cols + pads[1][0] + pads[1][1];
  const source = (p: number, size: number, before: number) => {
    const i = p - before;
    if (i < 0) return mode === 'reflect' ? -i : -i - 1;
    if (i >= size) return mode === 'reflect' ? 2 * size - 2 - i : 2 * size - 1 - i;
    return i;
  };
  const dx = new Float32Array(rows * cols);
  for (let r = 0; r < rows + pads[0][0] + pads[0][1]; r += 1) {
    for (let c = 0; c < paddedCols; c += 1) {
      dx[source(r, rows, pads[0][0]) * cols + source(c, cols, pads[1][0])]! += dy[r * paddedCols + c]!;
    }
  }
  return dx;
}

describe('MirrorPad gradient', () => {
  it.each([
    [
      'reflect',
      [
        [2, 1],
        [3, 2],
      ],
    ],
    [
      'symmetric',
      [
        [2, 1],
        [0, 3],
      ],
    ],
  ] as const)('%s with pads %j is the adjoint of the padding on every backend', async (mode, pads) => {
    const xShape: [number, number] = [5, 6];
    const paddedSize = (5 + pads[0][0] + pads[0][1]) * (6 + pads[1][0] + pads[1][1]);
    const dy = randomValues(paddedSize, 300);
    const expected = mirrorPadAdjoint(dy, xShape, [[...pads[0]], [...pads[1]]], mode);
    for (const backend of ['cpu', 'wasm-ort'] as const) {
      const [viaTape, direct] = await runOn(backend, () => {
        const x = tf.tensor2d(randomValues(30, 301), xShape);
        const weights = tf.tensor2d(dy, [5 + pads[0][0] + pads[0][1], 6 + pads[1][0] + pads[1][1]]);
        const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(t as tf.Tensor2D, [[...pads[0]], [...pads[1]]], mode), weights)))(
          x,
        );
        return [grad, mirrorPadBackward(weights, xShape, [[...pads[0]], [...pads[1]]], mode)];
      });
      expect(relativeError(viaTape!, expected), backend).toBeLessThan(1e-6);
      expect(relativeError(direct!, expected), backend).toBeLessThan(1e-6);
    }
  });
});

describe('MirrorPad gradient kernel on the wasm heap', () => {
  it.each([
    [
      'reflect',
      [
        [0, 0],
        [3, 3],
        [1, 2],
        [0, 0],
      ],
      'spatial',
    ],
    [
      'symmetric',
      [
        [0, 0],
        [0, 2],
        [3, 0],
        [0, 0],
      ],
      'spatial',
    ],
    [
      'reflect',
      [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ],
      'spatial',
    ],
    [
      'symmetric',
      [
        [1, 0],
        [2, 3],
        [0, 1],
        [0, 0],
      ],
      'general',
    ],
  ] as const)('NHWC %s pads %j match the composed gradient on cpu (%s path)', async (mode, pads, path) => {
    const before = { ...mirrorPadGradCalls };
    const { error, delegated } = await compareWithCpu(MIRROR_PAD_GRAD, () => {
      const x = tf.tensor4d(randomValues(2 * 5 * 6 * 3, 400), [2, 5, 6, 3]);
      const paddings = pads.map(([a, b]) => [a, b] as [number, number]);
      const paddedShape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
      const weights = tf.tensor(
        randomValues(
          paddedShape.reduce((a, b) => a * b),
          401,
        ),
        paddedShape,
      );
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(t as tf.Tensor4D, paddings, mode), weights)))(x);
    });
    expect(delegated).toBe(1);
    expect(mirrorPadGradCalls[path] - before[path]).toBe(1);
    expect(error).toBeLessThan(1e-6);
  });
});
