/**
 * LocalColourTransform: a per-pixel affine colour transform of an image, as a tfjs layer the ONNX
 * exporter maps (mappers/colour-transform.ts). Called on [coefficients, image], NHWC, with 12
 * coefficient channels and 3 image channels:
 *
 *   out_c = clip(x_c + Σ_k x_k · C[3k + c] + C[9 + c], −1, 1)    (k, c over r, g, b)
 *
 * so all-zero coefficients give the image back. The photo2anime generator's 'colour-transform'
 * head predicts the coefficients at a quarter of the resolution and blurs them up (HDRNet's local
 * affine colour transforms, Gharbi et al. 2017): every edge and texture of the output is the
 * photo's own, recoloured region by region, so the generator cannot draw speckle, grids or
 * banded skies, and it sees the photo's colours, which its InstanceNorms hide from a pixel head.
 */
import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = (number | null)[];

/** Coefficient channels: a 3×3 matrix (input channel major) and a 3-channel offset. */
export const COLOUR_TRANSFORM_CHANNELS = 12;

export class LocalColourTransform extends tf.layers.Layer {
  static className = 'LocalColourTransform';

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override build(inputShape: Shape | Shape[]): void {
    const [coefficients, image] = coefficientsAndImageShapes(inputShape);
    if (coefficients.length !== 4 || image.length !== 4) throw new Error('LocalColourTransform expects two NHWC inputs');
    if (coefficients[3] !== COLOUR_TRANSFORM_CHANNELS || image[3] !== 3) {
      throw new Error(
        `LocalColourTransform: needs ${COLOUR_TRANSFORM_CHANNELS} coefficient channels and 3 image channels, got ${coefficients[3]} and ${image[3]}`,
      );
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error('LocalColourTransform is called on [coefficients, image]');
      const [coefficients, image] = inputs as [tf.Tensor4D, tf.Tensor4D];
      if (coefficients.shape.slice(0, 3).join() !== image.shape.slice(0, 3).join()) {
        throw new Error(`LocalColourTransform: coefficients [${coefficients.shape}] and image [${image.shape}] differ in size`);
      }
      const [fromRed, fromGreen, fromBlue, offset] = tf.split(coefficients, 4, 3);
      const [red, green, blue] = tf.split(image, 3, 3);
      const change = tf.addN([tf.mul(red!, fromRed!), tf.mul(green!, fromGreen!), tf.mul(blue!, fromBlue!), offset!]);
      return tf.clipByValue(tf.add(image, change), -1, 1);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return coefficientsAndImageShapes(inputShape)[1];
  }
}

tf.serialization.registerClass(LocalColourTransform);

function coefficientsAndImageShapes(inputShape: Shape | Shape[]): [Shape, Shape] {
  if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) throw new Error('LocalColourTransform is called on [coefficients, image]');
  const [coefficients, image] = inputShape as Shape[];
  return [coefficients!, image!];
}
