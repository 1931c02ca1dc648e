/**
 * An exponential moving average of a generator's weights (Yazıcı et al. 2019, "The Unusual
 * Effectiveness of Averaging in GAN Training"; Karras et al. use it for every StyleGAN). The
 * trained weights jitter from step to step as the two players chase each other; their average
 * sits nearer the middle of that orbit and draws cleaner samples, at no training cost.
 *
 * The shadow is a second model of the same architecture that only this class writes. Recipes put
 * it in their session's `models` (so checkpoints hold it and a resume stays exact) and sample and
 * export from it. Every weight is averaged, batch-norm statistics included.
 */
import * as tf from '@tensorflow/tfjs';

export class WeightAverage {
  /**
   * @param source the model being trained
   * @param shadow a fresh model of the same architecture; its initial weights are overwritten
   * @param decay β of w̄ ← β·w̄ + (1 − β)·w, e.g. 0.999 (a memory of about 1/(1 − β) steps)
   */
  constructor(
    private readonly source: tf.LayersModel,
    readonly shadow: tf.LayersModel,
    private readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1)) throw new Error(`the weight average's decay must be in (0, 1), got ${decay}`);
    if (source.weights.length !== shadow.weights.length) throw new Error('the weight average needs two models of one architecture');
    shadow.setWeights(source.weights.map((w) => w.read()));
  }

  /**
   * Folds in the source's weights after training step `step` (0-based). The effective decay ramps
   * up as min(β, (1 + step) / (10 + step)), as in TensorFlow's ExponentialMovingAverage, so the
   * average follows the fast early changes instead of remembering the random initialisation.
   */
  update(step: number): void {
    const beta = Math.min(this.decay, (1 + step) / (10 + step));
    tf.tidy(() => {
      this.shadow.weights.forEach((average, i) => {
        const current = this.source.weights[i]!.read();
        average.write(tf.add(tf.mul(average.read(), beta), tf.mul(current, 1 - beta)));
      });
    });
  }
}

/**
 * The average a recipe's `--ema-decay` asks for: none at 0, else one over a fresh model from
 * `build` (only built when needed). A decay outside [0, 1) is refused.
 */
export function weightAverageFor(source: tf.LayersModel, build: () => tf.LayersModel, decay: number): WeightAverage | undefined {
  if (!(decay >= 0 && decay < 1)) throw new Error(`--ema-decay must be 0 (off) or in (0, 1), got ${decay}`);
  return decay === 0 ? undefined : new WeightAverage(source, build(), decay);
}
