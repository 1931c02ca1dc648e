/**
 * sRGB ↔ CIE L*a*b* (D65) on NHWC tensors, for colourisation: the pair maker takes L* and a*b*
 * from photos with these functions, and the Lab layers (lab-layers.ts) put the same arithmetic in
 * the exported graph. The constants are those of training/eval/color-transfer.ts (Lindbloom's sRGB
 * matrices), so the eval measures chroma in the space the model predicts in.
 *
 * Normalised units, the nets' [-1, 1]: lightness L* / 50 − 1 (L* 0 to 100), chroma a* / s and b* / s
 * with s = the chroma scale (110 covers the sRGB gamut's a*b* almost everywhere).
 */
import * as tf from '@tensorflow/tfjs';

export const D65_WHITE = [0.95047, 1, 1.08883] as const;
/** Linear sRGB → XYZ, rows X, Y, Z. */
export const RGB_TO_XYZ = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
] as const;
/** XYZ → linear sRGB, rows R, G, B. */
export const XYZ_TO_RGB = [
  [3.2404542, -1.5371385, -0.4985314],
  [-0.969266, 1.8760108, 0.041556],
  [0.0556434, -0.2040259, 1.0572252],
] as const;
/** CIE ε and κ: below ε the cube root of L*'s definition turns into a straight line. */
export const LAB_EPSILON = 216 / 24389;
export const LAB_KAPPA = 24389 / 27;
/** sRGB transfer curve: the linear segment ends at these values (encoded, linear). */
export const SRGB_ENCODED_KNEE = 0.04045;
export const SRGB_LINEAR_KNEE = 0.0031308;
/** Normalised lightness is L* / LIGHTNESS_HALF − 1. */
export const LIGHTNESS_HALF = 50;
export const DEFAULT_CHROMA_SCALE = 110;

/** A 1×1 convolution: each output channel a weighted sum of the input channels (rows of `matrix`). */
export function mixChannels(x: tf.Tensor4D, matrix: readonly (readonly number[])[], bias?: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const inChannels = matrix[0]!.length;
    const kernel = tf
      .tensor4d(
        matrix.flatMap((row) => [...row]),
        [matrix.length, inChannels, 1, 1],
      )
      .transpose([2, 3, 1, 0]) as tf.Tensor4D;
    const mixed = tf.conv2d(x, kernel, 1, 'valid');
    return bias === undefined ? mixed : tf.add(mixed, tf.tensor1d([...bias]));
  });
}

/** sRGB-encoded values in [0, 1] → linear light. */
export function srgbToLinear(v: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.lessEqual(v, SRGB_ENCODED_KNEE), tf.div(v, 12.92), tf.pow(tf.div(tf.add(v, 0.055), 1.055), 2.4)));
}

/** Linear light in [0, 1] → sRGB-encoded. The power branch sees no value below the knee (no NaN, finite gradient). */
export function linearToSrgb(v: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.where(
      tf.lessEqual(v, SRGB_LINEAR_KNEE),
      tf.mul(v, 12.92),
      tf.sub(tf.mul(tf.pow(tf.maximum(v, SRGB_LINEAR_KNEE), 1 / 2.4), 1.055), 0.055),
    ),
  );
}

/** CIE f(t): cube root above ε, its tangent line below. */
export function labF(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.where(tf.greater(t, LAB_EPSILON), tf.pow(tf.maximum(t, LAB_EPSILON), 1 / 3), tf.div(tf.add(tf.mul(t, LAB_KAPPA), 16), 116)),
  );
}

/** CIE f⁻¹. */
export function labFInverse(f: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.greater(f, 6 / 29), tf.pow(f, 3), tf.div(tf.sub(tf.mul(f, 116), 16), LAB_KAPPA)));
}

/** RGB in [-1, 1] (clamped) → linear light in [0, 1]. */
function linearFromSigned(rgb: tf.Tensor4D): tf.Tensor4D {
  return srgbToLinear(tf.mul(tf.add(tf.clipByValue(rgb, -1, 1), 1), 0.5)) as tf.Tensor4D;
}

/** RGB in [-1, 1] → L* a* b* in CIE units, NHWC with 3 channels. */
export function rgbToLab(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const xyz = mixChannels(linearFromSigned(rgb), RGB_TO_XYZ);
    const f = labF(tf.div(xyz, tf.tensor1d([...D65_WHITE])));
    const [fx, fy, fz] = tf.split(f, 3, 3) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    return tf.concat([tf.sub(tf.mul(fy, 116), 16), tf.mul(tf.sub(fx, fy), 500), tf.mul(tf.sub(fy, fz), 200)], 3) as tf.Tensor4D;
  });
}

/** RGB in [-1, 1] → normalised lightness L* / 50 − 1, NHWC with 1 channel. Needs only Y. */
export function normalizedLightness(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const luminance = mixChannels(linearFromSigned(rgb), [RGB_TO_XYZ[1]]);
    return tf.sub(tf.div(tf.sub(tf.mul(labF(luminance), 116), 16), LIGHTNESS_HALF), 1) as tf.Tensor4D;
  });
}

/**
 * Normalised lightness [N, H, W, 1] and normalised chroma [N, H, W, 2] → RGB in [-1, 1]. Colours
 * outside the sRGB gamut are clipped per channel in linear light.
 */
export function labToRgb(lightness: tf.Tensor4D, chroma: tf.Tensor4D, chromaScale: number): tf.Tensor4D {
  return tf.tidy(() => {
    const fy = tf.div(tf.add(tf.mul(tf.add(lightness, 1), LIGHTNESS_HALF), 16), 116);
    const [a, b] = tf.split(tf.mul(chroma, chromaScale), 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    const f = tf.concat([tf.add(fy, tf.div(a, 500)), fy, tf.sub(fy, tf.div(b, 200))], 3) as tf.Tensor4D;
    const xyz = tf.mul(labFInverse(f), tf.tensor1d([...D65_WHITE])) as tf.Tensor4D;
    const linear = tf.clipByValue(mixChannels(xyz, XYZ_TO_RGB), 0, 1);
    return tf.sub(tf.mul(linearToSrgb(linear), 2), 1) as tf.Tensor4D;
  });
}
