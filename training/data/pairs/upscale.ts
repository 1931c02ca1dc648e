/**
 * ×2 upscaling pairs: the input is the photo halved by area averaging and enlarged back to its
 * size bilinearly, the target the photo itself. The server keeps an image's size, so the model
 * sharpens an image that was already enlarged ×2 (bilinear, or a similar smooth resampling):
 * enlarge first, then translate.
 */
import * as tf from '@tensorflow/tfjs';
import type { PairMaker } from './pair-maker.ts';

/** An image halved (2×2 means) and enlarged back bilinearly (half-pixel centres, as image libraries do). */
export function halvedAndEnlarged(photos: tf.Tensor4D): tf.Tensor4D {
  const [, height, width] = photos.shape;
  if (height % 2 !== 0 || width % 2 !== 0) throw new Error(`×2 pairs need even sides, got ${height}×${width}`);
  return tf.tidy(() => tf.image.resizeBilinear(tf.avgPool(photos, 2, 2, 'valid'), [height, width], false, true));
}

export function upscale2xPairs(): PairMaker {
  return {
    name: 'upscale2x',
    description: 'Sharpens a photo enlarged ×2 (enlarge it bilinearly first; pix2pix U-Net trained on photos halved and enlarged back)',
    inputChannels: 3,
    targetChannels: 3,
    makePair: (photos) => ({ input: halvedAndEnlarged(photos), target: photos.clone() }),
    inputAsRgb: (input) => input.clone(),
    outputAsRgb: (_input, output) => output.clone(),
    servingModel: (generator) => generator,
  };
}
