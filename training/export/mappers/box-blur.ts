/** The custom BoxBlur layer (training/nets/box-blur.ts): one AveragePool counting in-image pixels only. */
import { type ExportContext, UnsupportedLayerError } from '../context.ts';
import type { LayerMapper } from './types.ts';

/**
 * The border-clipped box mean over (2r+1)² of an NCHW value: AveragePool with pads r and
 * count_include_pad = 0, so only in-image pixels are counted (also GuidedFilter's box).
 */
export function boxMean(ctx: ExportContext, x: string, radius: number): string {
  const side = 2 * radius + 1;
  return ctx.graph.op('AveragePool', [x], {
    kernel_shape: [side, side],
    strides: [1, 1],
    pads: [radius, radius, radius, radius],
    count_include_pad: 0,
  });
}

export const boxBlur: LayerMapper = (layer, inputs, ctx, config) => {
  const { radius } = config;
  if (inputs.length !== 1 || inputs[0]!.rank !== 4 || typeof radius !== 'number' || !Number.isInteger(radius) || radius < 1) {
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `needs one rank-4 input and a positive integer radius, got ${String(radius)}`,
    );
  }
  const y = boxMean(ctx, ctx.nchw(inputs[0]!), radius);
  return { name: y, rank: 4, channelsFirst: true, dtype: 'float' };
};
