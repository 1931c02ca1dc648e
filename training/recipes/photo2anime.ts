/**
 * Recipe `photo2anime`: CycleGAN (Zhu et al. 2017) between photographs (A) and painted anime-style
 * scenes (B), exporting the A→B generator as an image-to-image model. The base follows the
 * reference (junyanz/pytorch-CycleGAN-and-pix2pix): LSGAN, a cycle L1, a 50-image history of fakes
 * for the discriminators, Adam 2e-4 with β1 = 0.5 held constant and then decayed linearly to 0.
 *
 * By default the generators do not draw pixels: their 'colour-transform' head recolours the photo
 * through a smooth field of local affine colour transforms (nets/colour-transform.ts), so the
 * output keeps every edge of the photo and cannot carry speckle, grids or banded skies; and the
 * exported graph ends in a TextureFlatten (nets/texture-flatten.ts) that puts textured areas into
 * flat fills, which the anime discriminator already judges in training. The pixel head and the
 * techniques anime translators use to learn from a few images stay switchable (0 or false turns
 * each off) so the ablation can measure them:
 *
 * - `lambdaColor`: AnimeGANv2's colour anchor, L1 on Y and Huber on U, V against the input photo
 *   (or, with `colorAnchor: 'reinhard'`, against the photo in the scenes' colour statistics);
 * - `edgeNegatives`, `greyNegatives`: CartoonGAN's edge-smoothed and AnimeGANv2's grey anime images,
 *   shown to the anime discriminator as fakes (weights of their terms);
 * - `animeDiscriminatorBlur`: the anime discriminator sees blurred images, so it judges colour;
 * - `lambdaTv`: AnimeGANv2's total-variation term on the translation (L1 form), against speckle;
 * - `lambdaLumaOrder`: where the photo's light clearly rises or falls, the translation's must not
 *   go the other way (against skies turned into bands);
 * - `lambdaSmoothChroma`: where the photo's hue barely moves, the translation's must not either
 *   (against bands of hue);
 * - `diffAugment`: translation and cutout on every discriminator input (Zhao et al. 2020);
 * - `initSteps`: generators first trained on reconstruction alone (CartoonGAN's initialization
 *   phase), so the GAN starts from nets that already reproduce their input.
 *
 * Naming: genAB maps photos to anime and is judged by discB (real anime vs fake anime); genBA maps
 * back and is judged by discA.
 *
 * Resume caveat: the history pools are not part of a checkpoint; they refill during the first
 * steps after a resume, so a resumed run is not bit-identical to an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import { adam } from '../backend/fused-adam.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageFolderDataset, numberedFrames, toSignedUnit } from '../data/image-folder.ts';
import { diffAugment } from '../augment.ts';
import { seededRandom } from '../data/random.ts';
import { labStats, reinhardTransfer } from '../eval/color-transfer.ts';
import {
  blockMean,
  colorLoss,
  cycleLoss,
  identityLoss,
  lsganDiscriminatorLoss,
  lsganFakeLoss,
  lsganGeneratorLoss,
  lumaOrderLoss,
  smoothChromaLoss,
  totalVariation,
} from '../losses.ts';
import { edgeSmoothed, greyscale } from '../negatives.ts';
import { generatorHeadOption, patchDiscriminator, resnetGenerator, upsamplingOption } from '../nets/cyclegan.ts';
import { boxFilter, type GuidedFilterGuide, withGuidedFilter } from '../nets/guided-filter.ts';
import { straightThroughFlatten, withTextureFlatten } from '../nets/texture-flatten.ts';
import type { Recipe, RecipeSession, RecipeSetup } from './recipe.ts';
import { learningRateAt, setLearningRate } from './schedule.ts';

export const PHOTO2ANIME_OPTIONS = {
  /** Dataset in the CycleGAN layout (npm run data -- photo2anime). */
  dataDir: 'data/photo2anime',
  /** Side of the square training crops. */
  cropSize: 128,
  /**
   * Smallest crop window as a fraction of an image's short side (0: cropSize pixels, full
   * resolution). Windows run from this to the whole short side, so the net sees each image at
   * the scales a 512 px upload has and coarser.
   */
  minWindowFraction: 0.2,
  generatorFilters: 32,
  generatorBlocks: 6,
  /** Stride-2 downsamplings; inference sizes must be multiples of 2^this. */
  downsamplings: 2,
  /**
   * The pixel head's upsampling: 'transpose' (the reference's transposed convolutions) or 'resize'
   * (nearest 2× + conv). The default is 'resize': with transposed convolutions, a small net still
   * drew a checkerboard on held-out photos after 1700 steps (finest-level SWD×1e3 364 against the
   * photos' own 130).
   */
  upsampling: 'resize',
  /**
   * 'pixels': the decoder draws the output. 'colour-transform': the generator recolours the photo
   * through a smooth field of local affine colour transforms (GeneratorOptions.head), and the
   * upsampling and input-skip options do not apply.
   */
  generatorHead: 'colour-transform',
  /** The input photo concatenated to the generator's last features (see GeneratorOptions.inputSkip). */
  inputSkip: false,
  /** Box-blur radius of the skipped input (GeneratorOptions.inputSkipBlur; 0: the photo itself). */
  inputSkipBlur: 0,
  /** ε of the generators' InstanceNorms (GeneratorOptions.normEpsilon). */
  generatorNormEpsilon: 1e-5,
  discriminatorFilters: 32,
  /** Stride-2 layers of the PatchGAN (3 = 70×70 receptive field). */
  discriminatorLayers: 3,
  /**
   * Weight of the cycle L1 (reference 10). 3 lets the anime side move further from the photo; the
   * colour-transform head keeps the photo's content whatever the weight.
   */
  lambdaCycle: 3,
  /**
   * Identity weight as a fraction of lambdaCycle (reference 0.5; 0 turns it off). Off by default:
   * with the colour-transform head it holds the output at the photo's own colours (the `identity`
   * ablation row), and it would run both generators once more per step.
   */
  lambdaIdentity: 0,
  /**
   * Cycle and colour losses compare images averaged over blocks of this many pixels a side (1: the
   * reference, pixel by pixel). A full-resolution cycle makes a generator that flattens texture
   * hide it as low-amplitude noise to get it back (CycleGAN's "steganography", the speckle); on
   * block means the content and colours must survive, the texture need not.
   */
  contentLowpass: 1,
  /**
   * Weight of the colour anchor G(photo) ≈ photo in YUV (AnimeGANv2). Off by default: like the
   * identity loss, it holds the colour-transform head at the photo's colours (the `color` row).
   */
  lambdaColor: 0,
  /**
   * What the colour anchor pulls towards: 'photo' (AnimeGANv2: the input itself) or 'reinhard'
   * (the photo moved into the anime scenes' colour statistics, Reinhard et al. 2001 in L*a*b*, the
   * eval's baseline): the anchor then asks for the scenes' palette instead of the photo's, and the
   * GAN refines it region by region.
   */
  colorAnchor: 'photo',
  /**
   * Weight of a total-variation term on the photo→anime output (AnimeGANv2's, in its L1 form):
   * a price on pixel-to-pixel change, against speckle and the fine texture a generator draws to
   * fool the discriminator or to hide the photo's detail for the cycle; 0 turns it off.
   */
  lambdaTv: 0,
  /**
   * Weight of the luma-order term (losses.ts lumaOrderLoss): where the photo's light clearly rises
   * or falls between 4×4 blocks, the translation's must not go the other way, so a smooth sky
   * cannot turn into bands; 0 turns it off.
   */
  lambdaLumaOrder: 0,
  /**
   * Weight of the smooth-chroma term (losses.ts smoothChromaLoss): where the photo's hue barely
   * moves between 4×4 blocks, the translation's must not either, so a sky cannot turn into bands
   * of hue; 0 turns it off.
   */
  lambdaSmoothChroma: 0,
  /**
   * Weight of the edge-smoothed anime negatives in the anime discriminator's loss (CartoonGAN).
   * Off by default: the colour-transform head cannot sharpen an edge, and through
   * animeDiscriminatorBlur the discriminator barely sees one (the `edge` ablation row).
   */
  edgeNegatives: 0,
  /** Weight of the grey anime negatives in the anime discriminator's loss (AnimeGANv2). */
  greyNegatives: 0.5,
  /**
   * Box-blur radius of every image the anime discriminator sees (0: off). Blurred, a photo's grain
   * and a painting's crisp edges look alike, so the discriminator judges colours and their layout,
   * which is all a colour-transform generator can change.
   */
  animeDiscriminatorBlur: 2,
  /** Translation and cutout on every discriminator input (DiffAugment). */
  diffAugment: true,
  /**
   * Steps of reconstruction-only generator training before the GAN starts, so the GAN starts from
   * generators that reproduce their input (with the input skip, L1 0.06–0.1 after 200 steps). The
   * colour-transform head starts as the identity and needs none.
   */
  initSteps: 0,
  /** History of generated images shown to the discriminators (0 turns it off). */
  poolSize: 50,
  learningRate: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  /** Steps at the full learning rate, then `decaySteps` of linear decay to 0. */
  constantSteps: 1000,
  decaySteps: 1000,
  /** Held-out photos shown in the sample grids. */
  samplePhotos: 3,
  /**
   * A filter inside the exported graph: 'none'; the edge-preserving guided filter (White-box
   * Cartoonization applies one to its output), 'self' (guided by the output itself: flattens
   * speckle, keeps the drawn edges) or 'input' (guided by the photo: restores the photo's edges);
   * or 'flatten' (TextureFlatten: luma in hard steps where the image is textured, smooth areas
   * kept). Applied at export (and in the sample grids), so it can be measured on one trained
   * generator by re-exporting a checkpoint; 'flatten' also in training with flattenDuringTraining.
   */
  outputFilter: 'flatten',
  /** The guided filter's window radius in pixels and its ε (in [-1, 1] units²). */
  filterRadius: 2,
  filterEpsilon: 0.01,
  /** TextureFlatten's luma steps and texture thresholds (TextureFlattenConfig). */
  flattenLevels: 6,
  flattenLow: 0.002,
  flattenHigh: 0.006,
  /**
   * With outputFilter 'flatten': the anime discriminator judges the flattened translation, as the
   * exported graph will output it (the generator's gradient passes the steps straight through).
   */
  flattenDuringTraining: true,
};
export type Photo2AnimeOptions = typeof PHOTO2ANIME_OPTIONS;

/**
 * The reference's ImagePool: until full, every fake goes in and is returned; after that, each fake
 * is returned as is with probability ½, or swapped for a random stored one (which it replaces).
 * Showing the discriminator older fakes damps the oscillation between the two players.
 */
export class ImageHistoryPool {
  private readonly images: tf.Tensor3D[] = [];

  constructor(readonly capacity: number) {}

  /** Returns a batch to train the discriminator on; the caller owns (and disposes) the result. */
  query(fakes: tf.Tensor4D, random: () => number): tf.Tensor4D {
    if (this.capacity === 0) return fakes.clone();
    const chosen = tf.unstack(fakes) as tf.Tensor3D[];
    const out: tf.Tensor3D[] = [];
    for (const fake of chosen) {
      if (this.images.length < this.capacity) {
        this.images.push(tf.keep(fake.clone()));
        out.push(fake);
      } else if (random() < 0.5) {
        const index = Math.floor(random() * this.capacity);
        out.push(this.images[index]!.clone());
        this.images[index]!.dispose();
        this.images[index] = tf.keep(fake.clone());
        fake.dispose();
      } else {
        out.push(fake);
      }
    }
    const batch = tf.stack(out) as tf.Tensor4D;
    for (const t of out) t.dispose();
    return batch;
  }

  get size(): number {
    return this.images.length;
  }

  dispose(): void {
    for (const t of this.images) t.dispose();
    this.images.length = 0;
  }
}

interface DatasetRecord {
  sources?: unknown;
  counts?: unknown;
}

async function readSources(dataDir: string): Promise<DatasetRecord> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'SOURCES.json'), 'utf8')) as DatasetRecord;
  } catch {
    return {};
  }
}

/** Held-out photos, downscaled to a multiple-of-`multiple` size, as one batch for sample grids. */
async function samplePhotos(dir: string, count: number, multiple: number): Promise<tf.Tensor4D> {
  const dataset = await ImageFolderDataset.load(dir);
  const width = 192;
  const height = 128;
  if (width % multiple !== 0 || height % multiple !== 0) throw new Error(`sample size is not a multiple of ${multiple}`);
  const images = await Promise.all(
    dataset.images.slice(0, count).map(async (image) => {
      const { data } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .resize(width, height, { fit: 'cover' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return toSignedUnit({ name: image.name, width, height, data: new Uint8Array(data) });
    }),
  );
  const flat = new Float32Array(images.length * width * height * 3);
  images.forEach((values, i) => flat.set(values, i * values.length));
  return tf.tensor4d(flat, [images.length, height, width, 3]);
}

async function setup({ seed, batchSize, options }: RecipeSetup<Photo2AnimeOptions>): Promise<RecipeSession> {
  const { dataDir, cropSize, downsamplings } = options;
  const multiple = 2 ** downsamplings;
  if (cropSize % multiple !== 0) throw new Error(`cropSize ${cropSize} must be a multiple of ${multiple}`);
  const [photos, anime, sources] = await Promise.all([
    ImageFolderDataset.load(join(dataDir, 'trainA')),
    ImageFolderDataset.load(join(dataDir, 'trainB'), numberedFrames),
    readSources(dataDir),
  ]).catch((error: Error) => {
    throw new Error(`${error.message}\nbuild the dataset first: npm run data -- photo2anime`);
  });
  const samples = await samplePhotos(join(dataDir, 'testA'), options.samplePhotos, multiple);

  if (options.colorAnchor !== 'photo' && options.colorAnchor !== 'reinhard')
    throw new Error(`--color-anchor must be photo or reinhard, got ${options.colorAnchor}`);
  // The photos in the scenes' colour statistics, cropped exactly as the photos are (same draws).
  const sceneStats = options.colorAnchor === 'reinhard' ? labStats(anime.images) : undefined;
  const anchors = sceneStats && new ImageFolderDataset(photos.images.map((photo) => reinhardTransfer(photo, sceneStats)));
  if (!['none', 'self', 'input', 'flatten'].includes(options.outputFilter))
    throw new Error(`--output-filter must be none, self, input or flatten, got ${options.outputFilter}`);
  const flatten = { levels: options.flattenLevels, low: options.flattenLow, high: options.flattenHigh };
  if (options.flattenDuringTraining && options.outputFilter !== 'flatten')
    throw new Error('--flatten-during-training needs --output-filter flatten');
  const judged = options.flattenDuringTraining ? straightThroughFlatten(flatten) : (images: tf.Tensor4D) => images;
  const generator = {
    filters: options.generatorFilters,
    blocks: options.generatorBlocks,
    downsamplings,
    upsampling: upsamplingOption(options.upsampling),
    head: generatorHeadOption(options.generatorHead),
    inputSkip: options.inputSkip,
    inputSkipBlur: options.inputSkipBlur,
    normEpsilon: options.generatorNormEpsilon,
  };
  const discriminator = { filters: options.discriminatorFilters, layers: options.discriminatorLayers };
  const genAB = resnetGenerator({ ...generator, name: 'photo2anime', seed: seed + 1000 });
  const genBA = resnetGenerator({ ...generator, name: 'anime2photo', seed: seed + 2000 });
  const discB = patchDiscriminator({ ...discriminator, name: 'disc_anime', seed: seed + 3000 });
  const discA = patchDiscriminator({ ...discriminator, name: 'disc_photo', seed: seed + 4000 });
  const generatorOptimizer = adam(options.learningRate, options.beta1, options.beta2);
  const discriminatorOptimizer = adam(options.learningRate, options.beta1, options.beta2);
  const generatorVariables = [...genAB.trainableWeights, ...genBA.trainableWeights].map((w) => w.read() as tf.Variable);
  const discriminatorVariables = [...discB.trainableWeights, ...discA.trainableWeights].map((w) => w.read() as tf.Variable);
  const poolA = new ImageHistoryPool(options.poolSize);
  const poolB = new ImageHistoryPool(options.poolSize);
  const crop = { cropSize, minWindowFraction: options.minWindowFraction };
  const shape: [number, number, number, number] = [batchSize, cropSize, cropSize, 3];
  const lambdaIdentity = options.lambdaCycle * options.lambdaIdentity;
  if (!Number.isInteger(options.contentLowpass) || options.contentLowpass < 1 || cropSize % options.contentLowpass !== 0)
    throw new Error(`--content-lowpass must be a positive integer dividing cropSize ${cropSize}, got ${options.contentLowpass}`);
  const lowpass = (images: tf.Tensor) => blockMean(images as tf.Tensor4D, options.contentLowpass);

  const augment = (images: tf.Tensor4D, random: () => number): tf.Tensor4D => (options.diffAugment ? diffAugment(images, random) : images);
  const blurForB =
    options.animeDiscriminatorBlur > 0 ? boxFilter(options.animeDiscriminatorBlur, cropSize, cropSize) : (images: tf.Tensor) => images;

  /** Initialization phase: both generators learn to reproduce their input, nothing else. */
  function reconstructionStep(realA: tf.Tensor4D, realB: tf.Tensor4D): Record<string, tf.Scalar> {
    const losses: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const reconA = cycleLoss(genAB.apply(realA, { training: true }) as tf.Tensor, realA);
      const reconB = cycleLoss(genBA.apply(realB, { training: true }) as tf.Tensor, realB);
      losses.initA = tf.keep(reconA);
      losses.initB = tf.keep(reconB);
      return tf.add(reconA, reconB) as tf.Scalar;
    }, generatorVariables);
    generatorOptimizer.applyGradients(grads as Record<string, tf.Variable>);
    tf.dispose(grads);
    losses.g = value;
    return losses;
  }

  function adversarialStep(realA: tf.Tensor4D, realB: tf.Tensor4D, anchorA: tf.Tensor4D, random: () => number): Record<string, tf.Scalar> {
    const losses: Record<string, tf.Scalar> = {};
    let fakeB: tf.Tensor4D | undefined;
    let fakeA: tf.Tensor4D | undefined;
    try {
      // Generators: fool both discriminators, reconstruct through the cycle, keep the photo's colours.
      const { value: generatorLoss, grads } = tf.variableGrads(() => {
        const fakeBNow = genAB.apply(realA, { training: true }) as tf.Tensor4D;
        const fakeANow = genBA.apply(realB, { training: true }) as tf.Tensor4D;
        const judgedB = judged(fakeBNow);
        fakeB = tf.keep(judgedB);
        fakeA = tf.keep(fakeANow);
        const adversarialAB = lsganGeneratorLoss(discB.apply(blurForB(augment(judgedB, random))) as tf.Tensor);
        const adversarialBA = lsganGeneratorLoss(discA.apply(augment(fakeANow, random)) as tf.Tensor);
        const cycleA = cycleLoss(lowpass(genBA.apply(fakeBNow, { training: true }) as tf.Tensor), lowpass(realA));
        const cycleB = cycleLoss(lowpass(genAB.apply(fakeANow, { training: true }) as tf.Tensor), lowpass(realB));
        let total = tf.add(tf.add(adversarialAB, adversarialBA), tf.mul(options.lambdaCycle, tf.add(cycleA, cycleB)));
        losses.gAB = tf.keep(adversarialAB);
        losses.gBA = tf.keep(adversarialBA);
        losses.cycleA = tf.keep(cycleA);
        losses.cycleB = tf.keep(cycleB);
        if (options.lambdaColor > 0) {
          const color = colorLoss(lowpass(fakeBNow), lowpass(anchorA));
          total = tf.add(total, tf.mul(options.lambdaColor, color));
          losses.color = tf.keep(color);
        }
        if (options.lambdaTv > 0) {
          const variation = totalVariation(fakeBNow);
          total = tf.add(total, tf.mul(options.lambdaTv, variation));
          losses.tv = tf.keep(variation);
        }
        if (options.lambdaLumaOrder > 0) {
          const order = lumaOrderLoss(fakeBNow, realA);
          total = tf.add(total, tf.mul(options.lambdaLumaOrder, order));
          losses.lumaOrder = tf.keep(order);
        }
        if (options.lambdaSmoothChroma > 0) {
          const chroma = smoothChromaLoss(fakeBNow, realA);
          total = tf.add(total, tf.mul(options.lambdaSmoothChroma, chroma));
          losses.smoothChroma = tf.keep(chroma);
        }
        if (lambdaIdentity > 0) {
          const idB = identityLoss(genAB.apply(realB, { training: true }) as tf.Tensor, realB);
          const idA = identityLoss(genBA.apply(realA, { training: true }) as tf.Tensor, realA);
          total = tf.add(total, tf.mul(lambdaIdentity, tf.add(idA, idB)));
          losses.idA = tf.keep(idA);
          losses.idB = tf.keep(idB);
        }
        return total as tf.Scalar;
      }, generatorVariables);
      generatorOptimizer.applyGradients(grads as Record<string, tf.Variable>);
      tf.dispose(grads);
      losses.g = generatorLoss;

      // Discriminators: real vs a history of fakes (fakes are constants here: no generator grads),
      // and for the anime one, anime made wrong on purpose.
      const pooledB = poolB.query(fakeB!, random);
      const pooledA = poolA.query(fakeA!, random);
      const negatives: { weight: number; images: tf.Tensor4D; key: string }[] = [];
      if (options.edgeNegatives > 0) negatives.push({ weight: options.edgeNegatives, images: edgeSmoothed(realB), key: 'dEdge' });
      if (options.greyNegatives > 0) negatives.push({ weight: options.greyNegatives, images: greyscale(realB), key: 'dGrey' });
      const { value: discriminatorLoss, grads: dGrads } = tf.variableGrads(() => {
        const scoreB = (images: tf.Tensor4D) => discB.apply(blurForB(augment(images, random)), { training: true }) as tf.Tensor;
        const scoreA = (images: tf.Tensor4D) => discA.apply(augment(images, random), { training: true }) as tf.Tensor;
        let lossB = lsganDiscriminatorLoss(scoreB(realB), scoreB(pooledB));
        losses.dB = tf.keep(lossB);
        for (const negative of negatives) {
          const term = lsganFakeLoss(scoreB(negative.images));
          losses[negative.key] = tf.keep(term);
          lossB = tf.add(lossB, tf.mul(0.5 * negative.weight, term));
        }
        const lossA = lsganDiscriminatorLoss(scoreA(realA), scoreA(pooledA));
        losses.dA = tf.keep(lossA);
        return tf.add(lossA, lossB) as tf.Scalar;
      }, discriminatorVariables);
      discriminatorOptimizer.applyGradients(dGrads as Record<string, tf.Variable>);
      tf.dispose([dGrads, pooledA, pooledB, ...negatives.map((n) => n.images)]);
      tf.dispose(discriminatorLoss);
      return losses;
    } finally {
      if (fakeA) fakeA.dispose();
      if (fakeB) fakeB.dispose();
    }
  }

  function trainStep(step: number, random: () => number): Record<string, number> {
    const lr = learningRateAt(step, options);
    setLearningRate(generatorOptimizer, lr);
    setLearningRate(discriminatorOptimizer, lr);
    const cropSeed = anchors ? Math.floor(random() * 0x1_0000_0000) : 0;
    const realA = tf.tensor4d(photos.sampleBatch(batchSize, crop, anchors ? seededRandom(cropSeed) : random), shape);
    const anchorA = anchors ? tf.tensor4d(anchors.sampleBatch(batchSize, crop, seededRandom(cropSeed)), shape) : realA;
    const realB = tf.tensor4d(anime.sampleBatch(batchSize, crop, random), shape);
    let losses: Record<string, tf.Scalar> = {};
    try {
      losses = step < options.initSteps ? reconstructionStep(realA, realB) : adversarialStep(realA, realB, anchorA, random);
      const values: Record<string, number> = { lr };
      for (const [key, tensor] of Object.entries(losses)) values[key] = tensor.dataSync()[0]!;
      return values;
    } finally {
      tf.dispose([realA, realB, ...(anchorA === realA ? [] : [anchorA]), ...Object.values(losses)]);
    }
  }

  /** genAB with the output filter, if any: what the export holds and the sample grids show. */
  const exported = (() => {
    if (options.outputFilter === 'none') return genAB;
    if (options.outputFilter === 'flatten') return withTextureFlatten(genAB, flatten);
    const guide = options.outputFilter as GuidedFilterGuide;
    return withGuidedFilter(genAB, { radius: options.filterRadius, epsilon: options.filterEpsilon, guide });
  })();

  const session: RecipeSession = {
    models: { genAB, genBA, discB, discA },
    optimizers: { generator: generatorOptimizer, discriminator: discriminatorOptimizer },
    examplesPerEpoch: photos.images.length,
    dataset: {
      name: 'photo2anime',
      dir: dataDir,
      domains: {
        A: 'photographs (plasma-workspace-wallpapers, mate-backgrounds, python3-skimage)',
        B: 'painted anime-style scenes (renpy-thequestion, renpy-demo)',
      },
      counts: sources.counts,
      sources: sources.sources,
      crops: `random ${cropSize}² crops at random scales, flipped half the time`,
    },
    trainStep,
    sample: () =>
      tf.tidy(() => {
        // Rows of [photo | photo→anime | back to photo].
        const translated = exported.predict(samples) as tf.Tensor4D;
        const reconstructed = genBA.predict(translated) as tf.Tensor4D;
        const rows = tf
          .unstack(samples)
          .flatMap((photo, i) => [photo, translated.gather([i]).squeeze([0]), reconstructed.gather([i]).squeeze([0])]);
        return tf.stack(rows) as tf.Tensor4D;
      }),
    sampleColumns: 3,
    exportTarget: () => ({
      model: exported,
      exportOptions: { imageLayout: 'NCHW', inputs: [{ name: 'image' }], outputs: [{ name: 'output' }] },
      manifest: {
        name: 'photo2anime',
        task: 'image-to-image',
        description: `Photo → anime-style painting (CycleGAN generator with a ${options.generatorHead} head${options.outputFilter === 'none' ? '' : ` and a ${options.outputFilter} output filter`}, trained on Debian-packaged photos and Ren'Py scenes)`,
        input: { name: 'image', layout: 'NCHW', channels: 3, range: [-1, 1], multipleOf: multiple, maxSide: 1024, warmupSide: 256 },
        output: { name: 'output', layout: 'NCHW', range: [-1, 1], channels: 3 },
      },
    }),
    dispose: () => {
      poolA.dispose();
      poolB.dispose();
      samples.dispose();
    },
  };
  return session;
}

export const photo2animeRecipe: Recipe<Photo2AnimeOptions> = {
  name: 'photo2anime',
  summary:
    'CycleGAN photo → anime style (ResNet generator recolouring the photo by local colour transforms, texture flattening in the graph, PatchGAN, LSGAN, cycle L1, DiffAugment)',
  defaults: { batchSize: 1, steps: 2000, checkpointEvery: 250, sampleEvery: 250 },
  options: PHOTO2ANIME_OPTIONS,
  setup,
};
