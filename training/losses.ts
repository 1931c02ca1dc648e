/**
 * GAN and translation losses shared by every recipe. Each takes tensors and returns a scalar mean
 * over the batch, so recipes compose them inside `optimizer.minimize` without reshaping.
 *
 * Discriminator outputs are logits (no sigmoid in the nets): the BCE here is the numerically
 * stable form on logits, which is what makes the non-saturating loss safe at large |logit|.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Binary cross-entropy on logits against a constant target in [0, 1]:
 * max(x, 0) − x·t + log(1 + e^−|x|), averaged.
 */
export function bceWithLogits(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => {
    const positivePart = tf.relu(logits);
    const softplusOfNegAbs = tf.log1p(tf.exp(tf.neg(tf.abs(logits))));
    return tf.mean(tf.add(tf.sub(positivePart, tf.mul(logits, target)), softplusOfNegAbs)) as tf.Scalar;
  });
}

export interface NonSaturatingOptions {
  /**
   * Target for real samples. One-sided label smoothing (Salimans et al. 2016) uses 0.9 here and
   * keeps fakes at exactly 0: smoothing the fake side would reward the generator for staying bad.
   */
  realTarget?: number;
}

/** Discriminator side of the standard GAN loss: BCE(real, 1 or smoothed) + BCE(fake, 0). */
export function nonSaturatingDiscriminatorLoss(
  realLogits: tf.Tensor,
  fakeLogits: tf.Tensor,
  { realTarget = 0.9 }: NonSaturatingOptions = {},
): tf.Scalar {
  return tf.tidy(() => tf.add(bceWithLogits(realLogits, realTarget), bceWithLogits(fakeLogits, 0)) as tf.Scalar);
}

/**
 * Generator side, non-saturating form: maximise log D(G(z)) rather than minimise log(1 − D(G(z))),
 * whose gradient vanishes exactly when the discriminator wins early in training.
 */
export function nonSaturatingGeneratorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return bceWithLogits(fakeLogits, 1);
}

/** Least-squares GAN (Mao et al. 2017), discriminator: ½·E[(D(x) − 1)²] + ½·E[D(G(z))²]. */
export function lsganDiscriminatorLoss(realScores: tf.Tensor, fakeScores: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mul(0.5, tf.add(tf.mean(tf.square(tf.sub(realScores, 1))), tf.mean(tf.square(fakeScores)))) as tf.Scalar);
}

/** Least-squares GAN, generator: E[(D(G(z)) − 1)²]. */
export function lsganGeneratorLoss(fakeScores: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(fakeScores, 1))) as tf.Scalar);
}

/** Wasserstein critic loss: E[D(G(z))] − E[D(x)] (add a gradient penalty to keep D 1-Lipschitz). */
export function wassersteinCriticLoss(realScores: tf.Tensor, fakeScores: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sub(tf.mean(fakeScores), tf.mean(realScores)) as tf.Scalar);
}

/** Wasserstein generator loss: −E[D(G(z))]. */
export function wassersteinGeneratorLoss(fakeScores: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(fakeScores)) as tf.Scalar);
}

/**
 * The penalty differentiates a gradient (double backprop). LeakyReLU's gradient uses a `Greater`
 * mask, which tfjs gives no gradient, so the second pass would fail on any net with LeakyReLU.
 * A comparison is piecewise constant: its gradient is zero almost everywhere, which is what this
 * registers (only when tfjs has none).
 */
function registerComparisonGradients(): void {
  if (tf.getGradient('Greater') !== undefined) return;
  tf.registerGradient({
    kernelName: 'Greater',
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(saved[0]!), b: () => tf.zerosLike(saved[1]!) }),
  });
}

/**
 * WGAN-GP gradient penalty (Gulrajani et al. 2017): E[(‖∇ₓ̂ D(x̂)‖₂ − 1)²] at x̂ = ε·real + (1 − ε)·fake,
 * ε ~ U(0, 1) per sample. `mixing` holds those ε, shape [N], so callers control the randomness
 * (seeded in the harness). Differentiable w.r.t. the critic's weights (double backprop), so it can
 * sit inside the critic's `optimizer.minimize`. Multiply by λ (10 in the paper) at the call site.
 */
export function gradientPenalty(
  critic: (images: tf.Tensor) => tf.Tensor,
  real: tf.Tensor,
  fake: tf.Tensor,
  mixing: tf.Tensor1D,
): tf.Scalar {
  registerComparisonGradients();
  return tf.tidy(() => {
    const perSampleShape = [mixing.shape[0], ...real.shape.slice(1).map(() => 1)];
    const epsilon = tf.reshape(mixing, perSampleShape);
    const interpolated = tf.add(tf.mul(epsilon, real), tf.mul(tf.sub(1, epsilon), fake));
    const gradients = tf.grad((x: tf.Tensor) => tf.sum(critic(x)))(interpolated);
    const flat = tf.reshape(gradients, [mixing.shape[0], -1]);
    // The small epsilon keeps the norm's own gradient finite where a gradient is exactly zero.
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(flat), 1), 1e-12));
    return tf.mean(tf.square(tf.sub(norms, 1))) as tf.Scalar;
  });
}

/** Mean absolute error, the CycleGAN cycle-consistency loss ‖F(G(x)) − x‖₁ (weight λ at call site). */
export function cycleLoss(reconstructed: tf.Tensor, original: tf.Tensor): tf.Scalar {
  return meanAbsoluteError(reconstructed, original);
}

/**
 * Box low-pass: the mean of each factor×factor block of an NHWC batch (H and W multiples of the
 * factor; 1 returns the input). Built from reshape and mean, whose gradients every backend has.
 */
export function blockMean(images: tf.Tensor4D, factor: number): tf.Tensor4D {
  if (factor === 1) return images;
  const [n, h, w, c] = images.shape;
  if (h % factor !== 0 || w % factor !== 0) throw new Error(`blockMean: ${h}×${w} is not a multiple of ${factor}`);
  return tf.tidy(() => tf.mean(tf.reshape(images, [n, h / factor, factor, w / factor, factor, c]), [2, 4]) as tf.Tensor4D);
}

/** Identity loss ‖G(y) − y‖₁: keeps colours when the input already looks like the target domain. */
export function identityLoss(mapped: tf.Tensor, original: tf.Tensor): tf.Scalar {
  return meanAbsoluteError(mapped, original);
}

/** BT.601 RGB → YUV rows (Y, U, V), applied to images in [0, 1]. */
const RGB_TO_YUV = [
  [0.299, 0.587, 0.114],
  [-0.14714119, -0.28886916, 0.43601035],
  [0.61497538, -0.51496512, -0.10001026],
];

function toYuv(image: tf.Tensor): tf.Tensor {
  const matrix = tf.tensor2d(RGB_TO_YUV).transpose();
  const unit = tf.mul(tf.add(image, 1), 0.5);
  const flat = tf.reshape(unit, [-1, 3]);
  return tf.reshape(tf.matMul(flat, matrix), image.shape);
}

/** Huber loss with δ = 1, averaged: ½d² inside |d| ≤ 1, |d| − ½ outside. */
function huber(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  const absolute = tf.abs(tf.sub(a, b));
  const quadratic = tf.minimum(absolute, 1);
  return tf.mean(tf.add(tf.mul(0.5, tf.square(quadratic)), tf.sub(absolute, quadratic))) as tf.Scalar;
}

/**
 * AnimeGANv2's colour loss between a translation and its input photo (NHWC in [-1, 1]): L1 on
 * luma Y and Huber on the chroma planes U and V. It anchors hue to the photo's own colours, against
 * the hue drift and rainbow skies a discriminator alone lets through, while leaving brightness and
 * saturation freer than a plain L1 on RGB would.
 */
export function colorLoss(translated: tf.Tensor, photo: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [y1, u1, v1] = tf.split(toYuv(translated), 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const [y2, u2, v2] = tf.split(toYuv(photo), 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    return tf.add(tf.add(meanAbsoluteError(y1, y2), huber(u1, u2)), huber(v1, v2)) as tf.Scalar;
  });
}

/**
 * Anisotropic total variation of an NHWC batch: the mean absolute difference between vertically
 * and between horizontally neighbouring pixels, summed. AnimeGANv2 adds a total-variation term
 * against the generator's high-frequency noise; this is its L1 form, which favours flat regions
 * bounded by sharp edges where the squared form would blur the edges too.
 */
export function totalVariation(images: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(tf.abs(neighbourSteps(images, 1))), tf.mean(tf.abs(neighbourSteps(images, 2)))) as tf.Scalar);
}

/** Differences between neighbouring pixels of an NHWC batch along rows (axis 1) or columns (axis 2). */
function neighbourSteps(images: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D {
  const [n, h, w, c] = images.shape;
  const [rows, columns] = axis === 1 ? [h - 1, w] : [h, w - 1];
  const next = axis === 1 ? [0, 1, 0, 0] : [0, 0, 1, 0];
  return tf.sub(tf.slice(images, next, [n, rows, columns, c]), tf.slice(images, [0, 0, 0, 0], [n, rows, columns, c]));
}

/**
 * Luma order between a translation and its photo (NHWC in [-1, 1]): on block means of
 * factor×factor pixels, wherever the photo's luma clearly rises or falls from one block to the next
 * (by more than `threshold`, in [0, 1] units), the translation's must not move the other way; the
 * mean of what it moves the wrong way, over both directions. A smooth ramp of light (an evening
 * sky) then cannot come out as bands whose luma goes up and down along it, while edges, texture
 * and the colours themselves stay free.
 */
export function lumaOrderLoss(translated: tf.Tensor4D, photo: tf.Tensor4D, factor = 4, threshold = 0.004): tf.Scalar {
  return tf.tidy(() => {
    const luma = (images: tf.Tensor4D) => {
      const [r, g, b] = tf.split(tf.mul(tf.add(blockMean(images, factor), 1), 0.5), 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
      return tf.add(tf.add(tf.mul(0.299, r), tf.mul(0.587, g)), tf.mul(0.114, b)) as tf.Tensor4D;
    };
    const out = luma(translated);
    const reference = luma(photo);
    const against = (axis: 1 | 2) => {
      const photoStep = neighbourSteps(reference, axis);
      const clear = tf.cast(tf.greater(tf.abs(photoStep), threshold), 'float32');
      return tf.mean(tf.mul(tf.relu(tf.neg(tf.mul(neighbourSteps(out, axis), tf.sign(photoStep)))), clear));
    };
    return tf.add(against(1), against(2)) as tf.Scalar;
  });
}

/**
 * Chroma kept smooth where the photo's is (NHWC in [-1, 1]): on block means of factor×factor
 * pixels, the mean step of the translation's chroma (U and V, in [0, 1] units) between
 * neighbouring blocks wherever the photo's chroma steps by less than `threshold` there. A
 * translation may recolour a smooth area or put hue edges where the photo has them, but not lay
 * bands of changing hue across a sky whose hue barely moves.
 */
export function smoothChromaLoss(translated: tf.Tensor4D, photo: tf.Tensor4D, factor = 4, threshold = 0.01): tf.Scalar {
  return tf.tidy(() => {
    const chroma = (images: tf.Tensor4D) => tf.slice(toYuv(blockMean(images, factor)), [0, 0, 0, 1], [-1, -1, -1, 2]) as tf.Tensor4D;
    const out = chroma(translated);
    const reference = chroma(photo);
    const smooth = (axis: 1 | 2) => {
      const photoStep = tf.sum(tf.abs(neighbourSteps(reference, axis)), -1, true);
      const flat = tf.cast(tf.less(photoStep, threshold), 'float32');
      return tf.mean(tf.mul(tf.sum(tf.abs(neighbourSteps(out, axis)), -1, true), flat));
    };
    return tf.add(smooth(1), smooth(2)) as tf.Scalar;
  });
}

/** Least-squares score of images the discriminator must call fake: E[D(x)²]. */
export function lsganFakeLoss(scores: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(scores)) as tf.Scalar);
}

function meanAbsoluteError(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar);
}

/**
 * Softmax cross-entropy of logits [N, C] against integer class labels [N] (int32), averaged. Used
 * by auxiliary classifiers and the eval's digit classifier.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(logits);
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbabilities), 1))) as tf.Scalar;
  });
}

/**
 * Mode-seeking regulariser (MSGAN, Mao et al. 2019) over pairs of fakes (rows i and i + N/2, which
 * share their conditioning): weight / (image distance / noise distance + ε). Two noises that
 * differ must give images that differ, which counters collapse within a class.
 */
export function modeSeekingPenalty(images: tf.Tensor, noise: tf.Tensor, weight: number): tf.Scalar {
  const pairDistance = (t: tf.Tensor) => {
    const rows = t.shape[0]!;
    if (rows % 2 !== 0) throw new Error(`mode seeking pairs rows i and i + N/2: N must be even, got ${rows}`);
    const half = rows / 2;
    const begin = t.shape.slice(1).map(() => 0);
    const size = t.shape.slice(1).map(() => -1);
    return tf.mean(tf.abs(tf.sub(tf.slice(t, [0, ...begin], [half, ...size]), tf.slice(t, [half, ...begin], [half, ...size]))));
  };
  return tf.div(weight, tf.add(tf.div(pairDistance(images), pairDistance(noise)), 1e-5)) as tf.Scalar;
}
