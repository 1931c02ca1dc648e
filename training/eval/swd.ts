/**
 * Sliced Wasserstein distance (SWD) between patch distributions, as in Karras et al. 2018 (ProGAN,
 * "metrics/sliced_wasserstein.py"): each image is decomposed into a Laplacian pyramid; at each
 * level, 7×7×3 neighbourhoods at random positions are the descriptors; each set of descriptors is
 * normalised per channel (its own mean and std, as in the reference); the distance is the 1-D
 * Wasserstein distance of random unit projections, averaged over projections, then over levels.
 * Reported ×1e3 like the paper.
 */
import type { RgbImage } from '../data/image-folder.ts';
import { seededRandom } from '../data/random.ts';

/** Planar float image: `channels` planes of height × width. */
export interface PlanarImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

export function toPlanar(image: RgbImage): PlanarImage {
  const pixels = image.width * image.height;
  const data = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) data[c * pixels + p] = image.data[p * 3 + c]!;
  return { width: image.width, height: image.height, channels: 3, data };
}

/** The binomial kernel of Burt & Adelson's pyramid. */
const BINOMIAL = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

const reflect = (i: number, n: number): number => {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const f = ((i % period) + period) % period;
  return f < n ? f : period - f;
};

/** Separable 5-tap binomial blur with reflected borders, times `gain` per axis. */
function blur(image: PlanarImage, gain = 1): PlanarImage {
  const { width, height, channels } = image;
  const plane = width * height;
  const temp = new Float32Array(image.data.length);
  const out = new Float32Array(image.data.length);
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let k = -2; k <= 2; k++) sum += BINOMIAL[k + 2]! * image.data[base + y * width + reflect(x + k, width)]!;
        temp[base + y * width + x] = sum * gain;
      }
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let k = -2; k <= 2; k++) sum += BINOMIAL[k + 2]! * temp[base + reflect(y + k, height) * width + x]!;
        out[base + y * width + x] = sum * gain;
      }
    }
  }
  return { width, height, channels, data: out };
}

/** Blur, then keep every second pixel. */
function downsample(image: PlanarImage): PlanarImage {
  const blurred = blur(image);
  const width = Math.ceil(image.width / 2);
  const height = Math.ceil(image.height / 2);
  const data = new Float32Array(width * height * image.channels);
  for (let c = 0; c < image.channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        data[c * width * height + y * width + x] = blurred.data[c * image.width * image.height + 2 * y * image.width + 2 * x]!;
      }
    }
  }
  return { width, height, channels: image.channels, data };
}

/** Zero insertion to `width` × `height`, then blur with gain 2 per axis (the lost energy). */
function upsample(image: PlanarImage, width: number, height: number): PlanarImage {
  const data = new Float32Array(width * height * image.channels);
  for (let c = 0; c < image.channels; c++) {
    for (let y = 0; y < image.height && 2 * y < height; y++) {
      for (let x = 0; x < image.width && 2 * x < width; x++) {
        data[c * width * height + 2 * y * width + 2 * x] = image.data[c * image.width * image.height + y * image.width + x]!;
      }
    }
  }
  return blur({ width, height, channels: image.channels, data }, 2);
}

/**
 * Laplacian pyramid, finest level first: `levels - 1` band-pass levels (G_i − up(G_i+1)) and the
 * low-pass residual last. Summing the levels back up reconstructs the image.
 */
export function laplacianPyramid(image: PlanarImage, levels: number): PlanarImage[] {
  const pyramid: PlanarImage[] = [];
  let current = image;
  for (let level = 0; level < levels - 1; level++) {
    const smaller = downsample(current);
    const expanded = upsample(smaller, current.width, current.height);
    const band = new Float32Array(current.data.length);
    for (let i = 0; i < band.length; i++) band[i] = current.data[i]! - expanded.data[i]!;
    pyramid.push({ ...current, data: band });
    current = smaller;
  }
  pyramid.push(current);
  return pyramid;
}

export interface SwdOptions {
  /** Pyramid levels (finest first). Default 4. */
  levels?: number;
  /** Descriptors drawn per image per level (the reference: 128). */
  descriptorsPerImage?: number;
  /** Random projections: `directions` × `repeats` unit vectors per level (the reference: 128 × 4). */
  directions?: number;
  repeats?: number;
  /** Seeds patch positions and projections, so two calls on same-sized sets draw alike. */
  seed?: number;
}

const PATCH = 7;

/** Per level, the 7×7×C descriptors of random patches of every image (rows of a flat array). */
function descriptors(images: PlanarImage[], levels: number, perImage: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  const perLevel: number[][] = Array.from({ length: levels }, () => []);
  for (const image of images) {
    const pyramid = laplacianPyramid(image, levels);
    pyramid.forEach((level, l) => {
      if (level.width < PATCH || level.height < PATCH) return;
      const plane = level.width * level.height;
      for (let n = 0; n < perImage; n++) {
        const top = Math.floor(random() * (level.height - PATCH + 1));
        const left = Math.floor(random() * (level.width - PATCH + 1));
        for (let c = 0; c < level.channels; c++) {
          for (let y = 0; y < PATCH; y++) {
            for (let x = 0; x < PATCH; x++) perLevel[l]!.push(level.data[c * plane + (top + y) * level.width + left + x]!);
          }
        }
      }
    });
  }
  return perLevel.map((values) => Float32Array.from(values));
}

/** Subtracts each channel's mean and divides by its std, over all descriptors of one set. */
function normalizePerChannel(values: Float32Array, channels: number): Float32Array {
  const perChannel = PATCH * PATCH;
  const dim = perChannel * channels;
  const count = values.length / dim;
  const out = new Float32Array(values.length);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let sumSq = 0;
    for (let n = 0; n < count; n++) {
      for (let k = 0; k < perChannel; k++) {
        const v = values[n * dim + c * perChannel + k]!;
        sum += v;
        sumSq += v * v;
      }
    }
    const total = count * perChannel;
    const mean = sum / total;
    const std = Math.sqrt(Math.max(sumSq / total - mean * mean, 0)) || 1;
    for (let n = 0; n < count; n++) {
      for (let k = 0; k < perChannel; k++) {
        const i = n * dim + c * perChannel + k;
        out[i] = (values[i]! - mean) / std;
      }
    }
  }
  return out;
}

/** Unit vectors drawn uniformly on the sphere (normalised Gaussians). */
function unitDirections(count: number, dim: number, random: () => number): Float32Array {
  const out = new Float32Array(count * dim);
  for (let d = 0; d < count; d++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const u = 1 - random();
      const v = random();
      const g = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      out[d * dim + k] = g;
      norm += g * g;
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < dim; k++) out[d * dim + k]! /= norm;
  }
  return out;
}

function project(values: Float32Array, dim: number, direction: Float32Array, d: number): Float64Array {
  const count = values.length / dim;
  const out = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    let sum = 0;
    for (let k = 0; k < dim; k++) sum += values[n * dim + k]! * direction[d * dim + k]!;
    out[n] = sum;
  }
  return out.sort();
}

/**
 * 1-D Wasserstein-1 distance between two sorted samples, by matching quantiles: exact for equal
 * sizes, and for unequal sizes each of max(n, m) quantiles is read by nearest rank.
 */
export function wasserstein1d(a: Float64Array, b: Float64Array): number {
  const n = Math.max(a.length, b.length);
  let sum = 0;
  for (let q = 0; q < n; q++) {
    const ia = Math.min(a.length - 1, Math.floor(((q + 0.5) * a.length) / n));
    const ib = Math.min(b.length - 1, Math.floor(((q + 0.5) * b.length) / n));
    sum += Math.abs(a[ia]! - b[ib]!);
  }
  return sum / n;
}

export interface SwdResult {
  /** SWD ×1e3 per pyramid level, finest first. */
  perLevel: number[];
  /** Mean over levels, ×1e3. */
  mean: number;
}

/**
 * Sliced Wasserstein distance between two sets of images (any sizes). Same seed → same patch
 * positions for same-sized images and same projections, so SWD(x, x) = 0 exactly.
 */
export function slicedWasserstein(setA: PlanarImage[], setB: PlanarImage[], options: SwdOptions = {}): SwdResult {
  const levels = options.levels ?? 4;
  const perImage = options.descriptorsPerImage ?? 128;
  const directions = options.directions ?? 128;
  const repeats = options.repeats ?? 4;
  const seed = options.seed ?? 1;
  const channels = setA[0]?.channels ?? 3;
  const dim = PATCH * PATCH * channels;
  const descA = descriptors(setA, levels, perImage, seed);
  const descB = descriptors(setB, levels, perImage, seed);
  const random = seededRandom(seed ^ 0x9e3779b9);
  const perLevel: number[] = [];
  for (let l = 0; l < levels; l++) {
    if (descA[l]!.length === 0 || descB[l]!.length === 0)
      throw new Error(`pyramid level ${l} is smaller than a 7×7 patch for every image of a set`);
    const a = normalizePerChannel(descA[l]!, channels);
    const b = normalizePerChannel(descB[l]!, channels);
    const dirs = unitDirections(directions * repeats, dim, random);
    let total = 0;
    for (let d = 0; d < directions * repeats; d++) total += wasserstein1d(project(a, dim, dirs, d), project(b, dim, dirs, d));
    perLevel.push((total / (directions * repeats)) * 1e3);
  }
  return { perLevel, mean: perLevel.reduce((s, v) => s + v, 0) / perLevel.length };
}
