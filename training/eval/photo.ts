/**
 * Evaluation of photo → anime translation on held-out photos.
 *
 * Style: sliced Wasserstein distance (SWD) between patch distributions, as in Karras et al. 2018
 * (ProGAN, "metrics/sliced_wasserstein.py"): each image is decomposed into a Laplacian pyramid;
 * at each level, 7×7×3 neighbourhoods at random positions are the descriptors; each set of
 * descriptors is normalised per channel (its own mean and std, as in the reference); the
 * distance is the 1-D Wasserstein distance of random unit projections, averaged over projections,
 * then over levels. Reported ×1e3 like the paper. The score is a ratio,
 * SWD(translated, anime) / SWD(photos, anime): below 1 the outputs are closer to the anime set.
 *
 * Baseline: Reinhard et al. 2001 colour transfer, in CIE L*a*b* (D65): each photo's per-channel
 * mean and std are matched to those of the anime set. Because SWD normalises each channel per
 * set, a per-RGB-channel affine recolouring would score exactly 1; the Lab transfer is not affine
 * in RGB, so it moves the score a little. Beating it means changing structure and texture too.
 *
 * Content: mean SSIM (Wang et al. 2004; 11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, 'valid'
 * region) between the grayscale (BT.601 luma) input and output; the target is ≥ 0.6.
 */
import { readFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { composeGrid, cropTopLeft, fromTensor, type ImageToImageManifest, parseManifest, type RawImage, reflectPad, toTensor } from '../../server/shared.ts';
import { readImageFolder, type RgbImage } from '../data/image-folder.ts';
import { seededRandom } from '../data/random.ts';

// ---------------------------------------------------------------------------------------------
// Laplacian pyramid and SWD

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
    if (descA[l]!.length === 0 || descB[l]!.length === 0) throw new Error(`pyramid level ${l} is smaller than a 7×7 patch for every image of a set`);
    const a = normalizePerChannel(descA[l]!, channels);
    const b = normalizePerChannel(descB[l]!, channels);
    const dirs = unitDirections(directions * repeats, dim, random);
    let total = 0;
    for (let d = 0; d < directions * repeats; d++) total += wasserstein1d(project(a, dim, dirs, d), project(b, dim, dirs, d));
    perLevel.push((total / (directions * repeats)) * 1e3);
  }
  return { perLevel, mean: perLevel.reduce((s, v) => s + v, 0) / perLevel.length };
}

// ---------------------------------------------------------------------------------------------
// SSIM

/** BT.601 luma in [0, 1]. */
export function toGray(image: RgbImage): Float32Array {
  const pixels = image.width * image.height;
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) out[p] = (0.299 * image.data[p * 3]! + 0.587 * image.data[p * 3 + 1]! + 0.114 * image.data[p * 3 + 2]!) / 255;
  return out;
}

const SSIM_WINDOW = 11;
const SSIM_SIGMA = 1.5;

function gaussianKernel(size: number, sigma: number): Float64Array {
  const kernel = new Float64Array(size);
  const centre = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    kernel[i] = Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma));
    sum += kernel[i]!;
  }
  for (let i = 0; i < size; i++) kernel[i]! /= sum;
  return kernel;
}

/** 'valid' separable filtering: output is (width − size + 1) × (height − size + 1). */
function filterValid(values: Float64Array, width: number, height: number, kernel: Float64Array): Float64Array {
  const size = kernel.length;
  const outW = width - size + 1;
  const outH = height - size + 1;
  const temp = new Float64Array(outW * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let k = 0; k < size; k++) sum += kernel[k]! * values[y * width + x + k]!;
      temp[y * outW + x] = sum;
    }
  }
  const out = new Float64Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let k = 0; k < size; k++) sum += kernel[k]! * temp[(y + k) * outW + x]!;
      out[y * outW + x] = sum;
    }
  }
  return out;
}

/** Mean SSIM of two single-channel images in [0, 1] of the same size (at least 11×11). */
export function ssim(a: Float32Array, b: Float32Array, width: number, height: number): number {
  if (a.length !== width * height || b.length !== width * height) throw new Error('ssim: images must both be width × height');
  if (width < SSIM_WINDOW || height < SSIM_WINDOW) throw new Error(`ssim: images must be at least ${SSIM_WINDOW}×${SSIM_WINDOW}`);
  const kernel = gaussianKernel(SSIM_WINDOW, SSIM_SIGMA);
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  const n = width * height;
  const x = Float64Array.from(a);
  const y = Float64Array.from(b);
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const [mx, my, sxx, syy, sxy] = [x, y, xx, yy, xy].map((v) => filterValid(v, width, height, kernel)) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  let total = 0;
  for (let i = 0; i < mx.length; i++) {
    const mux = mx[i]!;
    const muy = my[i]!;
    const varX = sxx[i]! - mux * mux;
    const varY = syy[i]! - muy * muy;
    const cov = sxy[i]! - mux * muy;
    total += ((2 * mux * muy + c1) * (2 * cov + c2)) / ((mux * mux + muy * muy + c1) * (varX + varY + c2));
  }
  return total / mx.length;
}

// ---------------------------------------------------------------------------------------------
// Reinhard colour transfer in CIE L*a*b*

const srgbToLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const linearToSrgb = (v: number) => (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);
const WHITE = [0.95047, 1, 1.08883] as const;
const labF = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
const labFInverse = (f: number) => (f ** 3 > 216 / 24389 ? f ** 3 : (116 * f - 16) / (24389 / 27));

/** RGB bytes → L*a*b* triples. */
export function rgbToLab(image: RgbImage): Float32Array {
  const pixels = image.width * image.height;
  const out = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const r = srgbToLinear(image.data[p * 3]! / 255);
    const g = srgbToLinear(image.data[p * 3 + 1]! / 255);
    const b = srgbToLinear(image.data[p * 3 + 2]! / 255);
    const fx = labF((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / WHITE[0]);
    const fy = labF((0.2126729 * r + 0.7151522 * g + 0.072175 * b) / WHITE[1]);
    const fz = labF((0.0193339 * r + 0.119192 * g + 0.9503041 * b) / WHITE[2]);
    out[p * 3] = 116 * fy - 16;
    out[p * 3 + 1] = 500 * (fx - fy);
    out[p * 3 + 2] = 200 * (fy - fz);
  }
  return out;
}

/** L*a*b* triples → RGB bytes (clamped). */
export function labToRgb(lab: Float32Array, width: number, height: number, name = 'lab'): RgbImage {
  const pixels = width * height;
  const data = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const fy = (lab[p * 3]! + 16) / 116;
    const fx = fy + lab[p * 3 + 1]! / 500;
    const fz = fy - lab[p * 3 + 2]! / 200;
    const x = labFInverse(fx) * WHITE[0];
    const y = labFInverse(fy) * WHITE[1];
    const z = labFInverse(fz) * WHITE[2];
    const rgb = [
      3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
      -0.969266 * x + 1.8760108 * y + 0.041556 * z,
      0.0556434 * x - 0.2040259 * y + 1.0572252 * z,
    ];
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, linearToSrgb(Math.max(0, rgb[c]!)))) * 255);
  }
  return { name, width, height, data };
}

export interface ChannelStats {
  mean: [number, number, number];
  std: [number, number, number];
}

/** Per-channel mean and std of L*a*b* values over all pixels of all images. */
export function labStats(images: RgbImage[]): ChannelStats {
  const sum = [0, 0, 0];
  const sumSq = [0, 0, 0];
  let count = 0;
  for (const image of images) {
    const lab = rgbToLab(image);
    for (let i = 0; i < lab.length; i += 3) {
      for (let c = 0; c < 3; c++) {
        sum[c]! += lab[i + c]!;
        sumSq[c]! += lab[i + c]! ** 2;
      }
    }
    count += lab.length / 3;
  }
  const mean = sum.map((s) => s / count) as [number, number, number];
  const std = sumSq.map((s, c) => Math.sqrt(Math.max(s / count - mean[c]! ** 2, 0))) as [number, number, number];
  return { mean, std };
}

/** Reinhard et al. 2001: shift and scale each L*a*b* channel of `image` to the target's statistics. */
export function reinhardTransfer(image: RgbImage, target: ChannelStats): RgbImage {
  const lab = rgbToLab(image);
  const source = labStats([image]);
  for (let i = 0; i < lab.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const scale = source.std[c]! > 1e-6 ? target.std[c]! / source.std[c]! : 1;
      lab[i + c] = (lab[i + c]! - source.mean[c]!) * scale + target.mean[c]!;
    }
  }
  return labToRgb(lab, image.width, image.height, image.name);
}

// ---------------------------------------------------------------------------------------------
// The evaluation

/** An image-to-image model folder run through onnxruntime as the server would. */
export async function loadTranslator(modelDir: string): Promise<{ manifest: ImageToImageManifest; translate(image: RgbImage): Promise<RgbImage>; release(): Promise<void> }> {
  const manifest = parseManifest(JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')));
  if (manifest.task !== 'image-to-image') throw new Error(`${modelDir}: the photo eval needs an image-to-image model, this one is ${manifest.task}`);
  const session = await ort.InferenceSession.create(join(modelDir, manifest.onnx));
  const { input, output } = manifest;
  return {
    manifest,
    async translate(image) {
      if (Math.max(image.width, image.height) > input.maxSide) throw new Error(`${image.name} is larger than the model's maxSide ${input.maxSide}`);
      const padded = reflectPad({ ...image, channels: 3 }, input.multipleOf);
      const tensor = toTensor(padded, input.layout, input.range, input.channels);
      const result = await session.run({ [input.name]: new ort.Tensor('float32', tensor.data, tensor.dims) });
      const produced = result[output.name];
      if (!produced) throw new Error(`model output "${output.name}" missing`);
      const pixels = fromTensor({ data: produced.data as Float32Array, dims: [...produced.dims] }, output.layout, output.range);
      const cropped = cropTopLeft(pixels, image.width, image.height);
      return { name: image.name, width: cropped.width, height: cropped.height, data: cropped.data };
    },
    release: () => session.release(),
  };
}

export interface PhotoEvalOptions {
  /** Dataset folder (CycleGAN layout). Default data/photo2anime. */
  dataDir?: string;
  /** Where the contact sheet PNG goes. Default <modelDir>/contact-sheet.png. */
  contactSheet?: string;
  swd?: SwdOptions;
}

export interface PhotoEvalReport {
  model: string;
  photos: number;
  animeImages: number;
  swd: { photos: number; translated: number; reinhard: number };
  /** SWD(x, anime) / SWD(photos, anime): lower is closer to the anime style. */
  swdRatio: { translated: number; reinhard: number };
  /** Mean SSIM of the grayscale input against the grayscale output. */
  ssim: { translated: number; reinhard: number };
  targets: { swdRatioBelowReinhard: boolean; ssimAtLeast: number; ssimMet: boolean };
  contactSheet: string;
  reinhardSpace: 'CIE L*a*b* (D65)';
}

const SSIM_TARGET = 0.6;
const TILE_WIDTH = 320;

async function tile(image: RgbImage, height: number): Promise<RawImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(TILE_WIDTH, height, { fit: 'contain', background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** Rows of input | model output | Reinhard baseline, one row per held-out photo. */
async function writeContactSheet(file: string, rows: [RgbImage, RgbImage, RgbImage][]): Promise<void> {
  const first = rows[0]![0];
  const height = Math.round((TILE_WIDTH * first.height) / first.width);
  const tiles: RawImage[] = [];
  for (const row of rows) for (const image of row) tiles.push(await tile(image, height));
  const grid = composeGrid(tiles, { columns: 3, rows: rows.length });
  await mkdir(dirname(file), { recursive: true });
  await sharp(grid.data, { raw: { width: grid.width, height: grid.height, channels: 3 } }).png().toFile(file);
}

/**
 * Translates the held-out photos (testA) with the model folder through onnxruntime, and scores
 * style against the whole anime set (trainB + testB: with a dozen anime images, the style target
 * is the domain; the held-out part that matters is the photos, which training never saw).
 */
export async function runPhotoEval(modelDir: string, options: PhotoEvalOptions = {}): Promise<PhotoEvalReport> {
  const dataDir = options.dataDir ?? 'data/photo2anime';
  const [photos, trainAnime, testAnime] = await Promise.all([
    readImageFolder(join(dataDir, 'testA')),
    readImageFolder(join(dataDir, 'trainB')),
    readImageFolder(join(dataDir, 'testB')),
  ]).catch((error: Error) => {
    throw new Error(`${error.message}\nbuild the dataset first: npm run data -- photo2anime`);
  });
  const anime = [...trainAnime, ...testAnime];
  const translator = await loadTranslator(modelDir);
  const translated: RgbImage[] = [];
  try {
    for (const photo of photos) translated.push(await translator.translate(photo));
  } finally {
    await translator.release();
  }
  const animeStats = labStats(anime);
  const reinhard = photos.map((photo) => reinhardTransfer(photo, animeStats));

  const animePlanar = anime.map(toPlanar);
  const swdTo = (set: RgbImage[]) => slicedWasserstein(set.map(toPlanar), animePlanar, options.swd).mean;
  const swd = { photos: swdTo(photos), translated: swdTo(translated), reinhard: swdTo(reinhard) };
  const meanSsim = (outputs: RgbImage[]) =>
    outputs.reduce((sum, out, i) => sum + ssim(toGray(photos[i]!), toGray(out), out.width, out.height), 0) / outputs.length;
  const ssimScores = { translated: meanSsim(translated), reinhard: meanSsim(reinhard) };
  const swdRatio = { translated: swd.translated / swd.photos, reinhard: swd.reinhard / swd.photos };

  const contactSheet = options.contactSheet ?? join(modelDir, 'contact-sheet.png');
  await writeContactSheet(contactSheet, photos.map((p, i) => [p, translated[i]!, reinhard[i]!]));
  return {
    model: modelDir,
    photos: photos.length,
    animeImages: anime.length,
    swd,
    swdRatio,
    ssim: ssimScores,
    targets: { swdRatioBelowReinhard: swdRatio.translated < swdRatio.reinhard, ssimAtLeast: SSIM_TARGET, ssimMet: ssimScores.translated >= SSIM_TARGET },
    contactSheet,
    reinhardSpace: 'CIE L*a*b* (D65)',
  };
}

/** The report as the lines `npm run eval` prints. */
export function formatPhotoEval(report: PhotoEvalReport): string {
  const f = (v: number) => v.toFixed(3);
  return [
    `photo2anime eval: ${report.photos} held-out photos vs ${report.animeImages} anime images (model ${report.model})`,
    `style  SWD×1e3 to anime: photos ${f(report.swd.photos)}, translated ${f(report.swd.translated)}, Reinhard (${report.reinhardSpace}) ${f(report.swd.reinhard)}`,
    `style  ratio SWD(x, anime)/SWD(photos, anime): translated ${f(report.swdRatio.translated)} vs Reinhard ${f(report.swdRatio.reinhard)} → ${report.targets.swdRatioBelowReinhard ? 'below the baseline (target met)' : 'NOT below the baseline (target missed)'}`,
    `content mean SSIM(gray input, gray output): translated ${f(report.ssim.translated)} (target ≥ ${report.targets.ssimAtLeast}: ${report.targets.ssimMet ? 'met' : 'MISSED'}), Reinhard ${f(report.ssim.reinhard)}`,
    `contact sheet (input | translated | Reinhard): ${report.contactSheet}`,
  ].join('\n');
}
