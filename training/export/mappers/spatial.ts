/**
 * Spatial layers on NCHW: zero and reflection padding, nearest/bilinear upsampling.
 */
import { UnsupportedLayerError } from '../context.ts';
import { type LayerMapper, onlyInput } from './types.ts';

type Padding2D = [[number, number], [number, number]];

function pad(mode: 'constant' | 'reflect'): LayerMapper {
  return (layer, inputs, ctx, config) => {
    const input = onlyInput(inputs);
    if (config.dataFormat === 'channelsFirst')
      throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dataFormat channelsFirst');
    const [[top, bottom], [left, right]] = config.padding as Padding2D;
    const pads = ctx.graph.int64s(`${layer.name}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
    return { name: ctx.graph.op('Pad', [ctx.nchw(input), pads], { mode }), rank: 4, channelsFirst: true, dtype: input.dtype };
  };
}

export const zeroPadding2d = pad('constant');
export const reflectionPadding2d = pad('reflect');

/**
 * tfjs UpSampling2D resizes with alignCorners = false and halfPixelCenters = false, which is
 * ONNX Resize's 'asymmetric' mode (nearest rounds down).
 */
export const upSampling2d: LayerMapper = (layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  if (config.dataFormat === 'channelsFirst') throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dataFormat channelsFirst');
  const [sh, sw] = config.size as [number, number];
  const interpolation = (config.interpolation as string | undefined) ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), `interpolation "${interpolation}"`);
  }
  const scales = ctx.floats(`${layer.name}/scales`, [1, 1, sh, sw], [4]);
  const attrs: Record<string, string> =
    interpolation === 'nearest'
      ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
      : { mode: 'linear', coordinate_transformation_mode: 'asymmetric' };
  return { name: ctx.graph.op('Resize', [ctx.nchw(input), '', scales], attrs), rank: 4, channelsFirst: true, dtype: 'float' };
};
