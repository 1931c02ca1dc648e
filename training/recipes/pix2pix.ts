/**
 * pix2pix (Isola et al. 2017): paired image-to-image translation, generic over a pair maker
 * (training/data/pairs/) that turns photos into (input, target) pairs. Recipes `colorize` (grey
 * L* → a*b*) and `upscale2x` (halved and enlarged photo → photo) are this recipe with their pair
 * maker; another paired task is one more pair maker and one more entry at the end of this file.
 *
 * As in the reference (junyanz/pytorch-CycleGAN-and-pix2pix): a U-Net generator, a 70×70
 * PatchGAN that sees the input together with the output, the generator's loss
 * λ_L1 · ‖G(x) − y‖₁ + λ_adv · GAN, λ_L1 = 100, Adam 2e-4 with β1 = 0.5, constant then linearly
 * decayed to 0, random crops (at random scales here: photos are bigger than the crops) and flips.
 *
 * GAN loss: least squares (LSGAN, Mao et al. 2017), the reference's alternative to its default
 * BCE. With L1 at weight 100 the adversarial term is a small correction; the squared loss keeps
 * giving the generator a gradient when the discriminator wins early (BCE's saturates), and it is
 * the loss photo2anime already uses, so both GAN recipes behave alike.
 *
 * `--lambda-adversarial 0` trains the same U-Net on L1 alone, without a discriminator: the
 * baseline that shows what the GAN adds (L1 alone predicts the mean colour, which is dull).
 */
import * as tf from '@tensorflow/tfjs';
import { adam } from '../backend/fused-adam.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageFolderDataset, toSignedUnit } from '../data/image-folder.ts';
import { seededRandom } from '../data/random.ts';
import { photoOfFile } from '../data/colorize-sources.ts';
import { ChromaRebalancing } from '../data/pairs/chroma-rebalancing.ts';
import { colorizePairs } from '../data/pairs/colorize.ts';
import type { PairMaker } from '../data/pairs/pair-maker.ts';
import { upscale2xPairs } from '../data/pairs/upscale.ts';
import { lsganDiscriminatorLoss, lsganGeneratorLoss } from '../losses.ts';
import { conditionalPatchDiscriminator } from '../nets/conditional-patchgan.ts';
import { unetGenerator } from '../nets/unet.ts';
import { learningRateAt, setLearningRate } from './schedule.ts';
import type { Recipe, RecipeSession, RecipeSetup } from './recipe.ts';

export const PIX2PIX_OPTIONS = {
  /** Photos in train/ and test/ (npm run data -- colorize); every paired task cuts its pairs from them. */
  dataDir: 'data/colorize',
  /** Side of the square training crops; a multiple of 2^generatorDepth. */
  cropSize: 128,
  /**
   * Smallest crop window as a fraction of a photo's short side (windows run from this to the whole
   * short side, resampled to cropSize), so the net sees scenes at the scales an upload has.
   */
  minWindowFraction: 0.25,
  generatorFilters: 32,
  /** U-Net levels; served images are reflect-padded to multiples of 2^this. */
  generatorDepth: 5,
  discriminatorFilters: 32,
  /** Stride-2 layers of the PatchGAN (3: 70×70 patches). */
  discriminatorLayers: 3,
  lambdaL1: 100,
  /**
   * Colour rebalancing of the L1 term (chroma-rebalancing.ts, Zhang et al. 2016): λ, the uniform
   * share of the mix (the paper's 0.5); 0 turns it off. Only for a pair maker whose target is
   * chroma (colorize).
   */
  rebalance: 0,
  /**
   * The exported graph's predicted chroma × this (export only; 1: as trained). An L1-trained
   * colouriser predicts the median colour of what it cannot tell apart, which is duller than any of
   * them; the gain restores vividness where the predicted hue is right, and exaggerates it where
   * it is wrong. Only for a chroma target (colorize).
   */
  chromaGain: 1,
  /** Weight of the adversarial term; 0 trains on L1 alone and builds no discriminator. */
  lambdaAdversarial: 1,
  learningRate: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  /** Steps at the full learning rate, then `decaySteps` of linear decay to 0 (the default run's 3200 steps). */
  constantSteps: 1600,
  decaySteps: 1600,
  /** Held-out photos shown in the sample grids. */
  samplePhotos: 3,
};
export type Pix2PixOptions = typeof PIX2PIX_OPTIONS;

const SAMPLE_SIZE = { width: 192, height: 128 };

interface DatasetRecord {
  counts?: unknown;
  photos?: unknown;
  balance?: unknown;
  heldOut?: unknown;
  sources?: { package: string; version: string; license: string | null }[];
}

/** What the model's provenance says about the data: counts, balance and packages (files: SOURCES.json). */
async function datasetRecord(dataDir: string): Promise<DatasetRecord> {
  try {
    const record = JSON.parse(await readFile(join(dataDir, 'SOURCES.json'), 'utf8')) as DatasetRecord;
    return {
      counts: record.counts,
      photos: record.photos,
      balance: record.balance,
      heldOut: record.heldOut,
      sources: record.sources?.map(({ package: name, version, license }) => ({ package: name, version, license })),
    };
  } catch {
    return {};
  }
}

/** Held-out photos, resized to the sample size, as one batch in [-1, 1]. */
async function samplePhotos(dir: string, count: number): Promise<tf.Tensor4D> {
  const { width, height } = SAMPLE_SIZE;
  const photos = (await ImageFolderDataset.load(dir)).images.slice(0, count);
  const flat = new Float32Array(photos.length * width * height * 3);
  for (const [i, photo] of photos.entries()) {
    const data = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } })
      .resize(width, height, { fit: 'cover' })
      .raw()
      .toBuffer();
    flat.set(toSignedUnit({ name: photo.name, width, height, data: new Uint8Array(data) }), i * width * height * 3);
  }
  return tf.tensor4d(flat, [photos.length, height, width, 3]);
}

function meanAbsoluteError(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar;
}

/** Mean of weights · |a − b|, the weights broadcast over channels. */
function weightedAbsoluteError(a: tf.Tensor, b: tf.Tensor, weights: tf.Tensor): tf.Scalar {
  return tf.mean(tf.mul(weights, tf.abs(tf.sub(a, b)))) as tf.Scalar;
}

/** Crops drawn to estimate the colour histogram: enough for a stable 22² grid, seconds to draw. */
const REBALANCING_CROPS = 256;

/** The training targets' colour weights, from crops drawn like the training ones on their own random stream. */
function estimateRebalancing(
  photos: ImageFolderDataset,
  pairs: PairMaker,
  crop: { cropSize: number; minWindowFraction: number },
  seed: number,
  uniformShare: number,
): ChromaRebalancing {
  const random = seededRandom(seed + 5000);
  const batch = 16;
  const chroma = new Float32Array(REBALANCING_CROPS * crop.cropSize * crop.cropSize * 2);
  for (let i = 0; i < REBALANCING_CROPS / batch; i++) {
    const values = tf.tidy(() => {
      const photoBatch = tf.tensor4d(photos.sampleBatch(batch, crop, random), [batch, crop.cropSize, crop.cropSize, 3]);
      const { input, target } = pairs.makePair(photoBatch);
      input.dispose();
      return target.dataSync() as Float32Array;
    });
    chroma.set(values, i * values.length);
  }
  return ChromaRebalancing.fromTargets(chroma, { uniformShare });
}

async function setup(pairs: PairMaker, { seed, batchSize, options }: RecipeSetup<Pix2PixOptions>): Promise<RecipeSession> {
  const { dataDir, cropSize, generatorDepth } = options;
  const multiple = 2 ** generatorDepth;
  if (cropSize % multiple !== 0) throw new Error(`cropSize ${cropSize} must be a multiple of 2^generatorDepth = ${multiple}`);
  if (SAMPLE_SIZE.width % multiple !== 0 || SAMPLE_SIZE.height % multiple !== 0)
    throw new Error(`generatorDepth ${generatorDepth} is too deep for the ${SAMPLE_SIZE.width}×${SAMPLE_SIZE.height} sample grids`);
  if (options.lambdaAdversarial < 0 || options.lambdaL1 < 0) throw new Error('--lambda-l1 and --lambda-adversarial must be ≥ 0');
  // A panorama's frames are drawn as one photo, so a long panorama weighs no more than a photo.
  const [photos, record] = await Promise.all([ImageFolderDataset.load(join(dataDir, 'train'), photoOfFile), datasetRecord(dataDir)]).catch(
    (error: Error) => {
      throw new Error(`${error.message}\nbuild the dataset first: npm run data -- colorize`);
    },
  );
  const tooSmall = photos.images.filter((photo) => Math.min(photo.width, photo.height) < cropSize);
  if (tooSmall.length > 0)
    throw new Error(`${tooSmall.map((p) => `${p.name} (${p.width}×${p.height})`).join(', ')}: smaller than the ${cropSize}² crops`);
  const samples = await samplePhotos(join(dataDir, 'test'), options.samplePhotos);

  if (options.rebalance < 0 || options.rebalance > 1) throw new Error(`--rebalance must be in [0, 1], got ${options.rebalance}`);
  if (options.rebalance > 0 && !pairs.chromaTarget) throw new Error(`--rebalance needs a chroma target; ${pairs.name}'s is not`);
  if (!(options.chromaGain > 0)) throw new Error(`--chroma-gain must be positive, got ${options.chromaGain}`);
  if (options.chromaGain !== 1 && !pairs.chromaTarget) throw new Error(`--chroma-gain needs a chroma target; ${pairs.name}'s is not`);
  const rebalancing =
    options.rebalance > 0
      ? estimateRebalancing(photos, pairs, { cropSize, minWindowFraction: options.minWindowFraction }, seed, options.rebalance)
      : undefined;
  const adversarial = options.lambdaAdversarial > 0;
  const generator = unetGenerator({
    inputChannels: pairs.inputChannels,
    outputChannels: pairs.targetChannels,
    filters: options.generatorFilters,
    depth: generatorDepth,
    name: `${pairs.name}_unet`,
    seed: seed + 1000,
  });
  const discriminator = adversarial
    ? conditionalPatchDiscriminator({
        conditionChannels: pairs.inputChannels,
        imageChannels: pairs.targetChannels,
        filters: options.discriminatorFilters,
        layers: options.discriminatorLayers,
        name: `${pairs.name}_disc`,
        seed: seed + 2000,
      })
    : undefined;
  const generatorOptimizer = adam(options.learningRate, options.beta1, options.beta2);
  const discriminatorOptimizer = adversarial ? adam(options.learningRate, options.beta1, options.beta2) : undefined;
  const generatorVariables = generator.trainableWeights.map((w) => w.read() as tf.Variable);
  const discriminatorVariables = discriminator?.trainableWeights.map((w) => w.read() as tf.Variable) ?? [];
  const crop = { cropSize, minWindowFraction: options.minWindowFraction };
  const shape: [number, number, number, number] = [batchSize, cropSize, cropSize, 3];

  const score = (input: tf.Tensor4D, output: tf.Tensor4D) => discriminator!.apply([input, output], { training: true }) as tf.Tensor;

  function step(input: tf.Tensor4D, target: tf.Tensor4D): Record<string, tf.Scalar> {
    const losses: Record<string, tf.Scalar> = {};
    let fake: tf.Tensor4D | undefined;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const output = generator.apply(input, { training: true }) as tf.Tensor4D;
        fake = tf.keep(output);
        const l1 = rebalancing
          ? weightedAbsoluteError(output, target, rebalancing.pixelWeights(target))
          : meanAbsoluteError(output, target);
        losses.l1 = tf.keep(l1);
        if (!adversarial) return tf.mul(options.lambdaL1, l1) as tf.Scalar;
        const fooling = lsganGeneratorLoss(score(input, output));
        losses.gAdv = tf.keep(fooling);
        return tf.add(tf.mul(options.lambdaL1, l1), tf.mul(options.lambdaAdversarial, fooling)) as tf.Scalar;
      }, generatorVariables);
      generatorOptimizer.applyGradients(grads as Record<string, tf.Variable>);
      tf.dispose(grads);
      losses.g = value;
      if (adversarial) {
        // The fake is a constant here: the discriminator's step gives the generator no gradient.
        const { value: d, grads: dGrads } = tf.variableGrads(
          () => lsganDiscriminatorLoss(score(input, target), score(input, fake!)),
          discriminatorVariables,
        );
        discriminatorOptimizer!.applyGradients(dGrads as Record<string, tf.Variable>);
        tf.dispose(dGrads);
        losses.d = d;
      }
      return losses;
    } finally {
      fake?.dispose();
    }
  }

  function trainStep(stepIndex: number, random: () => number): Record<string, number> {
    const lr = learningRateAt(stepIndex, options);
    setLearningRate(generatorOptimizer, lr);
    if (discriminatorOptimizer) setLearningRate(discriminatorOptimizer, lr);
    const photoBatch = tf.tensor4d(photos.sampleBatch(batchSize, crop, random), shape);
    const { input, target } = pairs.makePair(photoBatch);
    let losses: Record<string, tf.Scalar> = {};
    try {
      losses = step(input, target);
      const values: Record<string, number> = { lr };
      for (const [key, tensor] of Object.entries(losses)) values[key] = tensor.dataSync()[0]!;
      return values;
    } finally {
      tf.dispose([photoBatch, input, target, ...Object.values(losses)]);
    }
  }

  const session: RecipeSession = {
    models: discriminator ? { generator, discriminator } : { generator },
    optimizers: discriminatorOptimizer
      ? { generator: generatorOptimizer, discriminator: discriminatorOptimizer }
      : { generator: generatorOptimizer },
    examplesPerEpoch: photos.groupCount,
    dataset: {
      name: pairs.name,
      dir: dataDir,
      ...record,
      crops: `random ${cropSize}² crops at random scales (≥ ${options.minWindowFraction} of the short side), flipped half the time`,
    },
    trainStep,
    sample: () =>
      tf.tidy(() => {
        // Rows of [input | output | original photo].
        const { input } = pairs.makePair(samples);
        const inputs = pairs.inputAsRgb(input);
        const outputs = pairs.outputAsRgb(input, generator.predict(input) as tf.Tensor4D);
        const rows = tf.unstack(samples).flatMap((photo, i) => [inputs.gather([i]).squeeze([0]), outputs.gather([i]).squeeze([0]), photo]);
        return tf.stack(rows) as tf.Tensor4D;
      }),
    sampleColumns: 3,
    exportTarget: () => ({
      model: pairs.servingModel(generator, options.chromaGain),
      exportOptions: { imageLayout: 'NCHW', inputs: [{ name: 'image' }], outputs: [{ name: 'output' }] },
      manifest: {
        name: pairs.name,
        task: 'image-to-image',
        description: pairs.description,
        input: { name: 'image', layout: 'NCHW', channels: 3, range: [-1, 1], multipleOf: multiple, maxSide: 1024, warmupSide: 256 },
        output: { name: 'output', layout: 'NCHW', range: [-1, 1], channels: 3 },
      },
    }),
    dispose: () => samples.dispose(),
  };
  return session;
}

/** The pix2pix recipe for one paired task. */
export function pix2pixRecipe(pairs: PairMaker, summary: string): Recipe<Pix2PixOptions> {
  return {
    name: pairs.name,
    summary,
    defaults: { batchSize: 4, steps: 3200, checkpointEvery: 250, sampleEvery: 250 },
    options: PIX2PIX_OPTIONS,
    setup: (recipeSetup) => setup(pairs, recipeSetup),
  };
}

export const colorizeRecipe = pix2pixRecipe(
  colorizePairs(),
  'pix2pix colourisation: grey L* → a*b* (U-Net, conditional PatchGAN, L1 ×100 + LSGAN; --lambda-adversarial 0 for L1 alone)',
);
export const upscale2xRecipe = pix2pixRecipe(
  upscale2xPairs(),
  'pix2pix ×2 upscaling: photo halved and enlarged back → photo (U-Net, conditional PatchGAN, L1 ×100 + LSGAN)',
);
