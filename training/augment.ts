/**
 * Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient
 * GAN Training"): every image a discriminator sees, real or generated, goes through the same
 * random translation and cutout, and the generator's gradient flows through them. With tens of
 * training images a discriminator otherwise memorises its reals and stops teaching the generator.
 *
 * Colour jitter, the paper's third policy, is left out: colour is the style being learnt here.
 * Parameters are drawn per call from the caller's seeded `random`, so a run stays reproducible.
 */
import * as tf from '@tensorflow/tfjs';

export interface AugmentPolicy {
  /** Largest shift as a fraction of the side (paper: 1/8); the uncovered border is zero. */
  translation: number;
  /** Side of the zeroed square as a fraction of the side (paper: 1/2); 0 turns cutout off. */
  cutout: number;
}

export const DIFF_AUGMENT: AugmentPolicy = { translation: 1 / 8, cutout: 1 / 2 };

function shift(images: tf.Tensor4D, fraction: number, random: () => number): tf.Tensor4D {
  const [, height, width] = images.shape;
  const padY = Math.round(height * fraction);
  const padX = Math.round(width * fraction);
  if (padY === 0 && padX === 0) return images;
  const dy = Math.floor(random() * (2 * padY + 1));
  const dx = Math.floor(random() * (2 * padX + 1));
  const padded = tf.pad(images, [
    [0, 0],
    [padY, padY],
    [padX, padX],
    [0, 0],
  ]);
  return tf.slice(padded, [0, dy, dx, 0], [-1, height, width, -1]);
}

function cutout(images: tf.Tensor4D, fraction: number, random: () => number): tf.Tensor4D {
  const [, height, width] = images.shape;
  const sideY = Math.round(height * fraction);
  const sideX = Math.round(width * fraction);
  if (sideY === 0 || sideX === 0) return images;
  // The square's centre may sit anywhere, so it can hang over the border (as in the paper).
  const top = Math.floor(random() * (height + 1)) - Math.floor(sideY / 2);
  const left = Math.floor(random() * (width + 1)) - Math.floor(sideX / 2);
  const mask = new Float32Array(height * width).fill(1);
  for (let y = Math.max(0, top); y < Math.min(height, top + sideY); y++)
    mask.fill(0, y * width + Math.max(0, left), y * width + Math.min(width, left + sideX));
  return tf.mul(images, tf.tensor4d(mask, [1, height, width, 1]));
}

/** One random translation and cutout for the whole batch (batches here hold one image). */
export function diffAugment(images: tf.Tensor4D, random: () => number, policy: AugmentPolicy = DIFF_AUGMENT): tf.Tensor4D {
  return tf.tidy(() => cutout(shift(images, policy.translation, random), policy.cutout, random));
}
