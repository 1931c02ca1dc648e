/**
 * The photo eval's second baseline: a hand-made cartoon filter, built from what sharp offers. Two
 * 5×5 median filters smooth texture while keeping edges (a median does not blur a step), then the
 * colours are quantised to a small palette without dithering, which leaves flat regions. A
 * learned translator has to beat this to be worth its weights.
 */
import sharp from 'sharp';
import type { RgbImage } from '../data/image-folder.ts';

export interface CartoonFilterOptions {
  /** Median window side (odd). */
  median?: number;
  /** Palette size after quantisation (libimagequant rounds it up to 2, 4, 16 or 256 entries). */
  colours?: number;
}

export async function cartoonFilter(image: RgbImage, { median = 5, colours = 16 }: CartoonFilterOptions = {}): Promise<RgbImage> {
  const raw = { width: image.width, height: image.height, channels: 3 as const };
  const smoothed = await sharp(image.data, { raw }).median(median).raw().toBuffer();
  const quantised = await sharp(smoothed, { raw }).median(median).png({ palette: true, colours, dither: 0, effort: 10 }).toBuffer();
  const { data, info } = await sharp(quantised).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { name: image.name, width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
