/** The custom BoxBlur layer (training/nets/box-blur.ts): one AveragePool counting in-image pixels only. */
import { UnsupportedLayerError } from '../context.ts';
import type { LayerMapper } from './types.ts';

export const boxBlur: LayerMapper = (layer, inputs, ctx, config) => {
  const { radius } = config;
  if (inputs.length !== 1 || inputs[0]!.rank !== 4 || typeof radius !== 'number' || !Number.isInteger(radius) || radius < 1) {
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `needs one rank-4 input and a positive integer radius, got ${String(radius)}`,
    );
  }
  const side = 2 * radius + 1;
  const y = ctx.graph.op('AveragePool', [ctx.nchw(inputs[0]!)], {
    kernel_shape: [side, side],
    strides: [1, 1],
    pads: [radius, radius, radius, radius],
    count_include_pad: 0,
  });
  return { name: y, rank: 4, channelsFirst: true, dtype: 'float' };
};
