/**
 * The CIELAB layers (training/nets/lab-layers.ts) on NCHW, with the constants of nets/cielab.ts.
 * Every linear step becomes a 1×1 Conv: the RGB → Y row, and for LabToRgb the affine map from
 * normalised (L, a, b) to (fx, fy, fz) and the XYZ → RGB matrix with the white point folded in.
 * The piecewise curves are Where over both branches; each power branch gets its input clamped
 * to its own domain first, so no branch makes a NaN.
 */
import {
  D65_WHITE,
  LAB_EPSILON,
  LAB_KAPPA,
  LIGHTNESS_HALF,
  RGB_TO_XYZ,
  SRGB_ENCODED_KNEE,
  SRGB_LINEAR_KNEE,
  XYZ_TO_RGB,
} from '../../nets/cielab.ts';
import { type ExportContext, UnsupportedLayerError } from '../context.ts';
import type { LayerMapper } from './types.ts';

class CurveBuilder {
  constructor(
    private readonly ctx: ExportContext,
    private readonly prefix: string,
  ) {}

  scalar(value: number): string {
    return this.ctx.floats(`${this.prefix}/c`, [value], []);
  }

  op(type: string, ...inputs: string[]): string {
    return this.ctx.graph.op(type, inputs);
  }

  /** x · scale + offset. */
  affine(x: string, scale: number, offset: number): string {
    return this.op('Add', this.op('Mul', x, this.scalar(scale)), this.scalar(offset));
  }

  /** A 1×1 convolution by `matrix` (rows: output channels), plus `bias`. */
  mix(x: string, matrix: readonly (readonly number[])[], bias?: readonly number[]): string {
    const weights = this.ctx.floats(
      `${this.prefix}/mix`,
      matrix.flatMap((row) => [...row]),
      [matrix.length, matrix[0]!.length, 1, 1],
    );
    const inputs = bias === undefined ? [x, weights] : [x, weights, this.ctx.floats(`${this.prefix}/bias`, bias, [bias.length])];
    return this.ctx.graph.op('Conv', inputs, { kernel_shape: [1, 1] });
  }

  clip(x: string, low: number, high: number): string {
    return this.ctx.graph.op('Clip', [x, this.scalar(low), this.scalar(high)]);
  }

  /** where(x ≤ knee, below, above). */
  piecewise(x: string, knee: number, below: string, above: string): string {
    return this.op('Where', this.op('LessOrEqual', x, this.scalar(knee)), below, above);
  }

  srgbToLinear(v: string): string {
    const curve = this.op('Pow', this.affine(v, 1 / 1.055, 0.055 / 1.055), this.scalar(2.4));
    return this.piecewise(v, SRGB_ENCODED_KNEE, this.op('Mul', v, this.scalar(1 / 12.92)), curve);
  }

  linearToSrgb(v: string): string {
    const curve = this.affine(this.op('Pow', this.op('Max', v, this.scalar(SRGB_LINEAR_KNEE)), this.scalar(1 / 2.4)), 1.055, -0.055);
    return this.piecewise(v, SRGB_LINEAR_KNEE, this.op('Mul', v, this.scalar(12.92)), curve);
  }

  labF(t: string): string {
    const root = this.op('Pow', this.op('Max', t, this.scalar(LAB_EPSILON)), this.scalar(1 / 3));
    return this.piecewise(t, LAB_EPSILON, this.affine(t, LAB_KAPPA / 116, 16 / 116), root);
  }

  labFInverse(f: string): string {
    return this.piecewise(f, 6 / 29, this.affine(f, 116 / LAB_KAPPA, -16 / LAB_KAPPA), this.op('Pow', f, this.scalar(3)));
  }
}

export const rgbToLightness: LayerMapper = (layer, inputs, ctx) => {
  if (inputs.length !== 1 || inputs[0]!.rank !== 4)
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'needs one NHWC RGB input');
  const c = new CurveBuilder(ctx, layer.name);
  const unit = c.affine(c.clip(ctx.nchw(inputs[0]!), -1, 1), 0.5, 0.5);
  const luminance = c.mix(c.srgbToLinear(unit), [RGB_TO_XYZ[1]]);
  // L* / 50 − 1 = (116 f − 16) / 50 − 1
  const lightness = c.affine(c.labF(luminance), 116 / LIGHTNESS_HALF, -16 / LIGHTNESS_HALF - 1);
  return { name: lightness, rank: 4, channelsFirst: true, dtype: 'float' };
};

export const labToRgb: LayerMapper = (layer, inputs, ctx, config) => {
  if (inputs.length !== 2 || inputs.some((v) => v.rank !== 4))
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'needs [lightness, chroma], both rank 4');
  const scale = config.chromaScale;
  if (typeof scale !== 'number' || !(scale > 0))
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), `chromaScale ${String(scale)}`);
  const c = new CurveBuilder(ctx, layer.name);
  const lab = ctx.graph.op(
    'Concat',
    inputs.map((v) => ctx.nchw(v)),
    { axis: 1 },
  );
  // fy = (L* + 16)/116 with L* = 50 (l + 1); fx = fy + a* / 500; fz = fy − b* / 200; a* = s·a, b* = s·b.
  const k = LIGHTNESS_HALF / 116;
  const f = c.mix(
    lab,
    [
      [k, scale / 500, 0],
      [k, 0, 0],
      [k, 0, -scale / 200],
    ],
    [1, 1, 1].map(() => (LIGHTNESS_HALF + 16) / 116),
  );
  const xyzToRgbWithWhite = XYZ_TO_RGB.map((row) => row.map((value, column) => value * D65_WHITE[column]!));
  const linear = c.clip(c.mix(c.labFInverse(f), xyzToRgbWithWhite), 0, 1);
  const rgb = c.affine(c.linearToSrgb(linear), 2, -1);
  return { name: rgb, rank: 4, channelsFirst: true, dtype: 'float' };
};
