/**
 * Mean SSIM (Wang et al. 2004; 11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, 'valid' region),
 * used on BT.601 luma to tell how much of a photo's structure a translation kept.
 */
import type { RgbImage } from '../data/image-folder.ts';

/** BT.601 luma in [0, 1]. */
export function toGray(image: RgbImage): Float32Array {
  const pixels = image.width * image.height;
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++)
    out[p] = (0.299 * image.data[p * 3]! + 0.587 * image.data[p * 3 + 1]! + 0.114 * image.data[p * 3 + 2]!) / 255;
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
  const [mx, my, sxx, syy, sxy] = [x, y, xx, yy, xy].map((v) => filterValid(v, width, height, kernel)) as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
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
