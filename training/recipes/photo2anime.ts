/**
 * Recipe `photo2anime`: CycleGAN (Zhu et al. 2017) between photographs (A) and anime-style art (B),
 * exporting the A→B generator as an image-to-image model. Losses and schedule follow the reference
 * (junyanz/pytorch-CycleGAN-and-pix2pix): LSGAN, cycle weight λ = 10, identity weight 0.5·λ, a
 * 50-image history of fakes for the discriminators, Adam 2e-4 with β1 = 0.5 held constant and then
 * decayed linearly to 0. Nets are scaled down (width, blocks, crop size) to train on two CPU cores.
 *
 * Naming: genAB maps photos to anime and is judged by discB (real anime vs fake anime); genBA maps
 * back and is judged by discA.
 *
 * Resume caveat: the history pools are not part of a checkpoint; they refill during the first
 * steps after a resume, so a resumed run is not bit-identical to an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageFolderDataset, toSignedUnit } from '../data/image-folder.ts';
import { cycleLoss, identityLoss, lsganDiscriminatorLoss, lsganGeneratorLoss } from '../losses.ts';
import { patchDiscriminator, resnetGenerator, type Upsampling } from '../nets/cyclegan.ts';
import type { Recipe, RecipeSession, RecipeSetup } from './recipe.ts';

export const PHOTO2ANIME_OPTIONS = {
  /** Dataset in the CycleGAN layout (npm run data -- photo2anime). */
  dataDir: 'data/photo2anime',
  /** Side of the square training crops. */
  cropSize: 64,
  /** Smallest crop window as a fraction of an image's short side (0: cropSize pixels, full resolution). */
  minWindowFraction: 0,
  generatorFilters: 16,
  generatorBlocks: 4,
  /** Stride-2 downsamplings; inference sizes must be multiples of 2^this. */
  downsamplings: 2,
  /**
   * 'transpose' (the reference's transposed convolutions) or 'resize' (nearest 2× + conv). The
   * default is 'resize': with transposed convolutions, this small net still drew a checkerboard
   * on held-out photos after 1700 steps (finest-level SWD×1e3 364 against the photos' own 130).
   */
  upsampling: 'resize',
  discriminatorFilters: 16,
  /** Stride-2 layers of the PatchGAN (3 = 70×70 receptive field). */
  discriminatorLayers: 3,
  lambdaCycle: 10,
  /** Identity weight as a fraction of lambdaCycle (reference 0.5; 0 turns it off). */
  lambdaIdentity: 0.5,
  /** History of generated images shown to the discriminators (0 turns it off). */
  poolSize: 50,
  learningRate: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  /** Steps at the full learning rate, then `decaySteps` of linear decay to 0. */
  constantSteps: 2500,
  decaySteps: 2500,
  /** Held-out photos shown in the sample grids. */
  samplePhotos: 3,
};
export type Photo2AnimeOptions = typeof PHOTO2ANIME_OPTIONS;

/** Learning rate at `step`: constant, then linear decay to 0 (the reference's 'linear' policy). */
export function learningRateAt(step: number, options: Pick<Photo2AnimeOptions, 'learningRate' | 'constantSteps' | 'decaySteps'>): number {
  if (step < options.constantSteps) return options.learningRate;
  if (options.decaySteps <= 0) return 0;
  return options.learningRate * Math.max(0, 1 - (step - options.constantSteps) / options.decaySteps);
}

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

/** The optimizer's learning rate lives in a field tfjs does not expose for writing. */
function setLearningRate(optimizer: tf.AdamOptimizer, value: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = value;
}

async function setup({ seed, batchSize, options }: RecipeSetup<Photo2AnimeOptions>): Promise<RecipeSession> {
  const { dataDir, cropSize, downsamplings } = options;
  const multiple = 2 ** downsamplings;
  if (cropSize % multiple !== 0) throw new Error(`cropSize ${cropSize} must be a multiple of ${multiple}`);
  const [photos, anime, sources] = await Promise.all([
    ImageFolderDataset.load(join(dataDir, 'trainA')),
    ImageFolderDataset.load(join(dataDir, 'trainB')),
    readSources(dataDir),
  ]).catch((error: Error) => {
    throw new Error(`${error.message}\nbuild the dataset first: npm run data -- photo2anime`);
  });
  const samples = await samplePhotos(join(dataDir, 'testA'), options.samplePhotos, multiple);

  if (options.upsampling !== 'transpose' && options.upsampling !== 'resize') throw new Error(`--upsampling must be transpose or resize, got ${options.upsampling}`);
  const generator = { filters: options.generatorFilters, blocks: options.generatorBlocks, downsamplings, upsampling: options.upsampling as Upsampling };
  const discriminator = { filters: options.discriminatorFilters, layers: options.discriminatorLayers };
  const genAB = resnetGenerator({ ...generator, name: 'photo2anime', seed: seed + 1000 });
  const genBA = resnetGenerator({ ...generator, name: 'anime2photo', seed: seed + 2000 });
  const discB = patchDiscriminator({ ...discriminator, name: 'disc_anime', seed: seed + 3000 });
  const discA = patchDiscriminator({ ...discriminator, name: 'disc_photo', seed: seed + 4000 });
  const generatorOptimizer = tf.train.adam(options.learningRate, options.beta1, options.beta2);
  const discriminatorOptimizer = tf.train.adam(options.learningRate, options.beta1, options.beta2);
  const generatorVariables = [...genAB.trainableWeights, ...genBA.trainableWeights].map((w) => w.read() as tf.Variable);
  const discriminatorVariables = [...discB.trainableWeights, ...discA.trainableWeights].map((w) => w.read() as tf.Variable);
  const poolA = new ImageHistoryPool(options.poolSize);
  const poolB = new ImageHistoryPool(options.poolSize);
  const crop = { cropSize, minWindowFraction: options.minWindowFraction };
  const shape: [number, number, number, number] = [batchSize, cropSize, cropSize, 3];
  const lambdaIdentity = options.lambdaCycle * options.lambdaIdentity;

  function trainStep(step: number, random: () => number): Record<string, number> {
    const lr = learningRateAt(step, options);
    setLearningRate(generatorOptimizer, lr);
    setLearningRate(discriminatorOptimizer, lr);
    const realA = tf.tensor4d(photos.sampleBatch(batchSize, crop, random), shape);
    const realB = tf.tensor4d(anime.sampleBatch(batchSize, crop, random), shape);
    let fakeB: tf.Tensor4D | undefined;
    let fakeA: tf.Tensor4D | undefined;
    const losses: Record<string, tf.Scalar> = {};
    try {
      // Generators: fool both discriminators, reconstruct through the cycle, keep identity.
      const { value: generatorLoss, grads } = tf.variableGrads(() => {
        const fakeBNow = genAB.apply(realA, { training: true }) as tf.Tensor4D;
        const fakeANow = genBA.apply(realB, { training: true }) as tf.Tensor4D;
        fakeB = tf.keep(fakeBNow);
        fakeA = tf.keep(fakeANow);
        const adversarialAB = lsganGeneratorLoss(discB.apply(fakeBNow) as tf.Tensor);
        const adversarialBA = lsganGeneratorLoss(discA.apply(fakeANow) as tf.Tensor);
        const cycleA = cycleLoss(genBA.apply(fakeBNow, { training: true }) as tf.Tensor, realA);
        const cycleB = cycleLoss(genAB.apply(fakeANow, { training: true }) as tf.Tensor, realB);
        let total = tf.add(tf.add(adversarialAB, adversarialBA), tf.mul(options.lambdaCycle, tf.add(cycleA, cycleB)));
        losses.gAB = tf.keep(adversarialAB);
        losses.gBA = tf.keep(adversarialBA);
        losses.cycleA = tf.keep(cycleA);
        losses.cycleB = tf.keep(cycleB);
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

      // Discriminators: real vs a history of fakes (fakes are constants here: no generator grads).
      const pooledB = poolB.query(fakeB!, random);
      const pooledA = poolA.query(fakeA!, random);
      const { value: discriminatorLoss, grads: dGrads } = tf.variableGrads(() => {
        const lossB = lsganDiscriminatorLoss(discB.apply(realB, { training: true }) as tf.Tensor, discB.apply(pooledB, { training: true }) as tf.Tensor);
        const lossA = lsganDiscriminatorLoss(discA.apply(realA, { training: true }) as tf.Tensor, discA.apply(pooledA, { training: true }) as tf.Tensor);
        losses.dB = tf.keep(lossB);
        losses.dA = tf.keep(lossA);
        return tf.add(lossA, lossB) as tf.Scalar;
      }, discriminatorVariables);
      discriminatorOptimizer.applyGradients(dGrads as Record<string, tf.Variable>);
      tf.dispose([dGrads, pooledA, pooledB]);
      tf.dispose(discriminatorLoss);

      const values: Record<string, number> = { lr };
      for (const [key, tensor] of Object.entries(losses)) values[key] = tensor.dataSync()[0]!;
      return values;
    } finally {
      tf.dispose([realA, realB, ...Object.values(losses)]);
      if (fakeA) fakeA.dispose();
      if (fakeB) fakeB.dispose();
    }
  }

  const session: RecipeSession = {
    models: { genAB, genBA, discB, discA },
    optimizers: { generator: generatorOptimizer, discriminator: discriminatorOptimizer },
    examplesPerEpoch: photos.images.length,
    dataset: {
      name: 'photo2anime',
      dir: dataDir,
      domains: { A: 'photographs (plasma-workspace-wallpapers)', B: 'anime-style art (renpy-thequestion)' },
      counts: sources.counts,
      sources: sources.sources,
      crops: `random ${cropSize}² crops at random scales, flipped half the time`,
    },
    trainStep,
    sample: () =>
      tf.tidy(() => {
        // Rows of [photo | photo→anime | back to photo].
        const translated = genAB.predict(samples) as tf.Tensor4D;
        const reconstructed = genBA.predict(translated) as tf.Tensor4D;
        const rows = tf.unstack(samples).flatMap((photo, i) => [photo, translated.gather([i]).squeeze([0]), reconstructed.gather([i]).squeeze([0])]);
        return tf.stack(rows) as tf.Tensor4D;
      }),
    sampleColumns: 3,
    exportTarget: () => ({
      model: genAB,
      exportOptions: { imageLayout: 'NCHW', inputs: [{ name: 'image' }], outputs: [{ name: 'output' }] },
      manifest: {
        name: 'photo2anime',
        task: 'image-to-image',
        description: 'Photo → anime-style painting (CycleGAN ResNet generator, trained on Debian-packaged wallpapers and Ren\'Py art)',
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
  summary: 'CycleGAN photo → anime style (ResNet generator, PatchGAN, LSGAN, cycle + identity L1)',
  defaults: { batchSize: 1, steps: 5000, checkpointEvery: 250, sampleEvery: 250 },
  options: PHOTO2ANIME_OPTIONS,
  setup,
};
