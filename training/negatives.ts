/**
 * Negatives for the anime discriminator, shown to it as fakes so that it learns what anime is not:
 *
 * - edge-smoothed anime (CartoonGAN, Chen et al. 2018): the same picture with its edges blurred.
 *   Telling it from the real one needs crisp lines, so the generator is pushed to draw them;
 * - grey anime (AnimeGANv2): the picture without colour, so texture and shape alone don't pass
 *   for the style, and colour has to come with them.
 *
 * Both are computed from the batch in [-1, 1] (NHWC, RGB) at the crop's own scale, because a blur
 * applied to the full-resolution source would mostly vanish when a crop is downsampled.
 */
import * as tf from '@tensorflow/tfjs';

const LUMA = [0.299, 0.587, 0.114];

/** BT.601 luma as one channel, [N, H, W, 1]. */
function luma(images: tf.Tensor4D): tf.Tensor4D {
  return tf.sum(tf.mul(images, tf.tensor1d(LUMA)), -1, true) as tf.Tensor4D;
}

/** BT.601 luma, kept as three equal channels. */
export function greyscale(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    return tf.tile(luma(images), [1, 1, 1, 3]) as tf.Tensor4D;
  });
}

/**
 * A Sobel gradient of luma above `threshold` marks an edge (0.8 in [-1, 1] units is a step of
 * about 25 grey levels, Canny's usual lower threshold of 100 on Sobel over 0–255); the mask is
 * dilated to 5×5 and the pixels under it are replaced by a 5×5 Gaussian blur (σ 1).
 */
export function edgeSmoothed(images: tf.Tensor4D, threshold = 0.8): tf.Tensor4D {
  return tf.tidy(() => {
    const lightness = luma(images);
    const sobelX = tf.tensor4d([-1, 0, 1, -2, 0, 2, -1, 0, 1], [3, 3, 1, 1]);
    const sobelY = tf.tensor4d([-1, -2, -1, 0, 0, 0, 1, 2, 1], [3, 3, 1, 1]);
    const gx = tf.conv2d(lightness, sobelX, 1, 'same');
    const gy = tf.conv2d(lightness, sobelY, 1, 'same');
    const magnitude = tf.sqrt(tf.add(tf.square(gx), tf.square(gy)));
    const edges = tf.cast(tf.greater(magnitude, threshold), 'float32') as tf.Tensor4D;
    const mask = tf.maxPool(edges, 5, 1, 'same');
    const taps = [-2, -1, 0, 1, 2].map((d) => Math.exp(-(d * d) / 2));
    const total = taps.reduce((a, b) => a + b, 0);
    const kernel1d = taps.map((t) => t / total);
    const kernel = tf.tensor4d(
      kernel1d.flatMap((a) => kernel1d.flatMap((b) => [a * b, a * b, a * b])),
      [5, 5, 3, 1],
    );
    const padded = tf.mirrorPad(
      images,
      [
        [0, 0],
        [2, 2],
        [2, 2],
        [0, 0],
      ],
      'reflect',
    );
    const blurred = tf.depthwiseConv2d(padded, kernel, 1, 'valid');
    return tf.add(tf.mul(mask, blurred), tf.mul(tf.sub(1, mask), images)) as tf.Tensor4D;
  });
}
