/**
 * Conv2D and Conv2DTranspose on NCHW, with TensorFlow's padding rules reproduced exactly.
 *
 * TF 'same' for a conv pads a total of max((ceil(in / s) - 1) * s + (k - 1) * d + 1 - in, 0),
 * with floor(total / 2) before and the rest after. With stride 1 the total is (k - 1) * d for any
 * input size, so explicit pads are exact. With stride > 1 it depends on the input size, which may
 * be dynamic, so the node uses auto_pad SAME_UPPER, ONNX's name for this very rule (extra pad at
 * the end). TF does not allow dilation together with stride > 1.
 *
 * TF conv-transpose is the gradient of that forward conv: the full transposed output
 * (in - 1) * s + k is cropped by the forward conv's pads, and output_padding adds the rows 'valid'
 * or k < s leave at the end. Neither depends on the input size.
 */
import type * as tf from '@tensorflow/tfjs';
import { type ExportContext, type LayerConfig, layerWeight, requiredWeight, UnsupportedLayerError } from '../context.ts';
import { applyActivation } from './activations.ts';
import { type LayerMapper, onlyInput } from './types.ts';

/** tfjs kernels [kh, kw, a, b] → ONNX [b, a, kh, kw] (Conv: a=in, b=out; ConvTranspose: a=out, b=in). */
const KERNEL_TO_ONNX = [3, 2, 0, 1];

function pair(value: unknown, name: string, layer: tf.layers.Layer): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 1) return [value[0], value[0]];
  if (Array.isArray(value) && value.length === 2) return [value[0], value[1]];
  throw new UnsupportedLayerError(layer.name, layer.getClassName(), `${name} ${JSON.stringify(value)}`);
}

function checkChannelsLast(layer: tf.layers.Layer, config: LayerConfig): void {
  if (config.dataFormat === 'channelsFirst') throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dataFormat channelsFirst');
}

/** The bias initializer as a Conv/ConvTranspose input list: empty when the layer has none. */
function bias(layer: tf.layers.Layer, config: LayerConfig, ctx: ExportContext): string[] {
  if (config.useBias === false) return [];
  const weight = layerWeight(layer, 'bias');
  return weight ? [ctx.tensor(`${layer.name}/bias`, weight)] : [];
}

export const conv2d: LayerMapper = (layer, inputs, ctx, config) => {
  checkChannelsLast(layer, config);
  const input = onlyInput(inputs);
  const kernel = pair(config.kernelSize, 'kernelSize', layer);
  const strides = pair(config.strides ?? 1, 'strides', layer);
  const dilations = pair(config.dilationRate ?? 1, 'dilationRate', layer);
  const attrs: Record<string, number[] | string> = { kernel_shape: kernel, strides, dilations };
  if (config.padding === 'same') {
    if (strides[0] === 1 && strides[1] === 1) {
      const totals = kernel.map((k, i) => (k - 1) * dilations[i]!);
      attrs.pads = [Math.floor(totals[0]! / 2), Math.floor(totals[1]! / 2), Math.ceil(totals[0]! / 2), Math.ceil(totals[1]! / 2)];
    } else if (dilations[0] === 1 && dilations[1] === 1) {
      attrs.auto_pad = 'SAME_UPPER';
    } else {
      throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dilation together with stride > 1');
    }
  } else if (config.padding === 'valid') {
    attrs.pads = [0, 0, 0, 0];
  } else {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), `padding "${String(config.padding)}"`);
  }
  const weight = ctx.tensor(`${layer.name}/kernel`, requiredWeight(layer, 'kernel'), KERNEL_TO_ONNX);
  const y = ctx.graph.op('Conv', [ctx.nchw(input), weight, ...bias(layer, config, ctx)], attrs);
  return applyActivation(ctx, { name: y, rank: 4, channelsFirst: true, dtype: 'float' }, config.activation, layer);
};

export const conv2dTranspose: LayerMapper = (layer, inputs, ctx, config) => {
  checkChannelsLast(layer, config);
  const input = onlyInput(inputs);
  const kernel = pair(config.kernelSize, 'kernelSize', layer);
  const strides = pair(config.strides ?? 1, 'strides', layer);
  const dilations = pair(config.dilationRate ?? 1, 'dilationRate', layer);
  if (dilations[0] !== 1 || dilations[1] !== 1) throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dilated conv-transpose');
  if (config.padding !== 'same' && config.padding !== 'valid') {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), `padding "${String(config.padding)}"`);
  }
  const before: number[] = [];
  const after: number[] = [];
  const outputPadding: number[] = [];
  for (let i = 0; i < 2; i += 1) {
    const [k, s] = [kernel[i]!, strides[i]!];
    // tfjs output length: in * s ('same') or in * s + max(k - s, 0) ('valid'), written as in * s + extra.
    const extra = config.padding === 'same' ? 0 : Math.max(k - s, 0);
    const total = config.padding === 'same' ? Math.max(k - s, 0) : 0;
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
    // (in - 1) * s + k - total + outputPadding = in * s + extra
    outputPadding.push(s - k + total + extra);
  }
  const weight = ctx.tensor(`${layer.name}/kernel`, requiredWeight(layer, 'kernel'), KERNEL_TO_ONNX);
  const y = ctx.graph.op('ConvTranspose', [ctx.nchw(input), weight, ...bias(layer, config, ctx)], {
    kernel_shape: kernel,
    strides,
    pads: [...before, ...after],
    output_padding: outputPadding,
  });
  return applyActivation(ctx, { name: y, rank: 4, channelsFirst: true, dtype: 'float' }, config.activation, layer);
};
