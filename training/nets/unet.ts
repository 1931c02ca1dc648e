/**
 * The pix2pix generator (Isola et al. 2017): a U-Net, an encoder–decoder whose decoder level k
 * also sees encoder level k through a skip connection, so the output keeps the input's edges
 * while the bottleneck carries the context. NHWC, a tfjs layers model so it exports to ONNX.
 *
 * Scaled for CPU training: `filters` (pix2pix: 64) doubles per level up to 8×, `depth` stride-2
 * levels (pix2pix: 8 for 256² crops; 5 gives a 4×4 bottleneck on 128² crops). Inputs must be
 * multiples of 2^depth. Differences from the reference:
 * - InstanceNorm instead of BatchNorm (pix2pix trains at batch size 1, where the two coincide, and
 *   InstanceNorm keeps train and inference alike at any batch size); none at the innermost level,
 *   as in the reference, whose bottleneck is 1×1;
 * - decoding by nearest 2× upsampling + 3×3 conv instead of transposed convolutions (no
 *   checkerboard, see nets/cyclegan.ts);
 * - no dropout: the reference's only noise source, which its authors found the net mostly ignores.
 */
import * as tf from '@tensorflow/tfjs';
import { instanceNormalization } from './layers.ts';

export interface UnetOptions {
  inputChannels: number;
  outputChannels: number;
  /** Filters of the first level; doubled per level, at most 8×. */
  filters?: number;
  /** Stride-2 levels; inputs must be multiples of 2^depth. */
  depth?: number;
  name?: string;
  /** Seeds the N(0, 0.02) initialiser (layer i uses seed + i), so a run is reproducible. */
  seed?: number;
}

export const DEFAULT_UNET = { filters: 32, depth: 5 } as const;

type SymbolicTensor = tf.SymbolicTensor;

function apply(layer: tf.layers.Layer, x: SymbolicTensor): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/** Width of level `level` (1-based): filters · 2^(level−1), capped at 8 · filters. */
export function levelWidth(filters: number, level: number): number {
  return filters * Math.min(2 ** (level - 1), 8);
}

/** A U-Net; output in [-1, 1] (tanh) with `outputChannels` channels, same height and width as the input. */
export function unetGenerator(options: UnetOptions): tf.LayersModel {
  const { filters, depth } = { ...DEFAULT_UNET, ...options };
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`U-Net depth must be a positive integer, got ${depth}`);
  const name = options.name ?? 'unet';
  let layerIndex = 0;
  const init = () =>
    tf.initializers.randomNormal({ mean: 0, stddev: 0.02, ...(options.seed === undefined ? {} : { seed: options.seed + layerIndex++ }) });
  const input = tf.input({ shape: [null, null, options.inputChannels] as unknown as number[], name: `${name}_input` });

  // Encoder: 4×4 stride-2 convs; LeakyReLU 0.2; no norm on the first level or the innermost.
  const skips: SymbolicTensor[] = [];
  let x = input;
  for (let level = 1; level <= depth; level++) {
    const prefix = `${name}_down${level}`;
    const normalized = level > 1 && level < depth;
    // A bias before a non-affine InstanceNorm would be subtracted right away.
    x = apply(
      tf.layers.conv2d({
        filters: levelWidth(filters, level),
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        useBias: !normalized,
        kernelInitializer: init(),
        name: `${prefix}_conv`,
      }),
      x,
    );
    x = normalized
      ? apply(instanceNormalization({ name: `${prefix}_norm`, activation: 'leakyrelu', alpha: 0.2 }), x)
      : apply(tf.layers.leakyReLU({ alpha: 0.2, name: `${prefix}_lrelu` }), x);
    skips.push(x);
  }

  // Decoder: upsample, 3×3 conv, norm, ReLU, then concatenate the encoder level of that size.
  for (let level = depth - 1; level >= 1; level--) {
    const prefix = `${name}_up${level}`;
    x = apply(tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name: `${prefix}_resize` }), x);
    x = apply(
      tf.layers.conv2d({
        filters: levelWidth(filters, level),
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(),
        name: `${prefix}_conv`,
      }),
      x,
    );
    x = apply(instanceNormalization({ name: `${prefix}_norm`, activation: 'relu' }), x);
    x = tf.layers.concatenate({ name: `${prefix}_skip` }).apply([x, skips[level - 1]!]) as SymbolicTensor;
  }
  x = apply(tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name: `${name}_out_resize` }), x);
  x = apply(
    tf.layers.conv2d({
      filters: options.outputChannels,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: init(),
      name: `${name}_out_conv`,
    }),
    x,
  );
  const output = apply(tf.layers.activation({ activation: 'tanh', name: `${name}_tanh` }), x);
  return tf.model({ inputs: input, outputs: output, name });
}
