/**
 * Colourisation measures on 8-bit RGB images of one size:
 *
 * - PSNR against the original colours: 10·log10(255² / MSE) over all pixels and channels;
 * - chroma error: the mean over pixels of √(Δa*² + Δb*²), the CIELAB colour distance with the
 *   lightness difference left out (a colouriser keeps L*, so what is left is its colour);
 * - colourfulness (Hasler & Süsstrunk 2003): σ_rgyb + 0.3·μ_rgyb, with rg = R − G,
 *   yb = ½(R + G) − B, σ_rgyb = √(σ_rg² + σ_yb²), μ_rgyb = √(μ_rg² + μ_yb²), on 0–255 values.
 *   0 for a grey image; about 33 is "moderately", 59 "quite", 82 "highly" colourful.
 */
import type { RgbImage } from '../data/image-folder.ts';
import { rgbToLab } from './color-transfer.ts';

function checkSameSize(a: RgbImage, b: RgbImage): void {
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`${a.name} is ${a.width}×${a.height}, ${b.name} ${b.width}×${b.height}`);
}

/** Peak signal-to-noise ratio in dB (Infinity for identical images). */
export function psnr(a: RgbImage, b: RgbImage): number {
  checkSameSize(a, b);
  let squared = 0;
  for (let i = 0; i < a.data.length; i++) squared += (a.data[i]! - b.data[i]!) ** 2;
  const mse = squared / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Mean √(Δa*² + Δb*²) between two images, in CIELAB units. */
export function chromaError(a: RgbImage, b: RgbImage): number {
  checkSameSize(a, b);
  const [labA, labB] = [rgbToLab(a), rgbToLab(b)];
  let sum = 0;
  for (let i = 0; i < labA.length; i += 3) sum += Math.hypot(labA[i + 1]! - labB[i + 1]!, labA[i + 2]! - labB[i + 2]!);
  return sum / (labA.length / 3);
}

/** Hasler & Süsstrunk's colourfulness M. */
export function colourfulness(image: RgbImage): number {
  const pixels = image.width * image.height;
  let [sumRg, sumYb, sumRg2, sumYb2] = [0, 0, 0, 0];
  for (let p = 0; p < pixels; p++) {
    const [r, g, b] = [image.data[p * 3]!, image.data[p * 3 + 1]!, image.data[p * 3 + 2]!];
    const rg = r - g;
    const yb = 0.5 * (r + g) - b;
    sumRg += rg;
    sumYb += yb;
    sumRg2 += rg * rg;
    sumYb2 += yb * yb;
  }
  const [meanRg, meanYb] = [sumRg / pixels, sumYb / pixels];
  const variance = Math.max(0, sumRg2 / pixels - meanRg ** 2) + Math.max(0, sumYb2 / pixels - meanYb ** 2);
  return Math.sqrt(variance) + 0.3 * Math.hypot(meanRg, meanYb);
}
