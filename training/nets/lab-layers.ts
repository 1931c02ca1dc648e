/**
 * The CIELAB conversions as tfjs layers, so a colourisation net exports as one graph that takes
 * and returns the server's RGB in [-1, 1] (mappers/lab.ts gives their ONNX form):
 *
 *   RGB → RgbToLightness → net → chroma ─┐
 *              └──────── lightness ──────┴→ LabToRgb → RGB
 *
 * Lightness passes from the input to the output untouched, so the output has the input's L*
 * wherever the predicted colour is inside the sRGB gamut. Neither layer has weights.
 */
import * as tf from '@tensorflow/tfjs';
import { labToRgb, normalizedLightness } from './cielab.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = (number | null)[];

function singleShape(inputShape: Shape | Shape[]): Shape {
  return Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0]! : (inputShape as Shape);
}

/** NHWC RGB in [-1, 1] → normalised lightness L* / 50 − 1, one channel. */
export class RgbToLightness extends tf.layers.Layer {
  static className = 'RgbToLightness';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const rgb = Array.isArray(inputs) ? inputs[0]! : inputs;
    return normalizedLightness(rgb as tf.Tensor4D);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape);
    if (shape.length !== 4 || (shape[3] !== null && shape[3] !== 3)) throw new Error(`RgbToLightness expects NHWC RGB, got [${shape}]`);
    return [shape[0]!, shape[1]!, shape[2]!, 1];
  }
}

export interface LabToRgbArgs extends LayerArgs {
  /** a* and b* are the chroma input times this. */
  chromaScale: number;
}

/** Called on [lightness (1 channel), chroma (2 channels)], both normalised → NHWC RGB in [-1, 1]. */
export class LabToRgb extends tf.layers.Layer {
  static className = 'LabToRgb';
  readonly chromaScale: number;

  constructor(args: LabToRgbArgs) {
    super(args);
    if (!(args.chromaScale > 0)) throw new Error(`LabToRgb: chromaScale must be positive, got ${args.chromaScale}`);
    this.chromaScale = args.chromaScale;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error('LabToRgb is called on [lightness, chroma]');
    return labToRgb(inputs[0] as tf.Tensor4D, inputs[1] as tf.Tensor4D, this.chromaScale);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) throw new Error('LabToRgb is called on [lightness, chroma]');
    const [lightness, chroma] = inputShape as Shape[];
    if (lightness![3] !== 1 || chroma![3] !== 2) throw new Error(`LabToRgb expects 1 + 2 channels, got ${lightness![3]} + ${chroma![3]}`);
    return [lightness![0]!, lightness![1]!, lightness![2]!, 3];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), chromaScale: this.chromaScale };
  }
}

tf.serialization.registerClass(RgbToLightness);
tf.serialization.registerClass(LabToRgb);

/**
 * The colourisation net as the server runs it: RGB in, lightness to the net (1 channel in,
 * 2 chroma channels out, normalised), and back to RGB with the input's lightness.
 */
export function rgbColorizer(net: tf.LayersModel, chromaScale: number, name = `${net.name}_rgb`): tf.LayersModel {
  const image = tf.input({ shape: [null, null, 3] as unknown as number[], name: `${name}_image` });
  const lightness = new RgbToLightness({ name: `${name}_lightness` }).apply(image) as tf.SymbolicTensor;
  const chroma = net.apply(lightness) as tf.SymbolicTensor;
  const rgb = new LabToRgb({ chromaScale, name: `${name}_lab_to_rgb` }).apply([lightness, chroma]) as tf.SymbolicTensor;
  return tf.model({ inputs: image, outputs: rgb, name });
}
