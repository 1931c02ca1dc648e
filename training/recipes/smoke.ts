/**
 * Recipe `smoke`: a tiny label-conditioned generator on synthetic 8×8 images, for tests of the
 * whole train → checkpoint → export → serve path in seconds on any backend (dense layers only, so
 * even the pure-JS `cpu` backend runs it quickly and deterministically).
 *
 * Data: class k of 4 is a white horizontal bar over rows 2k and 2k+1 on black, with a little seeded
 * pixel noise, so a working generator's output is easy to check by eye or by the bar's position.
 */
import * as tf from '@tensorflow/tfjs';
import { adam } from '../backend/fused-adam.ts';
import { seededRandom } from '../data/random.ts';
import { noiseBatch } from '../../server/shared.ts';
import { EpochSampler, gatherRows, stepSeed } from '../harness.ts';
import { nonSaturatingDiscriminatorLoss, nonSaturatingGeneratorLoss } from '../losses.ts';
import type { Recipe, RecipeSession } from './recipe.ts';

export const SMOKE_SIDE = 8;
export const SMOKE_CLASSES = 4;
const PIXELS = SMOKE_SIDE * SMOKE_SIDE;

const smokeOptions = {
  noiseDim: 8,
  hiddenUnits: 32,
  examples: 256,
  learningRate: 2e-3,
  modelName: 'smoke',
};
export type SmokeOptions = typeof smokeOptions;

/** The synthetic data set: `count` bar images in [-1, 1] and their classes, from `seed`. */
export function smokeImages(count: number, seed: number): { images: Float32Array; labels: Int32Array } {
  const random = seededRandom(seed);
  const images = new Float32Array(count * PIXELS);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i += 1) {
    const label = i % SMOKE_CLASSES;
    labels[i] = label;
    for (let p = 0; p < PIXELS; p += 1) {
      const row = Math.floor(p / SMOKE_SIDE);
      const onBar = row === 2 * label || row === 2 * label + 1;
      images[i * PIXELS + p] = Math.max(-1, Math.min(1, (onBar ? 1 : -1) + (random() - 0.5) * 0.2));
    }
  }
  return { images, labels };
}

function seededNormal(seed: number) {
  return tf.initializers.randomNormal({ mean: 0, stddev: 0.1, seed });
}

export const smokeRecipe: Recipe<SmokeOptions> = {
  name: 'smoke',
  summary: 'tiny conditional generator on synthetic 8×8 bars, for tests',
  defaults: { batchSize: 16, steps: 20, checkpointEvery: 10, sampleEvery: 10 },
  options: smokeOptions,
  setup({ seed, batchSize, options }): RecipeSession {
    const data = smokeImages(options.examples, seed);
    const noise = tf.input({ shape: [options.noiseDim], name: 'noise' });
    const label = tf.input({ shape: [1], dtype: 'int32', name: 'label' });
    const labelVector = tf.layers
      .flatten()
      .apply(
        tf.layers.embedding({ inputDim: SMOKE_CLASSES, outputDim: 4, embeddingsInitializer: seededNormal(seed + 1) }).apply(label),
      ) as tf.SymbolicTensor;
    let g = tf.layers.concatenate().apply([noise, labelVector]) as tf.SymbolicTensor;
    g = tf.layers
      .dense({ units: options.hiddenUnits, activation: 'relu', kernelInitializer: seededNormal(seed + 2) })
      .apply(g) as tf.SymbolicTensor;
    g = tf.layers.dense({ units: PIXELS, activation: 'tanh', kernelInitializer: seededNormal(seed + 3) }).apply(g) as tf.SymbolicTensor;
    const image = tf.layers.reshape({ targetShape: [SMOKE_SIDE, SMOKE_SIDE, 1] }).apply(g) as tf.SymbolicTensor;
    const generator = tf.model({ inputs: [noise, label], outputs: image, name: 'smoke_generator' });

    const dImage = tf.input({ shape: [SMOKE_SIDE, SMOKE_SIDE, 1] });
    const dLabel = tf.input({ shape: [1], dtype: 'int32' });
    const dLabelVector = tf.layers
      .flatten()
      .apply(
        tf.layers.embedding({ inputDim: SMOKE_CLASSES, outputDim: 4, embeddingsInitializer: seededNormal(seed + 4) }).apply(dLabel),
      ) as tf.SymbolicTensor;
    let d = tf.layers.concatenate().apply([tf.layers.flatten().apply(dImage) as tf.SymbolicTensor, dLabelVector]) as tf.SymbolicTensor;
    d = tf.layers.dense({ units: options.hiddenUnits, kernelInitializer: seededNormal(seed + 5) }).apply(d) as tf.SymbolicTensor;
    d = tf.layers.leakyReLU({ alpha: 0.2 }).apply(d) as tf.SymbolicTensor;
    const logit = tf.layers.dense({ units: 1, kernelInitializer: seededNormal(seed + 6) }).apply(d) as tf.SymbolicTensor;
    const discriminator = tf.model({ inputs: [dImage, dLabel], outputs: logit, name: 'smoke_discriminator' });

    const generatorOptimizer = adam(options.learningRate, 0.5);
    const discriminatorOptimizer = adam(options.learningRate, 0.5);
    const generatorVariables = generator.trainableWeights.map((w) => w.read() as tf.Variable);
    const discriminatorVariables = discriminator.trainableWeights.map((w) => w.read() as tf.Variable);
    const sampler = new EpochSampler(options.examples, batchSize, seed);
    const sampleNoise = tf.tensor2d(noiseBatch(stepSeed(seed, 0, 2), 2 * SMOKE_CLASSES, options.noiseDim, 'normal'), [
      2 * SMOKE_CLASSES,
      options.noiseDim,
    ]);
    const sampleLabels = tf.tensor2d(
      Int32Array.from({ length: 2 * SMOKE_CLASSES }, (_, i) => i % SMOKE_CLASSES),
      [2 * SMOKE_CLASSES, 1],
      'int32',
    );

    return {
      models: { generator, discriminator },
      optimizers: { generator: generatorOptimizer, discriminator: discriminatorOptimizer },
      examplesPerEpoch: options.examples,
      dataset: { source: 'synthetic bars', examples: options.examples },
      trainStep(step, random) {
        const indices = sampler.batch(step);
        const noiseSeed = Math.floor(random() * 0x1_0000_0000);
        return tf.tidy(() => {
          const real = tf.tensor4d(gatherRows(data.images, PIXELS, indices), [batchSize, SMOKE_SIDE, SMOKE_SIDE, 1]);
          const labels = tf.tensor2d(
            Int32Array.from(indices, (i) => data.labels[i]!),
            [batchSize, 1],
            'int32',
          );
          const z = tf.tensor2d(noiseBatch(noiseSeed, batchSize, options.noiseDim, 'normal'), [batchSize, options.noiseDim]);
          const fake = generator.apply([z, labels]) as tf.Tensor;
          const dLoss = discriminatorOptimizer.minimize(
            () =>
              nonSaturatingDiscriminatorLoss(
                discriminator.apply([real, labels]) as tf.Tensor,
                discriminator.apply([fake, labels]) as tf.Tensor,
              ),
            true,
            discriminatorVariables,
          )!;
          const gLoss = generatorOptimizer.minimize(
            () => nonSaturatingGeneratorLoss(discriminator.apply([generator.apply([z, labels]) as tf.Tensor, labels]) as tf.Tensor),
            true,
            generatorVariables,
          )!;
          return { discriminator: dLoss.dataSync()[0]!, generator: gLoss.dataSync()[0]! };
        });
      },
      sample: () => tf.tidy(() => generator.apply([sampleNoise, sampleLabels]) as tf.Tensor4D),
      sampleColumns: SMOKE_CLASSES,
      exportTarget: () => ({
        model: generator,
        exportOptions: { inputs: [{ name: 'noise' }, { name: 'label', dtype: 'int64', shape: [] }], outputs: [{ name: 'image' }] },
        manifest: {
          name: options.modelName,
          task: 'conditional-generation',
          description: 'smoke-test generator: a horizontal bar whose row is the class',
          noise: { name: 'noise', dim: options.noiseDim, distribution: 'normal' },
          label: { name: 'label', classes: Array.from({ length: SMOKE_CLASSES }, (_, i) => `bar${i}`) },
          output: { name: 'image', layout: 'NHWC', range: [-1, 1], channels: 1, width: SMOKE_SIDE, height: SMOKE_SIDE },
        },
      }),
      dispose() {
        sampleNoise.dispose();
        sampleLabels.dispose();
      },
    };
  },
};
