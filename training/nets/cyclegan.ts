/**
 * CycleGAN nets (Zhu et al. 2017), after the reference junyanz/pytorch-CycleGAN-and-pix2pix:
 * a ResNet generator and a 70×70 PatchGAN discriminator, NHWC, built as tfjs layers models so the
 * generator exports to ONNX. Widths and depths are options; the defaults are scaled down for CPU.
 *
 * Differences from the reference that do not change the function:
 * - convolutions followed by a non-affine InstanceNorm have no bias (the norm subtracts it anyway);
 * - stride-2 convolutions use 'same' padding, and the transposed ones use tfjs 'same' with stride
 *   2, which gives exactly 2× the input size, like PyTorch's padding 1 + output_padding 1.
 *
 * Option beyond the reference: `upsampling: 'resize'` replaces each transposed convolution by a
 * nearest-neighbour 2× upsampling and a 3×3 convolution (Odena et al. 2016, "Deconvolution and
 * checkerboard artifacts"): a 3×3 stride-2 transposed convolution overlaps unevenly, and small
 * nets trained briefly keep the resulting checkerboard.
 */
import * as tf from '@tensorflow/tfjs';
import { instanceNormalization, reflectionPadding2D } from './layers.ts';
import { BoxBlur } from './box-blur.ts';
import { COLOUR_TRANSFORM_CHANNELS, LocalColourTransform } from './colour-transform.ts';

export interface GeneratorOptions {
  /** Filters of the first layer (ngf); doubled at each downsampling. Reference: 64. */
  filters?: number;
  /** Residual blocks at the bottleneck. Reference: 9 (256² crops) or 6 (128²). */
  blocks?: number;
  /** Stride-2 downsamplings (and as many upsamplings). Reference: 2; inputs must be multiples of 2^n. */
  downsamplings?: number;
  /** Image channels in and out. */
  channels?: number;
  /** 'transpose': 3×3 stride-2 transposed convolutions (the reference); 'resize': nearest 2× + 3×3 conv. */
  upsampling?: Upsampling;
  /**
   * 'pixels' (the reference): the decoder draws the output image. 'colour-transform': no decoder;
   * the bottleneck predicts a smooth field of affine colour transforms that recolours the input
   * (LocalColourTransform), so every edge and texture of the output is the input's own.
   */
  head?: GeneratorHead;
  /**
   * Concatenate the input image to the last features, before the output convolution. Every
   * InstanceNorm removes its features' means, so without this the output layer cannot know the
   * photo's absolute colours and has to guess them from texture (hue drift, rainbow skies).
   */
  inputSkip?: boolean;
  /**
   * With inputSkip: 0 concatenates the input itself; r > 0 concatenates it box-blurred over
   * (2r+1)² pixels, which carries the photo's colours past the norms but not its detail, so the
   * generator cannot get its texture back by copying.
   */
  inputSkipBlur?: number;
  /**
   * ε of every InstanceNorm: y = (x − μ)/√(σ² + ε). A nearly flat region (a clear sky) has
   * features of tiny variance, which the default 1e-5 scales up by 100× and more into visible
   * structure; a larger ε caps that gain while leaving textured features as they are.
   */
  normEpsilon?: number;
  name?: string;
  /** Seeds the weight initialiser (layer i uses seed + i), so a run is reproducible. */
  seed?: number;
}

export type Upsampling = 'transpose' | 'resize';
export type GeneratorHead = 'pixels' | 'colour-transform';

/** A recipe's `--generator-head` flag, checked. */
export function generatorHeadOption(value: string): GeneratorHead {
  if (value !== 'pixels' && value !== 'colour-transform')
    throw new Error(`--generator-head must be pixels or colour-transform, got ${value}`);
  return value;
}

/** A recipe's `--upsampling` flag (a plain string on the command line), checked. */
export function upsamplingOption(value: string): Upsampling {
  if (value !== 'transpose' && value !== 'resize') throw new Error(`--upsampling must be transpose or resize, got ${value}`);
  return value;
}

export const DEFAULT_GENERATOR = {
  filters: 24,
  blocks: 6,
  downsamplings: 2,
  channels: 3,
  upsampling: 'transpose' as Upsampling,
  head: 'pixels' as GeneratorHead,
  inputSkip: false,
  inputSkipBlur: 0,
  normEpsilon: 1e-5,
};

type SymbolicTensor = tf.SymbolicTensor;
type Initializer = ReturnType<typeof tf.initializers.randomNormal>;
type Init = () => Initializer;

/**
 * Weights drawn from N(0, 0.02), the reference's 'normal' init, each layer from its own seed.
 * Without a seed, tfjs draws unseeded and runs are not reproducible.
 */
function initializers(seed: number | undefined): Init {
  let layer = 0;
  return () => tf.initializers.randomNormal({ mean: 0, stddev: 0.02, ...(seed === undefined ? {} : { seed: seed + layer++ }) });
}

function apply(layer: tf.layers.Layer, x: SymbolicTensor): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/** Reflection padding, then a 'valid' convolution: a 'same' size without zeros at the border. */
function reflectPaddedConv(
  x: SymbolicTensor,
  padding: number,
  padName: string,
  conv: Omit<Parameters<typeof tf.layers.conv2d>[0], 'padding'>,
): SymbolicTensor {
  return apply(tf.layers.conv2d({ ...conv, padding: 'valid' }), apply(reflectionPadding2D({ padding, name: padName }), x));
}

/** Conv → InstanceNorm → ReLU. */
function convNormRelu(
  x: SymbolicTensor,
  filters: number,
  kernelSize: number,
  strides: number,
  padding: 'same' | 'valid',
  name: string,
  init: Init,
  epsilon: number,
): SymbolicTensor {
  const conv = tf.layers.conv2d({ filters, kernelSize, strides, padding, useBias: false, kernelInitializer: init(), name: `${name}_conv` });
  // The ReLU is part of the norm layer: one fused kernel each way on wasm-ort.
  return apply(instanceNormalization({ name: `${name}_norm`, activation: 'relu', epsilon }), apply(conv, x));
}

/** x + (reflect-pad, conv3, IN, ReLU, reflect-pad, conv3, IN)(x). */
function residualBlock(x: SymbolicTensor, filters: number, name: string, init: Init, epsilon: number): SymbolicTensor {
  let y = apply(reflectionPadding2D({ padding: 1, name: `${name}_pad1` }), x);
  y = convNormRelu(y, filters, 3, 1, 'valid', `${name}_a`, init, epsilon);
  y = reflectPaddedConv(y, 1, `${name}_pad2`, {
    filters,
    kernelSize: 3,
    useBias: false,
    kernelInitializer: init(),
    name: `${name}_b_conv`,
  });
  y = apply(instanceNormalization({ name: `${name}_b_norm`, epsilon }), y);
  return tf.layers.add({ name: `${name}_add` }).apply([x, y]) as SymbolicTensor;
}

/**
 * The ResNet generator, any input size that is a multiple of 2^downsamplings, values in [-1, 1]
 * in and out (the pixel head's tanh, or the colour transform's clip).
 */
export function resnetGenerator(options: GeneratorOptions = {}): tf.LayersModel {
  const { filters, blocks, downsamplings, channels, upsampling, head, inputSkip, inputSkipBlur, normEpsilon } = {
    ...DEFAULT_GENERATOR,
    ...options,
  };
  if (upsampling !== 'transpose' && upsampling !== 'resize')
    throw new Error(`upsampling must be 'transpose' or 'resize', got '${String(upsampling)}'`);
  generatorHeadOption(head);
  if (head === 'colour-transform' && channels !== 3) throw new Error('the colour-transform head needs 3 channels');
  const name = options.name ?? 'generator';
  const init = initializers(options.seed);
  const input = tf.input({ shape: [null, null, channels], name: `${name}_input` });
  let x = apply(reflectionPadding2D({ padding: 3, name: `${name}_stem_pad` }), input);
  x = convNormRelu(x, filters, 7, 1, 'valid', `${name}_stem`, init, normEpsilon);
  let width = filters;
  for (let i = 0; i < downsamplings; i++) {
    width *= 2;
    // tfjs 'same' pads a stride-2 conv on the bottom and right only; a generator that recolours
    // shows that as a tinted strip along those edges, so the colour-transform head pads all four
    // by reflection.
    const symmetric = head === 'colour-transform';
    if (symmetric) x = apply(reflectionPadding2D({ padding: 1, name: `${name}_down${i + 1}_pad` }), x);
    x = convNormRelu(x, width, 3, 2, symmetric ? 'valid' : 'same', `${name}_down${i + 1}`, init, normEpsilon);
  }
  for (let i = 0; i < blocks; i++) x = residualBlock(x, width, `${name}_res${i + 1}`, init, normEpsilon);
  if (head === 'colour-transform') return tf.model({ inputs: input, outputs: colourTransformHead(input, x, downsamplings, name), name });
  for (let i = 0; i < downsamplings; i++) {
    width /= 2;
    const prefix = `${name}_up${i + 1}`;
    if (upsampling === 'transpose') {
      x = apply(
        tf.layers.conv2dTranspose({
          filters: width,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          useBias: false,
          kernelInitializer: init(),
          name: `${prefix}_conv`,
        }),
        x,
      );
    } else {
      x = apply(tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name: `${prefix}_resize` }), x);
      x = reflectPaddedConv(x, 1, `${prefix}_pad`, {
        filters: width,
        kernelSize: 3,
        useBias: false,
        kernelInitializer: init(),
        name: `${prefix}_conv`,
      });
    }
    x = apply(instanceNormalization({ name: `${prefix}_norm`, activation: 'relu', epsilon: normEpsilon }), x);
  }
  if (inputSkip) {
    const skipped = inputSkipBlur > 0 ? apply(new BoxBlur({ radius: inputSkipBlur, name: `${name}_input_blur` }), input) : input;
    x = tf.layers.concatenate({ name: `${name}_input_skip` }).apply([x, skipped]) as SymbolicTensor;
  }
  x = reflectPaddedConv(x, 3, `${name}_out_pad`, { filters: channels, kernelSize: 7, kernelInitializer: init(), name: `${name}_out_conv` });
  const output = apply(tf.layers.activation({ activation: 'tanh', name: `${name}_tanh` }), x);
  return tf.model({ inputs: input, outputs: output, name });
}

/**
 * Coefficients from the bottleneck features and the input's own colours at the bottleneck's
 * resolution (block means: the InstanceNorms have taken every colour out of the features, and the
 * transform a region needs depends on its colour), by a 3×3 conv that starts at zero so the
 * untrained generator returns its input; smoothed there, upsampled to the input's resolution and
 * smoothed again over one upsampled block, so neighbouring blocks blend instead of stepping.
 */
function colourTransformHead(input: SymbolicTensor, features: SymbolicTensor, downsamplings: number, name: string): SymbolicTensor {
  const scale = 2 ** downsamplings;
  let c = features;
  if (scale > 1) {
    const colours = apply(tf.layers.averagePooling2d({ poolSize: scale, strides: scale, name: `${name}_coef_colours` }), input);
    c = tf.layers.concatenate({ name: `${name}_coef_inputs` }).apply([c, colours]) as SymbolicTensor;
  }
  c = reflectPaddedConv(c, 1, `${name}_coef_pad`, {
    filters: COLOUR_TRANSFORM_CHANNELS,
    kernelSize: 3,
    kernelInitializer: 'zeros',
    name: `${name}_coef_conv`,
  });
  c = apply(new BoxBlur({ radius: 1, name: `${name}_coef_blur` }), c);
  if (scale > 1) {
    c = apply(tf.layers.upSampling2d({ size: [scale, scale], interpolation: 'nearest', name: `${name}_coef_resize` }), c);
    c = apply(new BoxBlur({ radius: scale, name: `${name}_coef_blend` }), c);
  }
  return new LocalColourTransform({ name: `${name}_colour_transform` }).apply([c, input]) as SymbolicTensor;
}

export interface DiscriminatorOptions {
  /** Filters of the first layer (ndf). Reference: 64. */
  filters?: number;
  /** Stride-2 layers; 3 gives the 70×70 receptive field. */
  layers?: number;
  channels?: number;
  name?: string;
  /** Seeds the weight initialiser, as for the generator. */
  seed?: number;
}

export const DEFAULT_DISCRIMINATOR = { filters: 32, layers: 3, channels: 3 } as const;

/**
 * PatchGAN: 4×4 convs, `layers` of them stride 2, then one stride 1 and a 1-channel stride-1
 * output of unbounded scores (LSGAN needs no sigmoid); LeakyReLU 0.2, InstanceNorm except on the
 * first layer. With 3 layers each score sees a 70×70 patch.
 */
export function patchDiscriminator(options: DiscriminatorOptions = {}): tf.LayersModel {
  const { filters, layers, channels } = { ...DEFAULT_DISCRIMINATOR, ...options };
  const name = options.name ?? 'discriminator';
  const init = initializers(options.seed);
  const input = tf.input({ shape: [null, null, channels], name: `${name}_input` });
  let x = apply(
    tf.layers.conv2d({ filters, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init(), name: `${name}_c1` }),
    input,
  );
  x = apply(tf.layers.leakyReLU({ alpha: 0.2, name: `${name}_c1_lrelu` }), x);
  let width = filters;
  for (let i = 1; i <= layers; i++) {
    width = filters * Math.min(2 ** i, 8);
    const strides = i < layers ? 2 : 1;
    x = apply(
      tf.layers.conv2d({
        filters: width,
        kernelSize: 4,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(),
        name: `${name}_c${i + 1}`,
      }),
      x,
    );
    x = apply(instanceNormalization({ name: `${name}_c${i + 1}_norm`, activation: 'leakyrelu', alpha: 0.2 }), x);
  }
  const output = apply(tf.layers.conv2d({ filters: 1, kernelSize: 4, padding: 'same', kernelInitializer: init(), name: `${name}_out` }), x);
  return tf.model({ inputs: input, outputs: output, name });
}
