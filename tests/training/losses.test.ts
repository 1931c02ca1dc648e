import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bceWithLogits,
  crossEntropy,
  cycleLoss,
  gradientPenalty,
  identityLoss,
  lsganDiscriminatorLoss,
  lsganGeneratorLoss,
  nonSaturatingDiscriminatorLoss,
  nonSaturatingGeneratorLoss,
  wassersteinCriticLoss,
  wassersteinGeneratorLoss,
} from '../../training/losses.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const value = (t: tf.Tensor): number => t.dataSync()[0]!;
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('binary cross-entropy on logits', () => {
  it('matches −t·log σ(x) − (1 − t)·log(1 − σ(x))', () => {
    const logits = [-3, -0.5, 0, 2, 7];
    const target = 0.9;
    const expected =
      logits.reduce((sum, x) => sum - target * Math.log(sigmoid(x)) - (1 - target) * Math.log(1 - sigmoid(x)), 0) / logits.length;
    expect(value(bceWithLogits(tf.tensor1d(logits), target))).toBeCloseTo(expected, 5);
  });

  it('stays finite for huge logits, where the naive formula gives log(0)', () => {
    const loss = value(bceWithLogits(tf.tensor1d([-200, 200]), 1));
    expect(loss).toBeCloseTo(100, 3);
  });
});

describe('non-saturating GAN loss', () => {
  it('smooths only the real side (one-sided label smoothing)', () => {
    const real = tf.tensor1d([10, 10]);
    const fake = tf.tensor1d([-10, -10]);
    // A perfect discriminator still pays for real targets at 0.9, but nothing for fakes at 0.
    const smoothed = value(nonSaturatingDiscriminatorLoss(real, fake));
    expect(smoothed).toBeCloseTo(value(bceWithLogits(real, 0.9)) + value(bceWithLogits(fake, 0)), 6);
    expect(value(bceWithLogits(fake, 0))).toBeLessThan(1e-4);
    expect(smoothed).toBeGreaterThan(0.9);
    expect(value(nonSaturatingDiscriminatorLoss(real, fake, { realTarget: 1 }))).toBeLessThan(1e-3);
  });

  it('gives the generator a strong gradient where D rejects its samples', () => {
    // −log σ(x) has slope ≈ −1 at x = −10, where log(1 − σ(x)) would be flat (≈ −4.5e-5).
    const slope = tf
      .grad((x: tf.Tensor) => nonSaturatingGeneratorLoss(x))(tf.tensor1d([-10]))
      .dataSync()[0]!;
    expect(slope).toBeCloseTo(-1, 3);
  });
});

describe('LSGAN and Wasserstein losses', () => {
  it('compute their textbook values', () => {
    const real = tf.tensor1d([1, 0]);
    const fake = tf.tensor1d([0, 1]);
    expect(value(lsganDiscriminatorLoss(real, fake))).toBeCloseTo(0.5 * (0.5 + 0.5), 6);
    expect(value(lsganGeneratorLoss(fake))).toBeCloseTo(0.5, 6);
    expect(value(wassersteinCriticLoss(tf.tensor1d([3, 5]), tf.tensor1d([1, 1])))).toBeCloseTo(-3, 6);
    expect(value(wassersteinGeneratorLoss(tf.tensor1d([2, 4])))).toBeCloseTo(-3, 6);
  });
});

describe('WGAN-GP gradient penalty', () => {
  it('is (‖w‖ − 1)² for a linear critic, whatever the mixing', () => {
    const weights = tf.tensor2d([[3], [4]]); // ‖w‖ = 5 → penalty 16
    const critic = (x: tf.Tensor): tf.Tensor => tf.matMul(x as tf.Tensor2D, weights);
    const real = tf.tensor2d([
      [1, 2],
      [0, -1],
      [5, 5],
    ]);
    const fake = tf.tensor2d([
      [0, 0],
      [2, 2],
      [-1, 3],
    ]);
    expect(value(gradientPenalty(critic, real, fake, tf.tensor1d([0.1, 0.5, 0.9])))).toBeCloseTo(16, 4);
  });

  it('is differentiable w.r.t. the critic weights (double backprop)', () => {
    const critic = (w: tf.Tensor) => (x: tf.Tensor) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
    const real = tf.tensor2d([[1, 2]]);
    const fake = tf.tensor2d([[0, 1]]);
    const penaltyOf = (w: tf.Tensor): tf.Scalar => gradientPenalty(critic(w), real, fake, tf.tensor1d([0.5]));
    // d/dw (‖w‖ − 1)² = 2(‖w‖ − 1)·w/‖w‖ = 2·4·(3, 4)/5 at w = (3, 4).
    const gradient = tf
      .grad(penaltyOf)(tf.tensor2d([[3], [4]]))
      .dataSync();
    expect(gradient[0]).toBeCloseTo(4.8, 3);
    expect(gradient[1]).toBeCloseTo(6.4, 3);
  });

  it('differentiates through LeakyReLU critics, matching finite differences', () => {
    const real = tf.tensor2d([
      [1, -2],
      [0.5, 0.3],
    ]);
    const fake = tf.tensor2d([
      [-1, 0.2],
      [2, -0.7],
    ]);
    const mixing = tf.tensor1d([0.3, 0.8]);
    const outer = tf.tensor2d([[1.5], [-0.8], [0.6]]);
    const penaltyOf = (w: tf.Tensor): tf.Scalar =>
      gradientPenalty((x) => tf.matMul(tf.leakyRelu(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), 0.2), outer), real, fake, mixing);
    const w = [0.7, -0.4, 0.2, 0.5, 0.9, -0.3];
    const analytic = tf
      .grad(penaltyOf)(tf.tensor2d(w, [2, 3]))
      .dataSync();
    const h = 1e-3;
    w.forEach((_, i) => {
      const plus = w.slice();
      const minus = w.slice();
      plus[i]! += h;
      minus[i]! -= h;
      const numeric = (value(penaltyOf(tf.tensor2d(plus, [2, 3]))) - value(penaltyOf(tf.tensor2d(minus, [2, 3])))) / (2 * h);
      expect(analytic[i]).toBeCloseTo(numeric, 2);
    });
  });
});

describe('L1 and cross-entropy', () => {
  it('cycle and identity losses are mean absolute errors', () => {
    const a = tf.tensor2d([
      [1, -1],
      [0, 2],
    ]);
    const b = tf.tensor2d([
      [0, -1],
      [1, 0],
    ]);
    expect(value(cycleLoss(a, b))).toBeCloseTo(1, 6);
    expect(value(identityLoss(a, a))).toBe(0);
  });

  it('cross-entropy is −log softmax of the true class', () => {
    const logits = tf.tensor2d([
      [2, 0, 0],
      [0, 0, 0],
    ]);
    const labels = tf.tensor1d([0, 2], 'int32');
    const expected = (-Math.log(Math.exp(2) / (Math.exp(2) + 2)) - Math.log(1 / 3)) / 2;
    expect(value(crossEntropy(logits, labels))).toBeCloseTo(expected, 5);
  });
});
