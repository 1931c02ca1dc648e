/**
 * RGB bytes (plus optional alpha) → png, jpeg or webp. JPEG has no alpha, so it is dropped there;
 * png and webp keep it.
 */
import sharp from 'sharp';
import { encodeFastJpeg, type Codec } from './jpeg.ts';
import { encodePng, PHOTO_PNG } from './png.ts';

export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const CONTENT_TYPES: Record<OutputFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

export interface EncodeOptions {
  format: OutputFormat;
  /** 1–100; for png it maps to zlib level 0–9, not loss (png stays lossless). */
  quality?: number;
}

export interface RgbPixels {
  width: number;
  height: number;
  /** width × height × 3 bytes. */
  rgb: Uint8Array;
  /** width × height bytes, or null. */
  alpha?: Uint8Array | null;
}

/** Interleaves RGB and alpha into RGBA. */
export function joinAlpha(rgb: Uint8Array, alpha: Uint8Array): Buffer {
  const pixels = alpha.length;
  const rgba = Buffer.allocUnsafe(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    rgba[p * 4] = rgb[p * 3]!;
    rgba[p * 4 + 1] = rgb[p * 3 + 1]!;
    rgba[p * 4 + 2] = rgb[p * 3 + 2]!;
    rgba[p * 4 + 3] = alpha[p]!;
  }
  return rgba;
}

export interface EncodedImage {
  body: Buffer;
  contentType: string;
  /** Which library encoded it (png: our own filter and zlib, see png.ts). */
  encoder: Codec | 'zlib';
}

export async function encodeImage(pixels: RgbPixels, options: EncodeOptions): Promise<EncodedImage> {
  const keepAlpha = pixels.alpha != null && options.format !== 'jpeg';
  const raw = keepAlpha
    ? joinAlpha(pixels.rgb, pixels.alpha!)
    : Buffer.from(pixels.rgb.buffer, pixels.rgb.byteOffset, pixels.rgb.byteLength);
  const channels = keepAlpha ? 4 : 3;
  const viaSharp = () => sharp(raw, { raw: { width: pixels.width, height: pixels.height, channels } });
  const quality = options.quality;
  let body: Buffer;
  let encoder: EncodedImage['encoder'] = 'libvips';
  switch (options.format) {
    case 'png': {
      // Lossless either way; see png.ts for why the default is the average filter with run-only
      // matching. A quality asks for zlib's full matching at a level instead (100 → level 9,
      // smallest and slowest).
      const compression =
        quality === undefined ? PHOTO_PNG : { filter: 'average' as const, level: Math.round((quality / 100) * 9), runsOnly: false };
      body = await encodePng({ width: pixels.width, height: pixels.height, channels, data: raw }, compression);
      encoder = 'zlib';
      break;
    }
    case 'jpeg': {
      // libjpeg-turbo's fast DCT up to quality 90 (see jpeg.ts); above, sharp's accurate one.
      // Huffman optimisation would cost ~3 ms per 512² image for a few percent of size.
      const jpegQuality = quality ?? 90;
      const fast = await encodeFastJpeg(raw, pixels.width, pixels.height, jpegQuality);
      if (fast) encoder = 'libjpeg-turbo';
      body = fast ?? (await viaSharp().jpeg({ quality: jpegQuality, optimiseCoding: false }).toBuffer());
      break;
    }
    case 'webp':
      // Effort 2 of 0–6: a 512² answer in ≈ 23 ms instead of ≈ 56 ms at the default 4, 1.5 % larger.
      body = await viaSharp()
        .webp({ quality: quality ?? 90, effort: 2 })
        .toBuffer();
      break;
  }
  return { body, contentType: CONTENT_TYPES[options.format], encoder };
}
