/**
 * The truncation trick, baked into an exported generator: G(τ·z, c) with the server's plain noise.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Copies `source`'s weights into `target` (the same architecture) with the noise rows of the first
 * dense layer (`g_project`) scaled by τ. That layer is linear in [noise, conditioning], so the
 * result is exactly G(τ·z, conditioning).
 */
export function withScaledNoise(source: tf.LayersModel, target: tf.LayersModel, noiseDim: number, scale: number): tf.LayersModel {
  const projectIndex = source.weights.findIndex((w) => w.originalName === 'g_project/kernel');
  if (projectIndex < 0) throw new Error('generator has no g_project/kernel to scale');
  const values = source.getWeights();
  const scaled = tf.tidy(() => {
    const kernel = values[projectIndex]!;
    const [noiseRows, conditionRows] = tf.split(kernel, [noiseDim, kernel.shape[0]! - noiseDim], 0);
    return tf.concat([tf.mul(noiseRows!, scale), conditionRows!], 0);
  });
  target.setWeights(values.map((value, i) => (i === projectIndex ? scaled : value)));
  scaled.dispose();
  return target;
}
