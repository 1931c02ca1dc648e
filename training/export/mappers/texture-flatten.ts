/**
 * The custom TextureFlatten layer (training/nets/texture-flatten.ts) on NCHW: luma as a 1×1 Conv,
 * the blurs and means as border-clipped AveragePools (BoxBlur's), the fade at the border as a
 * zero-padded one, the steps with Floor; opset 13 to 17, at any height and width.
 */
import { UnsupportedLayerError } from '../context.ts';
import { checkTextureFlattenConfig, EDGE_FADE, FLATTEN_RADII, LUMA_WEIGHTS } from '../../nets/texture-flatten.ts';
import { boxMean } from './box-blur.ts';
import type { LayerMapper } from './types.ts';

export const textureFlatten: LayerMapper = (layer, inputs, ctx, config) => {
  const { levels, low, high } = config as { levels: number; low: number; high: number };
  try {
    if (inputs.length !== 1 || inputs[0]!.rank !== 4) throw new Error('needs one rank-4 input');
    checkTextureFlattenConfig({ levels, low, high });
  } catch (error) {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), (error as Error).message);
  }
  const g = ctx.graph;
  const x = ctx.nchw(inputs[0]!);
  const scalar = (name: string, value: number) => ctx.floats(`${layer.name}/${name}`, [value], []);
  // Luma in [0, 1] of an image in [-1, 1]: ½·(w·x) + ½.
  const weights = ctx.floats(
    `${layer.name}/luma`,
    LUMA_WEIGHTS.map((w) => w / 2),
    [1, 3, 1, 1],
  );
  const luma = g.op('Conv', [x, weights, ctx.floats(`${layer.name}/half`, [0.5], [1])], { kernel_shape: [1, 1] });
  let blurred = luma;
  for (let i = 0; i < FLATTEN_RADII.blurPasses; i++) blurred = boxMean(ctx, blurred, FLATTEN_RADII.blur);
  const texture = boxMean(ctx, g.op('Abs', [g.op('Sub', [luma, blurred])]), FLATTEN_RADII.texture);
  const ramp = g.op('Mul', [g.op('Sub', [texture, scalar('low', low)]), scalar('inverse_width', 1 / (high - low))]);
  const zero = scalar('zero', 0);
  const one = scalar('one', 1);
  // The share of a zero-padded window inside the image, rescaled: 0 near the border, 1 from edgeFade in.
  const side = 2 * FLATTEN_RADII.edgeFade + 1;
  const share = g.op('AveragePool', [g.op('Add', [g.op('Mul', [luma, zero]), one])], {
    kernel_shape: [side, side],
    strides: [1, 1],
    pads: Array(4).fill(FLATTEN_RADII.edgeFade),
    count_include_pad: 1,
  });
  const inside = g.op('Clip', [
    g.op('Div', [g.op('Sub', [share, scalar('fade_from', EDGE_FADE.fromShare)]), scalar('fade_width', 1 - EDGE_FADE.fromShare)]),
    zero,
    one,
  ]);
  const mask = g.op('Mul', [boxMean(ctx, g.op('Clip', [ramp, zero, one]), FLATTEN_RADII.mask), inside]);
  const levelsValue = scalar('levels', levels);
  const stepped = g.op('Div', [g.op('Add', [g.op('Floor', [g.op('Mul', [luma, levelsValue])]), scalar('centre', 0.5)]), levelsValue]);
  const shift = g.op('Mul', [scalar('two', 2), g.op('Mul', [mask, g.op('Sub', [stepped, luma])])]);
  const y = g.op('Clip', [g.op('Add', [x, shift]), scalar('low_clip', -1), scalar('high_clip', 1)]);
  return { name: y, rank: 4, channelsFirst: true, dtype: 'float' };
};
