/**
 * BoxBlur: the border-clipped mean over a (2r+1)² window, per channel, as a tfjs layer the ONNX
 * exporter maps to one AveragePool (mappers/box-blur.ts). The photo2anime generator concatenates
 * a blurred copy of its input to its last features (GeneratorOptions.inputSkipBlur): the output
 * layer gets the photo's colours, which every InstanceNorm removes, but not its texture and
 * edges, which the generator then has to draw itself.
 */
import * as tf from '@tensorflow/tfjs';
import { boxFilter } from './guided-filter.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export class BoxBlur extends tf.layers.Layer {
  static className = 'BoxBlur';
  readonly radius: number;

  constructor(args: LayerArgs & { radius: number }) {
    super(args);
    if (!Number.isInteger(args.radius) || args.radius < 1)
      throw new Error(`BoxBlur: radius must be a positive integer, got ${args.radius}`);
    this.radius = args.radius;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      return boxFilter(this.radius, x.shape[1], x.shape[2])(x);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), radius: this.radius };
  }
}

tf.serialization.registerClass(BoxBlur);
