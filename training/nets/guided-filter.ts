/**
 * Edge-preserving guided filter (He et al. 2010, "Guided Image Filtering") as a tfjs layer the ONNX
 * exporter maps (mappers/guided-filter.ts). A translator's output is smoothed where the guide is
 * flat and kept sharp where the guide has edges, which flattens colour regions into the cel-shaded
 * look; White-box Cartoonization applies it to its network output at inference, and here it becomes
 * part of the exported graph rather than a post-processing step every server would need to repeat.
 *
 * Per channel, with box() the mean over the (2r+1)² window clipped at the image border:
 *   a = (box(I·p) − box(I)·box(p)) / (box(I²) − box(I)² + ε),  b = box(p) − a·box(I),
 *   q = box(a)·I + box(b).
 *
 * Why box() is not tf.avgPool(x, k, 1, 'same'): tfjs's forward pass already leaves the padding out
 * of the mean, but its gradient (AvgPoolGrad on cpu and wasm) divides by k² everywhere, so border
 * gradients come out wrong. Zero padding plus a 'valid' pool has consistent gradients; the result
 * is rescaled by k² / (in-image pixels per window), a constant of H and W.
 */
import * as tf from '@tensorflow/tfjs';
import { withOutputStage } from './output-stage.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = (number | null)[];

export interface GuidedFilterConfig {
  /** Window radius r: box means are over (2r + 1)² pixels. A positive integer. */
  radius: number;
  /** Regularizer ε: edges whose local variance is well below it are smoothed away. Positive. */
  epsilon: number;
}

export type GuidedFilterArgs = LayerArgs & GuidedFilterConfig;

/**
 * Called on [guide, source], both NHWC of the same shape; returns the filtered source. Works at
 * any height and width, and is differentiable in both inputs.
 */
export class GuidedFilter extends tf.layers.Layer {
  static className = 'GuidedFilter';
  readonly radius: number;
  readonly epsilon: number;

  constructor(args: GuidedFilterArgs) {
    super(args);
    if (!Number.isInteger(args.radius) || args.radius < 1)
      throw new Error(`GuidedFilter: radius must be a positive integer, got ${args.radius}`);
    if (!(args.epsilon > 0)) throw new Error(`GuidedFilter: epsilon must be positive, got ${args.epsilon}`);
    this.radius = args.radius;
    this.epsilon = args.epsilon;
  }

  override build(inputShape: Shape | Shape[]): void {
    const [guide, source] = guideAndSourceShapes(inputShape);
    if (guide.length !== 4 || source.length !== 4) throw new Error('GuidedFilter expects two NHWC inputs');
    guide.forEach((size, axis) => {
      const other = source[axis];
      if (size != null && other != null && size !== other) {
        throw new Error(`GuidedFilter: guide shape [${guide}] differs from source shape [${source}]`);
      }
    });
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error('GuidedFilter is called on [guide, source]');
      const guide = inputs[0] as tf.Tensor4D;
      const source = inputs[1] as tf.Tensor4D;
      if (guide.shape.join() !== source.shape.join()) {
        throw new Error(`GuidedFilter: guide shape [${guide.shape}] differs from source shape [${source.shape}]`);
      }
      const box = boxFilter(this.radius, guide.shape[1], guide.shape[2]);
      const meanGuide = box(guide);
      const meanSource = box(source);
      const covariance = tf.sub(box(tf.mul(guide, source)), tf.mul(meanGuide, meanSource));
      const variance = tf.sub(box(tf.square(guide)), tf.square(meanGuide));
      const a = tf.div(covariance, tf.add(variance, this.epsilon));
      const b = tf.sub(meanSource, tf.mul(a, meanGuide));
      return tf.add(tf.mul(box(a), guide), box(b));
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return guideAndSourceShapes(inputShape)[1];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), radius: this.radius, epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(GuidedFilter);

function guideAndSourceShapes(inputShape: Shape | Shape[]): [Shape, Shape] {
  if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) throw new Error('GuidedFilter is called on [guide, source]');
  const [guide, source] = inputShape as Shape[];
  return [guide!, source!];
}

/** The border-clipped box mean for NHWC tensors of height × width (also BoxBlur's). */
export function boxFilter(radius: number, height: number, width: number): (x: tf.Tensor) => tf.Tensor {
  const side = 2 * radius + 1;
  // k² / (pixels of the window inside the image); separable, since the window is a rectangle.
  const inImage = (position: number, size: number) => Math.min(position + radius, size - 1) - Math.max(position - radius, 0) + 1;
  const rowScale = Float32Array.from({ length: height }, (_, y) => side / inImage(y, height));
  const columnScale = Float32Array.from({ length: width }, (_, x) => side / inImage(x, width));
  const rescale = tf.mul(tf.tensor4d(rowScale, [1, height, 1, 1]), tf.tensor4d(columnScale, [1, 1, width, 1]));
  const zeroPadding: [number, number][] = [
    [0, 0],
    [radius, radius],
    [radius, radius],
    [0, 0],
  ];
  return (x) => {
    // Rows then columns: 2k instead of k² additions per pixel.
    const padded = tf.pad(x as tf.Tensor4D, zeroPadding);
    const rowMeans = tf.avgPool(padded, [side, 1], 1, 'valid');
    return tf.mul(tf.avgPool(rowMeans, [1, side], 1, 'valid'), rescale);
  };
}

/** 'input': the model's input image guides (edges of the photo survive); 'self': the generator's own output does. */
export type GuidedFilterGuide = 'input' | 'self';

export interface GuidedFilterOptions extends GuidedFilterConfig {
  guide: GuidedFilterGuide;
}

/**
 * The generator with a GuidedFilter on its output: same input, same (shared) layers and weights,
 * output = GuidedFilter([guide, generator output]). The generator needs one input and one output;
 * with guide 'input', they must have the same shape.
 */
export function withGuidedFilter(generator: tf.LayersModel, options: GuidedFilterOptions): tf.LayersModel {
  return withOutputStage(generator, 'guided', (input, output) => {
    const filter = new GuidedFilter({ radius: options.radius, epsilon: options.epsilon, name: `${generator.name}_guided_filter` });
    return filter.apply([options.guide === 'input' ? input : output, output]) as tf.SymbolicTensor;
  });
}
