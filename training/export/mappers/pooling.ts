/**
 * Pooling: MaxPooling2D and AveragePooling2D with TF padding rules (the average leaves padded
 * cells out, as TF does), and global average/max pooling, whose result is [N, C].
 */
import { UnsupportedLayerError } from '../context.ts';
import { perDimension, tfPadding } from './padding-rules.ts';
import { type LayerMapper, onlyInput } from './types.ts';

function pool2d(opType: 'MaxPool' | 'AveragePool'): LayerMapper {
  return (layer, inputs, ctx, config) => {
    if (config.dataFormat === 'channelsFirst')
      throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dataFormat channelsFirst');
    const kernel = perDimension(config.poolSize, 2, 'poolSize', layer);
    const strides = perDimension(config.strides ?? config.poolSize, 2, 'strides', layer);
    const attrs = { kernel_shape: kernel, strides, ...tfPadding(layer, config.padding, kernel, strides, [1, 1]) };
    return { name: ctx.graph.op(opType, [ctx.nchw(onlyInput(inputs))], attrs), rank: 4, channelsFirst: true, dtype: 'float' };
  };
}

export const maxPooling2d = pool2d('MaxPool');
export const averagePooling2d = pool2d('AveragePool');

function globalPool2d(opType: 'ReduceMean' | 'ReduceMax'): LayerMapper {
  return (layer, inputs, ctx, config) => {
    if (config.dataFormat === 'channelsFirst')
      throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dataFormat channelsFirst');
    const y = ctx.graph.op(opType, [ctx.nchw(onlyInput(inputs))], { axes: [2, 3], keepdims: 0 });
    return { name: y, rank: 2, channelsFirst: false, dtype: 'float' };
  };
}

export const globalAveragePooling2d = globalPool2d('ReduceMean');
export const globalMaxPooling2d = globalPool2d('ReduceMax');

/** Mean over the steps of [N, T, C]. */
export const globalAveragePooling1d: LayerMapper = (_layer, inputs, ctx) => {
  const y = ctx.graph.op('ReduceMean', [ctx.tfjsLayout(onlyInput(inputs))], { axes: [1], keepdims: 0 });
  return { name: y, rank: 2, channelsFirst: false, dtype: 'float' };
};
