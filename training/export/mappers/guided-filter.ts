/**
 * The custom GuidedFilter layer (training/nets/guided-filter.ts) on NCHW. Its border-clipped box
 * mean is exactly AveragePool with pads r and count_include_pad = 0 (only in-image pixels counted),
 * so the graph is six pools and elementwise ops, valid at any height and width, opset 13 to 17.
 */
import { UnsupportedLayerError } from '../context.ts';
import { boxMean } from './box-blur.ts';
import type { LayerMapper } from './types.ts';

export const guidedFilter: LayerMapper = (layer, inputs, ctx, config) => {
  if (inputs.length !== 2 || inputs.some((v) => v.rank !== 4)) {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'needs two rank-4 inputs [guide, source]');
  }
  const { radius, epsilon } = config;
  if (typeof radius !== 'number' || !Number.isInteger(radius) || radius < 1 || typeof epsilon !== 'number' || !(epsilon > 0)) {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), `radius ${String(radius)}, epsilon ${String(epsilon)}`);
  }
  const g = ctx.graph;
  const [guide, source] = inputs.map((v) => ctx.nchw(v)) as [string, string];
  const box = (x: string) => boxMean(ctx, x, radius);

  const meanGuide = box(guide);
  const meanSource = box(source);
  const covariance = g.op('Sub', [box(g.op('Mul', [guide, source])), g.op('Mul', [meanGuide, meanSource])]);
  const variance = g.op('Sub', [box(g.op('Mul', [guide, guide])), g.op('Mul', [meanGuide, meanGuide])]);
  const a = g.op('Div', [covariance, g.op('Add', [variance, ctx.floats(`${layer.name}/epsilon`, [epsilon], [])])]);
  const b = g.op('Sub', [meanSource, g.op('Mul', [a, meanGuide])]);
  const y = g.op('Add', [g.op('Mul', [box(a), guide]), box(b)]);
  return { name: y, rank: 4, channelsFirst: true, dtype: 'float' };
};
