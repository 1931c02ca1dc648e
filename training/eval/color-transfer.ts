/**
 * Reinhard et al. 2001 colour transfer in CIE L*a*b* (D65): each photo's per-channel mean and std
 * are matched to those of a target set. The photo eval's first baseline: because SWD normalises
 * each channel per set, a per-RGB-channel affine recolouring would score exactly 1; the Lab
 * transfer is not affine in RGB, so it moves the score a little. Beating it means changing
 * structure and texture too.
 */
import type { RgbImage } from '../data/image-folder.ts';

const srgbToLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const linearToSrgb = (v: number) => (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);
const WHITE = [0.95047, 1, 1.08883] as const;
const labF = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
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
