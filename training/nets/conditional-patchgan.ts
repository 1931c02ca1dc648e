/**
 * pix2pix's conditional discriminator: the PatchGAN of nets/cyclegan.ts scoring an image together
 * with the input it was made from, concatenated along the channels. It judges whether the output
 * fits its input (this grey photo, these colours), not only whether it looks real.
 */
import * as tf from '@tensorflow/tfjs';
import { patchDiscriminator } from './cyclegan.ts';

export interface ConditionalPatchOptions {
  conditionChannels: number;
  imageChannels: number;
  /** Filters of the first layer. */
  filters?: number;
  /** Stride-2 layers; 3 gives each score a 70×70 receptive field. */
  layers?: number;
  name?: string;
  seed?: number;
}

/** A model called on [condition, image] (NHWC, same height and width) → a grid of unbounded patch scores. */
export function conditionalPatchDiscriminator(options: ConditionalPatchOptions): tf.LayersModel {
  const name = options.name ?? 'conditional_patchgan';
  const patch = patchDiscriminator({
    channels: options.conditionChannels + options.imageChannels,
    ...(options.filters === undefined ? {} : { filters: options.filters }),
    ...(options.layers === undefined ? {} : { layers: options.layers }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    name: `${name}_patch`,
  });
  const condition = tf.input({ shape: [null, null, options.conditionChannels] as unknown as number[], name: `${name}_condition` });
  const image = tf.input({ shape: [null, null, options.imageChannels] as unknown as number[], name: `${name}_image` });
  const pair = tf.layers.concatenate({ name: `${name}_pair` }).apply([condition, image]) as tf.SymbolicTensor;
  return tf.model({ inputs: [condition, image], outputs: patch.apply(pair) as tf.SymbolicTensor, name });
}
