/**
 * TextureFlatten: posterises an image's luma into hard steps where it is textured and leaves it
 * alone where it is smooth, as a tfjs layer the ONNX exporter maps (mappers/texture-flatten.ts).
 * The painted scenes are flat fills with crisp edges; a photo's grass, leaves and wood are
 * fine-grained texture, which the steps turn into flat patches with crisp borders. Skies and
 * other smooth gradients must not get the steps, or they turn into bands; so the texture measure
 * is the local mean of |luma − blurred luma|, which is near zero on a ramp of any slope (unlike
 * the local standard deviation, which counts a sunset's slope as texture).
 *
 * On NHWC images in [-1, 1], with L the luma in [0, 1] and box_r the border-clipped mean over
 * (2r + 1)² pixels:
 *   texture = box_2(|L − box_1(box_1(box_1(L)))|)
 *   mask    = box_1(clip((texture − low) / (high − low), 0, 1)) · inside
 *   inside  = 0 within 6 px of the border, rising to 1 at 8 px (the border-clipped blur of a ramp
 *             is off there, which would read as texture and draw a step line along the edge)
 *   step    = (floor(L · levels) + ½) / levels − L
 *   out     = clip(x + 2 · mask · step, −1, 1)          (the same shift on r, g and b: hue kept)
 */
import * as tf from '@tensorflow/tfjs';
import { boxFilter } from './guided-filter.ts';
import { withOutputStage } from './output-stage.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface TextureFlattenConfig {
  /** Luma steps over [0, 1]. An integer of 2 or more. */
  levels: number;
  /** Texture (mean |L − blur(L)|, luma in [0, 1]) below which nothing changes. */
  low: number;
  /** Texture above which the steps apply in full; between the two they fade in. */
  high: number;
}

/** BT.601 luma weights, as the eval's grey SSIM and the colour anchor use. */
export const LUMA_WEIGHTS = [0.299, 0.587, 0.114] as const;
/** Box radii of the blur (three passes, about a Gaussian of σ 1.4 px), the texture mean and the mask's softening. */
export const FLATTEN_RADII = { blur: 1, blurPasses: 3, texture: 2, mask: 1, edgeFade: 8 } as const;

/**
 * The border strip the steps leave out: the blur, texture and mask windows reach 3 + 2 + 1 = 6
 * pixels, and within that the border-clipped blur of a ramp reads as texture. The fade comes from
 * the share of a zero-padded (2R + 1)² window inside the image, (R + 1 + d)/(2R + 1) at d pixels
 * from one edge (R = edgeFade): 0 up to 6 pixels in, rising to 1 at R.
 */
export const EDGE_FADE = { fromShare: (FLATTEN_RADII.edgeFade + 7) / (2 * FLATTEN_RADII.edgeFade + 1) } as const;

export function checkTextureFlattenConfig({ levels, low, high }: TextureFlattenConfig): void {
  if (!Number.isInteger(levels) || levels < 2) throw new Error(`TextureFlatten: levels must be an integer ≥ 2, got ${levels}`);
  if (!(low >= 0 && high > low)) throw new Error(`TextureFlatten: needs 0 ≤ low < high, got ${low} and ${high}`);
}

export class TextureFlatten extends tf.layers.Layer {
  static className = 'TextureFlatten';
  readonly levels: number;
  readonly low: number;
  readonly high: number;

  constructor(args: LayerArgs & TextureFlattenConfig) {
    super(args);
    checkTextureFlattenConfig(args);
    this.levels = args.levels;
    this.low = args.low;
    this.high = args.high;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [, height, width] = x.shape;
      const box = (radius: number) => boxFilter(radius, height, width);
      const luma = tf.div(tf.add(tf.sum(tf.mul(x, tf.tensor1d([...LUMA_WEIGHTS])), 3, true), 1), 2);
      let blurred: tf.Tensor = luma;
      for (let i = 0; i < FLATTEN_RADII.blurPasses; i++) blurred = box(FLATTEN_RADII.blur)(blurred);
      const texture = box(FLATTEN_RADII.texture)(tf.abs(tf.sub(luma, blurred)));
      const ramp = tf.clipByValue(tf.div(tf.sub(texture, this.low), this.high - this.low), 0, 1);
      const mask = tf.mul(box(FLATTEN_RADII.mask)(ramp), insideWeight(height, width));
      const step = tf.sub(tf.div(tf.add(tf.floor(tf.mul(luma, this.levels)), 0.5), this.levels), luma);
      return tf.clipByValue(tf.add(x, tf.mul(2, tf.mul(mask, step))), -1, 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), levels: this.levels, low: this.low, high: this.high };
  }
}

tf.serialization.registerClass(TextureFlatten);

/** [1, H, W, 1]: 0 near the border, 1 from FLATTEN_RADII.edgeFade pixels in (see EDGE_FADE). */
function insideWeight(height: number, width: number): tf.Tensor {
  const radius = FLATTEN_RADII.edgeFade;
  const side = 2 * radius + 1;
  const padded = tf.pad(tf.ones([1, height, width, 1]) as tf.Tensor4D, [
    [0, 0],
    [radius, radius],
    [radius, radius],
    [0, 0],
  ]);
  const share = tf.avgPool(padded, [side, side], 1, 'valid');
  return tf.clipByValue(tf.div(tf.sub(share, EDGE_FADE.fromShare), 1 - EDGE_FADE.fromShare), 0, 1);
}

/** The generator with a TextureFlatten on its output. */
export function withTextureFlatten(generator: tf.LayersModel, config: TextureFlattenConfig): tf.LayersModel {
  return withOutputStage(
    generator,
    'flattened',
    (_input, output) => new TextureFlatten({ ...config, name: `${generator.name}_texture_flatten` }).apply(output) as tf.SymbolicTensor,
  );
}

/**
 * TextureFlatten forward, identity backward (a straight-through estimator): the steps have no
 * gradient, so a generator trained through them gets its gradient as if they were not there,
 * while the discriminator judges the flattened image that the exported graph will output.
 */
export function straightThroughFlatten(config: TextureFlattenConfig): (x: tf.Tensor4D) => tf.Tensor4D {
  const layer = new TextureFlatten(config);
  const flatten = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x] = args as [tf.Tensor];
    return { value: layer.apply(x) as tf.Tensor, gradFunc: (dy: tf.Tensor) => dy };
  });
  return (x) => flatten(x) as tf.Tensor4D;
}
