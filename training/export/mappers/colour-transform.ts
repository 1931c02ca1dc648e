/**
 * The custom LocalColourTransform layer (training/nets/colour-transform.ts) on NCHW: the
 * coefficients split into four 3-channel groups and the image into its three channels, then
 * x + r·C0 + g·C1 + b·C2 + C3 (each product broadcast over the group's channels), clipped to [-1, 1].
 */
import { UnsupportedLayerError } from '../context.ts';
import type { LayerMapper } from './types.ts';

export const localColourTransform: LayerMapper = (layer, inputs, ctx) => {
  if (inputs.length !== 2 || inputs.some((v) => v.rank !== 4)) {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'needs two rank-4 inputs [coefficients, image]');
  }
  const g = ctx.graph;
  const [coefficients, image] = inputs.map((v) => ctx.nchw(v)) as [string, string];
  const [fromRed, fromGreen, fromBlue, offset] = g.node('Split', [coefficients], { axis: 1 }, 4) as [string, string, string, string];
  const [red, green, blue] = g.node('Split', [image], { axis: 1 }, 3) as [string, string, string];
  const change = g.op('Sum', [g.op('Mul', [red, fromRed]), g.op('Mul', [green, fromGreen]), g.op('Mul', [blue, fromBlue]), offset]);
  const y = g.op('Clip', [
    g.op('Add', [image, change]),
    ctx.floats(`${layer.name}/low`, [-1], []),
    ctx.floats(`${layer.name}/high`, [1], []),
  ]);
  return { name: y, rank: 4, channelsFirst: true, dtype: 'float' };
};
