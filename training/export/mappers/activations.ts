/**
 * Activations: the `activation` setting of Dense/Conv layers, the Activation layer, and the
 * advanced-activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU). All are elementwise, so they keep
 * the input's layout, except softmax, whose axis follows the layout.
 */
import type * as tf from '@tensorflow/tfjs';
import { type ExportContext, onnxAxis, requiredWeight, UnsupportedLayerError, type Value } from '../context.ts';
import { type LayerMapper, onlyInput } from './types.ts';

/** Applies a tfjs activation, by its serialized name, to a value; returns the new value. */
export function applyActivation(ctx: ExportContext, value: Value, activation: unknown, layer: tf.layers.Layer): Value {
  const name = activation == null ? 'linear' : String(activation);
  const g = ctx.graph;
  const same = (tensor: string): Value => ({ ...value, name: tensor });
  switch (name) {
    case 'linear':
      return value;
    case 'relu':
      return same(g.op('Relu', [value.name]));
    case 'relu6':
      return same(g.op('Clip', [value.name, ctx.floats('zero', [0], []), ctx.floats('six', [6], [])]));
    case 'tanh':
      return same(g.op('Tanh', [value.name]));
    case 'sigmoid':
      return same(g.op('Sigmoid', [value.name]));
    case 'elu':
      return same(g.op('Elu', [value.name], { alpha: { float: 1 } }));
    case 'selu':
      return same(g.op('Selu', [value.name]));
    case 'softplus':
      return same(g.op('Softplus', [value.name]));
    case 'softsign':
      return same(g.op('Softsign', [value.name]));
    case 'hardSigmoid':
      // tfjs: clip(0.2 x + 0.5, 0, 1), which is ONNX HardSigmoid with these constants.
      return same(g.op('HardSigmoid', [value.name], { alpha: 0.2, beta: 0.5 }));
    case 'swish':
      return same(g.op('Mul', [value.name, g.op('Sigmoid', [value.name])]));
    case 'softmax':
      return same(g.op('Softmax', [value.name], { axis: onnxAxis(-1, value) }));
    default:
      throw new UnsupportedLayerError(layer.name, layer.getClassName(), `activation "${name}" is not supported`);
  }
}

export const activation: LayerMapper = (layer, inputs, ctx, config) => applyActivation(ctx, onlyInput(inputs), config.activation, layer);

export const relu: LayerMapper = (_layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  const maxValue = config.maxValue as number | null | undefined;
  if (maxValue == null) return { ...input, name: ctx.graph.op('Relu', [input.name]) };
  const clipped = ctx.graph.op('Clip', [input.name, ctx.floats('zero', [0], []), ctx.floats('max', [maxValue], [])]);
  return { ...input, name: clipped };
};

export const leakyRelu: LayerMapper = (_layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  const alpha = (config.alpha as number | undefined) ?? 0.3;
  return { ...input, name: ctx.graph.op('LeakyRelu', [input.name], { alpha: { float: alpha } }) };
};

export const elu: LayerMapper = (_layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  const alpha = (config.alpha as number | undefined) ?? 1;
  return { ...input, name: ctx.graph.op('Elu', [input.name], { alpha: { float: alpha } }) };
};

export const softmax: LayerMapper = (layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  const axis = config.axis as number | number[] | undefined;
  const single = Array.isArray(axis) ? (axis.length === 1 ? axis[0]! : null) : (axis ?? -1);
  if (single === null) throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'softmax over several axes');
  return { ...input, name: ctx.graph.op('Softmax', [input.name], { axis: onnxAxis(single, input) }) };
};

/** PReLU with a learned slope per element (or shared along sharedAxes), laid out like the input. */
export const prelu: LayerMapper = (layer, inputs, ctx) => {
  const input = onlyInput(inputs);
  const alpha = requiredWeight(layer, 'alpha');
  const slope = ctx.tensor(`${layer.name}/alpha`, alpha, input.channelsFirst ? [2, 0, 1] : undefined);
  return { ...input, name: ctx.graph.op('PRelu', [input.name, slope]) };
};
