/**
 * How real generated digits look, measured in the project classifier's 64-d feature space (the one
 * the diversity figure uses): FID against real MNIST digits next to the real-vs-real floor at the
 * same sample size (FID is biased upwards by finite samples, so only the ratio to the floor
 * carries over between sample sizes), and improved precision and recall with k = 3.
 *
 * Real digits: the mnist package holds 10,000 digits (the MNIST test split), of which generators and
 * classifier train on 8,500; the 1,500 held-out ones are too few for two sets of 2,000. So each
 * class's reference digits are its held-out digits first, topped up from the training split, and the
 * floor's second set is the next digits of the same order (training digits at the default size).
 * Features of held-out and training digits are statistically alike: at 650 vs 650, held-out vs
 * training gave FID 3.61 ± 0.07 against 3.47 ± 0.13 held-out vs held-out and 3.55 ± 0.14 training
 * vs training (20 draws each).
 *
 * Both real sets and the generated ones hold equal numbers of each digit, so the class mix of MNIST
 * (11 % ones, 9 % fives) does not count against a generator asked for every digit equally.
 */
import { DEFAULT_SPLIT_SEED, MNIST_CLASSES, MNIST_PIXELS, digitsOfClass, imageAt, splitMnist, stratifiedQuotas } from '../data/mnist.ts';
import { seededRandom, shuffleInPlace } from '../data/random.ts';
import type { DigitClassifier } from './classifier.ts';
import { type FeatureStatistics, featureStatistics, frechetDistance } from './fid.ts';
import { DEFAULT_NEIGHBOURS, precisionRecall } from './precision-recall.ts';

/** Generated and real digits per FID set, as in the issue. */
export const DEFAULT_FID_SAMPLES = 2000;
/** Every class needs a digit (which also leaves enough points for k-NN balls). */
export const MIN_FID_SAMPLES = MNIST_CLASSES;
/** Seed of the real digits' draw; fixed, so every model and eval seed meets the same reference. */
const REFERENCE_SEED = 26;

/** How many of `total` FID digits each class gets: equal shares, the remainder to the lowest digits. */
export function digitsPerClass(total: number): number[] {
  if (!Number.isInteger(total) || total < MIN_FID_SAMPLES)
    throw new Error(`FID samples must be an integer ≥ ${MIN_FID_SAMPLES}, got ${total}`);
  return stratifiedQuotas(new Array<number>(MNIST_CLASSES).fill(1), total);
}

/** Real digits to compare generated ones with, in classifier features. */
export interface RealReference {
  samples: number;
  /** How many reference digits come from the held-out split; the rest are training digits. */
  heldOutDigits: number;
  features: Float32Array;
  statistics: FeatureStatistics;
  /** FID between the reference and a disjoint set of as many real digits: what a perfect generator would score. */
  floor: number;
}

/** Draws the reference and the floor's second set (`samples` digits each) and scores them with `classifier`. */
export async function realReference(classifier: DigitClassifier, samples: number): Promise<RealReference> {
  const { train, heldOut } = splitMnist({ seed: DEFAULT_SPLIT_SEED });
  const random = seededRandom(REFERENCE_SEED);
  const reference = new Float32Array(samples * MNIST_PIXELS);
  const second = new Float32Array(samples * MNIST_PIXELS);
  let offset = 0;
  let heldOutDigits = 0;
  for (const [label, count] of digitsPerClass(samples).entries()) {
    const unseen = digitsOfClass(heldOut, label);
    const seen = digitsOfClass(train, label);
    // One order per class, held-out digits first: the reference takes the first `count`, the floor's set the next.
    const order = [
      ...shuffleInPlace(
        Array.from({ length: unseen.count }, (_, i) => ({ set: unseen, index: i })),
        random,
      ),
      ...shuffleInPlace(
        Array.from({ length: seen.count }, (_, i) => ({ set: seen, index: i })),
        random,
      ),
    ];
    if (order.length < 2 * count) throw new Error(`FID samples ${samples} need ${2 * count} real ${label}s, MNIST has ${order.length}`);
    order.slice(0, count).forEach(({ set, index }, i) => reference.set(imageAt(set, index), (offset + i) * MNIST_PIXELS));
    order.slice(count, 2 * count).forEach(({ set, index }, i) => second.set(imageAt(set, index), (offset + i) * MNIST_PIXELS));
    heldOutDigits += Math.min(count, unseen.count);
    offset += count;
  }
  const features = (await classifier.classify(reference)).features;
  const statistics = featureStatistics(features, classifier.featureDim);
  const floor = frechetDistance(statistics, featureStatistics((await classifier.classify(second)).features, classifier.featureDim));
  return { samples, heldOutDigits, features, statistics, floor };
}

export interface RealismFigures {
  /** Generated digits compared, as many as the reference holds. */
  samples: number;
  /** How many of the real reference digits are held out; the rest are training digits. */
  realHeldOut: number;
  fid: number;
  floor: number;
  /** FID over the floor: 1 = as real as real digits at this sample size. */
  fidRatio: number;
  /** Share of generated digits inside the real digits' k-NN manifold. */
  precision: number;
  /** Share of real digits inside the generated digits' k-NN manifold. */
  recall: number;
}

/** FID, floor, ratio, precision and recall of generated digits' classifier features against `reference`. */
export function realismFigures(generatedFeatures: Float32Array, reference: RealReference): RealismFigures {
  const dim = reference.statistics.dim;
  if (generatedFeatures.length !== reference.features.length) {
    throw new Error(`${generatedFeatures.length / dim} generated digits for ${reference.samples} real ones; FID compares equal sizes`);
  }
  const fid = frechetDistance(featureStatistics(generatedFeatures, dim), reference.statistics);
  return {
    samples: reference.samples,
    realHeldOut: reference.heldOutDigits,
    fid,
    floor: reference.floor,
    fidRatio: fid / reference.floor,
    ...precisionRecall(reference.features, generatedFeatures, dim),
  };
}

/** "2000 generated vs 2000 real digits (1500 held out, 500 training)" for the report. */
export function describeSamples(figures: RealismFigures): string {
  return `${figures.samples} generated vs ${figures.samples} real digits (${figures.realHeldOut} held out, ${figures.samples - figures.realHeldOut} training)`;
}

/** The figures as one report line, with the FID-ratio target as met or MISSED. */
export function formatRealism(figures: RealismFigures, maxRatio: number): string {
  const verdict = figures.fidRatio <= maxRatio ? 'met' : 'MISSED';
  return (
    `FID ${figures.fid.toFixed(2)} (real-vs-real floor ${figures.floor.toFixed(2)}, ratio ${figures.fidRatio.toFixed(2)}; target ≤ ${maxRatio}: ${verdict}), ` +
    `precision ${figures.precision.toFixed(3)}, recall ${figures.recall.toFixed(3)} (k = ${DEFAULT_NEIGHBOURS})`
  );
}
