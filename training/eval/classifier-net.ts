/**
 * The project's digit classifier network: a small CNN whose penultimate ReLU layer doubles as the
 * feature space for the diversity figure. It lives with the eval code because every digits eval
 * (label- and text-conditioned) scores generated digits with it.
 *
 * Layout: 28×28×1 → conv5×5/2·32 → ReLU → conv5×5/2·64 → ReLU → flatten(3136) → dense 64 → ReLU
 * (= features) → dropout → dense 10 (= logits). Strided convolutions downsample instead of max
 * pooling, so the ONNX exporter's mappers cover every layer.
 */
import * as tf from '@tensorflow/tfjs';
import { MNIST_CLASSES, MNIST_SIDE } from '../data/mnist.ts';
import { exportToOnnx } from '../export/onnx.ts';

export const FEATURE_DIM = 64;

/** Names of the ONNX graph's input and outputs. */
export const CLASSIFIER_IO = { input: 'image', logits: 'logits', features: 'features' } as const;

/** A functional model with two outputs: [logits [N, 10], features [N, FEATURE_DIM]]. */
export function buildClassifierNet(seed: number): tf.LayersModel {
  const init = (offset: number) => tf.initializers.heNormal({ seed: seed + offset });
  const input = tf.input({ shape: [MNIST_SIDE, MNIST_SIDE, 1], name: CLASSIFIER_IO.input });
  let x = tf.layers
    .conv2d({ filters: 32, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(1) })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 64, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(2) })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const features = tf.layers
    .dense({ name: CLASSIFIER_IO.features, units: FEATURE_DIM, activation: 'relu', kernelInitializer: init(3) })
    .apply(x) as tf.SymbolicTensor;
  const dropped = tf.layers.dropout({ rate: 0.25, seed: seed + 4 }).apply(features) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({ name: CLASSIFIER_IO.logits, units: MNIST_CLASSES, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 5 }) })
    .apply(dropped) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [logits, features], name: 'digit_classifier' });
}

/**
 * ONNX bytes of the classifier: input "image" [N, 1, 28, 28] in [-1, 1] (for one channel NCHW and
 * NHWC share a memory layout, so packed 784-value images feed it as they are), outputs "logits"
 * [N, 10] and "features" [N, FEATURE_DIM].
 */
export function classifierToOnnx(model: tf.LayersModel): Uint8Array {
  return exportToOnnx(model, {
    inputs: [{ name: CLASSIFIER_IO.input }],
    outputs: [{ name: CLASSIFIER_IO.logits }, { name: CLASSIFIER_IO.features }],
    imageLayout: 'NCHW',
    dynamicSpatial: false,
  });
}
