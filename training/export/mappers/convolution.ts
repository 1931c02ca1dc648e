/**
 * Convolutions with TensorFlow's padding rules reproduced exactly (see padding-rules.ts):
 * Conv2D, DepthwiseConv2D and SeparableConv2D on NCHW, Conv1D on [N, C, T] between transposes,
 * and Conv2DTranspose.
 *
 * TF conv-transpose is the gradient of a forward conv: the full transposed output
 * (in - 1) * s + k is cropped by that forward conv's pads (total max(k - s, 0) for 'same', none for
 * 'valid'), and output_padding adds the rows 'valid' or k < s leave at the end, so that the output
 * is in * s ('same') or in * s + max(k - s, 0) ('valid'). None of this depends on the input size.
 */
import * as tf from '@tensorflow/tfjs';
import { type ExportContext, type LayerConfig, layerWeight, requiredWeight, UnsupportedLayerError } from '../context.ts';
import { applyActivation } from './activations.ts';
import { perDimension, tfPadding } from './padding-rules.ts';
import { type LayerMapper, onlyInput } from './types.ts';

/** tfjs kernels [kh, kw, a, b] → ONNX [b, a, kh, kw] (Conv: a=in, b=out; ConvTranspose: a=out, b=in). */
const KERNEL_TO_ONNX = [3, 2, 0, 1];

function checkChannelsLast(layer: tf.layers.Layer, config: LayerConfig): void {
  if (config.dataFormat === 'channelsFirst') throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dataFormat channelsFirst');
}

/** The bias initializer as a Conv/ConvTranspose input list: empty when the layer has none. */
function bias(layer: tf.layers.Layer, config: LayerConfig, ctx: ExportContext): string[] {
  if (config.useBias === false) return [];
  const weight = layerWeight(layer, 'bias');
  return weight ? [ctx.tensor(`${layer.name}/bias`, weight)] : [];
}

/** Kernel size, strides, dilations and padding attributes of a 2D layer. */
function geometry2d(layer: tf.layers.Layer, config: LayerConfig) {
  const kernel = perDimension(config.kernelSize, 2, 'kernelSize', layer);
  const strides = perDimension(config.strides ?? 1, 2, 'strides', layer);
  const dilations = perDimension(config.dilationRate ?? 1, 2, 'dilationRate', layer);
  return { kernel_shape: kernel, strides, dilations, ...tfPadding(layer, config.padding, kernel, strides, dilations) };
}

export const conv2d: LayerMapper = (layer, inputs, ctx, config) => {
  checkChannelsLast(layer, config);
  const weight = ctx.tensor(`${layer.name}/kernel`, requiredWeight(layer, 'kernel'), KERNEL_TO_ONNX);
  const y = ctx.graph.op('Conv', [ctx.nchw(onlyInput(inputs)), weight, ...bias(layer, config, ctx)], geometry2d(layer, config));
  return applyActivation(ctx, { name: y, rank: 4, channelsFirst: true, dtype: 'float' }, config.activation, layer);
};

/**
 * A depthwise conv as a grouped Conv (one group per input channel). tfjs's kernel
 * [kh, kw, C, M] gives output channel c * M + m; ONNX wants [C * M, 1, kh, kw] in that order.
 */
function depthwise(
  layer: tf.layers.Layer,
  ctx: ExportContext,
  input: string,
  kernel: tf.Tensor,
  attrs: ReturnType<typeof geometry2d>,
  biasInputs: string[],
): string {
  const [kh, kw, channels, multiplier] = kernel.shape as [number, number, number, number];
  const grouped = tf.tidy(() => kernel.transpose([2, 3, 0, 1]).reshape([channels * multiplier, 1, kh, kw]));
  let arranged: string;
  try {
    arranged = ctx.tensor(`${layer.name}/depthwise_kernel`, grouped);
  } finally {
    grouped.dispose();
  }
  return ctx.graph.op('Conv', [input, arranged, ...biasInputs], { ...attrs, group: channels });
}

export const depthwiseConv2d: LayerMapper = (layer, inputs, ctx, config) => {
  checkChannelsLast(layer, config);
  const y = depthwise(
    layer,
    ctx,
    ctx.nchw(onlyInput(inputs)),
    requiredWeight(layer, 'depthwise_kernel'),
    geometry2d(layer, config),
    bias(layer, config, ctx),
  );
  return applyActivation(ctx, { name: y, rank: 4, channelsFirst: true, dtype: 'float' }, config.activation, layer);
};

/** Depthwise conv (strides, padding, dilation) then a 1×1 pointwise conv with the bias. */
export const separableConv2d: LayerMapper = (layer, inputs, ctx, config) => {
  checkChannelsLast(layer, config);
  const spread = depthwise(
    layer,
    ctx,
    ctx.nchw(onlyInput(inputs)),
    requiredWeight(layer, 'depthwise_kernel'),
    geometry2d(layer, config),
    [],
  );
  const pointwise = ctx.tensor(`${layer.name}/pointwise_kernel`, requiredWeight(layer, 'pointwise_kernel'), KERNEL_TO_ONNX);
  const y = ctx.graph.op('Conv', [spread, pointwise, ...bias(layer, config, ctx)], { kernel_shape: [1, 1] });
  return applyActivation(ctx, { name: y, rank: 4, channelsFirst: true, dtype: 'float' }, config.activation, layer);
};

/** [N, T, C] → [N, C, T] → Conv → back. (tfjs itself does not run 'causal' padding.) */
export const conv1d: LayerMapper = (layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  const kernel = perDimension(config.kernelSize, 1, 'kernelSize', layer);
  const strides = perDimension(config.strides ?? 1, 1, 'strides', layer);
  const dilations = perDimension(config.dilationRate ?? 1, 1, 'dilationRate', layer);
  const padding = tfPadding(layer, config.padding, kernel, strides, dilations);
  const weight = ctx.tensor(`${layer.name}/kernel`, requiredWeight(layer, 'kernel'), [2, 1, 0]);
  const channelsFirst = ctx.graph.op('Transpose', [ctx.tfjsLayout(input)], { perm: [0, 2, 1] });
  const conv = ctx.graph.op('Conv', [channelsFirst, weight, ...bias(layer, config, ctx)], {
    kernel_shape: kernel,
    strides,
    dilations,
    ...padding,
  });
  const y = ctx.graph.op('Transpose', [conv], { perm: [0, 2, 1] });
  return applyActivation(ctx, { name: y, rank: 3, channelsFirst: false, dtype: 'float' }, config.activation, layer);
};

export const conv2dTranspose: LayerMapper = (layer, inputs, ctx, config) => {
  checkChannelsLast(layer, config);
  const kernel = perDimension(config.kernelSize, 2, 'kernelSize', layer);
  const strides = perDimension(config.strides ?? 1, 2, 'strides', layer);
  const dilations = perDimension(config.dilationRate ?? 1, 2, 'dilationRate', layer);
  if (dilations.some((d) => d !== 1)) throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dilated conv-transpose');
  if (config.padding !== 'same' && config.padding !== 'valid') {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), `padding "${String(config.padding)}"`);
  }
  const before: number[] = [];
  const after: number[] = [];
  const outputPadding: number[] = [];
  kernel.forEach((k, i) => {
    const s = strides[i]!;
    const total = config.padding === 'same' ? Math.max(k - s, 0) : 0;
    const extra = config.padding === 'same' ? 0 : Math.max(k - s, 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
    // (in - 1) * s + k - total + outputPadding = in * s + extra
    outputPadding.push(s - k + total + extra);
  });
  const weight = ctx.tensor(`${layer.name}/kernel`, requiredWeight(layer, 'kernel'), KERNEL_TO_ONNX);
  const y = ctx.graph.op('ConvTranspose', [ctx.nchw(onlyInput(inputs)), weight, ...bias(layer, config, ctx)], {
    kernel_shape: kernel,
    strides,
    pads: [...before, ...after],
    output_padding: outputPadding,
  });
  return applyActivation(ctx, { name: y, rank: 4, channelsFirst: true, dtype: 'float' }, config.activation, layer);
};
