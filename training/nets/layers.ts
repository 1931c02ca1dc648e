/**
 * Custom tfjs layers the CycleGAN generator needs and tfjs lacks: instance normalization and
 * reflection padding. Both are registered with tf.serialization so checkpoints saved with
 * `model.save` load back with `tf.loadLayersModel`, and the ONNX exporter maps both by class name.
 */
import * as tf from '@tensorflow/tfjs';
import { instanceNorm, leaky } from '../backend/instance-norm.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = (number | null)[];

function singleTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new Error(`expected one input tensor, got ${inputs.length}`);
    return inputs[0]!;
  }
  return inputs;
}

function singleShape(inputShape: Shape | Shape[]): Shape {
  return Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0]! : (inputShape as Shape);
}

export interface InstanceNormalizationArgs extends LayerArgs {
  /** Added to the variance before the square root. Default 1e-5 (PyTorch's InstanceNorm2d). */
  epsilon?: number;
  /** Learn a per-channel scale (gamma) and offset (beta). Default false, as in the CycleGAN paper's code. */
  affine?: boolean;
  /**
   * An activation after the norm (and after gamma/beta): 'relu', or 'leakyrelu' with slope
   * `alpha` (default 0.2). Without gamma/beta it is fused into the norm's kernels, which saves
   * the activation's own passes forward and backward.
   */
  activation?: 'relu' | 'leakyrelu';
  alpha?: number;
}

/**
 * Normalizes each sample and channel of an NHWC tensor over its height and width:
 * y = (x - mean) / sqrt(var + epsilon), then gamma * y + beta when affine, then the activation
 * if any. The variance is the biased one (divided by H*W), as in PyTorch and ONNX
 * InstanceNormalization.
 */
export class InstanceNormalization extends tf.layers.Layer {
  static className = 'InstanceNormalization';
  readonly epsilon: number;
  readonly affine: boolean;
  readonly activation: 'relu' | 'leakyrelu' | undefined;
  readonly alpha: number;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;

  constructor(args: InstanceNormalizationArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
    this.affine = args.affine ?? false;
    if (args.activation !== undefined && args.activation !== 'relu' && args.activation !== 'leakyrelu')
      throw new Error(`InstanceNormalization: activation must be 'relu' or 'leakyrelu', got '${String(args.activation)}'`);
    this.activation = args.activation;
    this.alpha = args.alpha ?? 0.2;
  }

  /** The activation's slope below zero (0 for ReLU), or undefined without one. */
  private get slope(): number | undefined {
    if (this.activation === undefined) return undefined;
    return this.activation === 'relu' ? 0 : this.alpha;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = singleShape(inputShape);
    if (shape.length !== 4) throw new Error(`InstanceNormalization expects NHWC input, got rank ${shape.length}`);
    const channels = shape[3];
    if (this.affine) {
      if (channels == null) throw new Error('InstanceNormalization with affine=true needs a known channel count');
      this.gamma = this.addWeight('gamma', [channels], 'float32', tf.initializers.ones());
      this.beta = this.addWeight('beta', [channels], 'float32', tf.initializers.zeros());
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleTensor(inputs);
      // One op with a closed-form gradient (fused on wasm-ort) instead of a dozen moments ops.
      if (this.gamma === null || this.beta === null) return instanceNorm(x as tf.Tensor4D, this.epsilon, this.slope);
      const scaled = tf.add(tf.mul(instanceNorm(x as tf.Tensor4D, this.epsilon), this.gamma.read()), this.beta.read());
      const slope = this.slope;
      return slope === undefined ? scaled : leaky(scaled, slope);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return singleShape(inputShape);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      epsilon: this.epsilon,
      affine: this.affine,
      ...(this.activation === undefined ? {} : { activation: this.activation, alpha: this.alpha }),
    };
  }
}

/** [[top, bottom], [left, right]]. */
export type Padding2D = [[number, number], [number, number]];

export interface ReflectionPadding2DArgs extends LayerArgs {
  /** One size for all four sides, [vertical, horizontal], or [[top, bottom], [left, right]]. Default 1. */
  padding?: number | [number, number] | Padding2D;
}

function normalizePadding(padding: ReflectionPadding2DArgs['padding']): Padding2D {
  if (padding === undefined)
    return [
      [1, 1],
      [1, 1],
    ];
  if (typeof padding === 'number')
    return [
      [padding, padding],
      [padding, padding],
    ];
  const [vertical, horizontal] = padding;
  if (typeof vertical === 'number' && typeof horizontal === 'number') {
    return [
      [vertical, vertical],
      [horizontal, horizontal],
    ];
  }
  if (Array.isArray(vertical) && Array.isArray(horizontal))
    return [
      [vertical[0], vertical[1]],
      [horizontal[0], horizontal[1]],
    ];
  throw new Error(`ReflectionPadding2D: invalid padding ${JSON.stringify(padding)}`);
}

/**
 * Pads height and width of an NHWC tensor by mirroring without repeating the edge
 * (tf.mirrorPad 'reflect', PyTorch ReflectionPad2d). Each pad must be smaller than its side.
 */
export class ReflectionPadding2D extends tf.layers.Layer {
  static className = 'ReflectionPadding2D';
  readonly padding: Padding2D;

  constructor(args: ReflectionPadding2DArgs = {}) {
    super(args);
    this.padding = normalizePadding(args.padding);
    for (const side of this.padding.flat()) {
      if (!Number.isInteger(side) || side < 0) throw new Error(`ReflectionPadding2D: pads must be non-negative integers, got ${side}`);
    }
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleTensor(inputs);
      const [[top, bottom], [left, right]] = this.padding;
      return tf.mirrorPad(
        x,
        [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        'reflect',
      );
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [batch, height, width, channels] = singleShape(inputShape);
    const [[top, bottom], [left, right]] = this.padding;
    return [batch ?? null, height == null ? null : height + top + bottom, width == null ? null : width + left + right, channels ?? null];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

tf.serialization.registerClass(InstanceNormalization);
tf.serialization.registerClass(ReflectionPadding2D);

/** Functional-style factories, like tf.layers.*. */
export const instanceNormalization = (args?: InstanceNormalizationArgs) => new InstanceNormalization(args);
export const reflectionPadding2D = (args?: ReflectionPadding2DArgs) => new ReflectionPadding2D(args);
