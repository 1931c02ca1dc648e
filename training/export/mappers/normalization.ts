/**
 * BatchNormalization (inference: moving statistics) and the custom InstanceNormalization.
 * Both normalize over the channel axis, which must be the last tfjs axis.
 */
import type * as tf from '@tensorflow/tfjs';
import { layerWeight, normalizeAxis, requiredWeight, UnsupportedLayerError } from '../context.ts';
import { type LayerMapper, onlyInput } from './types.ts';

/**
 * Folds the batch norm into y = x * scale + shift, computed here in float64:
 * scale = gamma / sqrt(var + eps), shift = beta - mean * scale. On NCHW tensors the constants are
 * shaped [C, 1, 1] so they broadcast over height and width.
 */
export const batchNormalization: LayerMapper = (layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  const axisConfig = config.axis as number | number[] | undefined;
  const axis = Array.isArray(axisConfig) ? (axisConfig.length === 1 ? axisConfig[0]! : NaN) : (axisConfig ?? -1);
  if (normalizeAxis(axis, input.rank) !== input.rank - 1) {
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `normalization axis ${JSON.stringify(axisConfig)} (only the channel axis, last)`,
    );
  }
  const mean = requiredWeight(layer, 'moving_mean').dataSync();
  const variance = requiredWeight(layer, 'moving_variance').dataSync();
  const gamma = config.scale === false ? null : (layerWeight(layer, 'gamma')?.dataSync() ?? null);
  const beta = config.center === false ? null : (layerWeight(layer, 'beta')?.dataSync() ?? null);
  const epsilon = (config.epsilon as number | undefined) ?? 1e-3;
  const channels = mean.length;
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c += 1) {
    scale[c] = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + epsilon);
    shift[c] = (beta ? beta[c]! : 0) - mean[c]! * scale[c]!;
  }
  const dims = input.channelsFirst ? [channels, 1, 1] : [channels];
  const scaled = ctx.graph.op('Mul', [input.name, ctx.floats(`${layer.name}/scale`, scale, dims)]);
  return { ...input, name: ctx.graph.op('Add', [scaled, ctx.floats(`${layer.name}/shift`, shift, dims)]) };
};

/** ONNX InstanceNormalization on NCHW; scale 1 and bias 0 unless the layer is affine; then its activation, if any. */
export const instanceNormalization: LayerMapper = (layer, inputs, ctx, config, outputShape) => {
  const input = onlyInput(inputs);
  if (input.rank !== 4) throw new UnsupportedLayerError(layer.name, layer.getClassName(), `rank-${input.rank} input`);
  const epsilon = (config.epsilon as number | undefined) ?? 1e-5;
  const gammaWeight = layerWeight(layer, 'gamma');
  const betaWeight = layerWeight(layer, 'beta');
  const channels = outputShape[3];
  let scale: string;
  let bias: string;
  if (config.affine === true && gammaWeight && betaWeight) {
    scale = ctx.tensor(`${layer.name}/gamma`, gammaWeight);
    bias = ctx.tensor(`${layer.name}/beta`, betaWeight);
  } else {
    if (channels == null) throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'unknown channel count');
    scale = ctx.floats(`${layer.name}/ones`, new Float32Array(channels).fill(1), [channels]);
    bias = ctx.floats(`${layer.name}/zeros`, new Float32Array(channels), [channels]);
  }
  let y = ctx.graph.op('InstanceNormalization', [ctx.nchw(input), scale, bias], { epsilon: { float: epsilon } });
  if (config.activation === 'relu') y = ctx.graph.op('Relu', [y]);
  if (config.activation === 'leakyrelu')
    y = ctx.graph.op('LeakyRelu', [y], { alpha: { float: (config.alpha as number | undefined) ?? 0.2 } });
  return { name: y, rank: 4, channelsFirst: true, dtype: 'float' };
};

/**
 * LayerNormalization over the channel axis, spelled out in opset-13 ops (ONNX's own
 * LayerNormalization needs opset 17): (x - mean) / sqrt(var + eps) * gamma + beta.
 */
export const layerNormalization: LayerMapper = (layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  const axisConfig = config.axis as number | number[] | undefined;
  const axis = Array.isArray(axisConfig) ? (axisConfig.length === 1 ? axisConfig[0]! : NaN) : (axisConfig ?? -1);
  if (normalizeAxis(axis, input.rank) !== input.rank - 1) {
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `normalization axis ${JSON.stringify(axisConfig)} (only the last axis)`,
    );
  }
  const g = ctx.graph;
  const reduceAxis = input.channelsFirst ? 1 : input.rank - 1;
  const mean = g.op('ReduceMean', [input.name], { axes: [reduceAxis], keepdims: 1 });
  const centered = g.op('Sub', [input.name, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [centered, centered])], { axes: [reduceAxis], keepdims: 1 });
  const epsilon = (config.epsilon as number | undefined) ?? 1e-3;
  let y = g.op('Div', [centered, g.op('Sqrt', [g.op('Add', [variance, ctx.floats(`${layer.name}/epsilon`, [epsilon], [])])])]);
  const perChannel = (weight: tf.Tensor, name: string) => {
    const data = weight.dataSync();
    return ctx.floats(`${layer.name}/${name}`, data, input.channelsFirst ? [data.length, 1, 1] : [data.length]);
  };
  const gamma = config.scale === false ? null : layerWeight(layer, 'gamma');
  const beta = config.center === false ? null : layerWeight(layer, 'beta');
  if (gamma) y = g.op('Mul', [y, perChannel(gamma, 'gamma')]);
  if (beta) y = g.op('Add', [y, perChannel(beta, 'beta')]);
  return { ...input, name: y };
};
