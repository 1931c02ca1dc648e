/**
 * Image bytes → 8-bit sRGB pixels (HWC, 3 channels) plus a separate alpha plane. The pixel count
 * is checked from the header, so a decompression bomb is refused before any pixel is decoded; then
 * EXIF orientation is applied, the image is scaled down to fit `maxSide`, and every colour model
 * (grey, palette, CMYK, 16-bit) lands as plain RGB. Plain JPEGs skip sharp for libjpeg-turbo
 * (see jpeg.ts): same pixels up to its fast DCT, in less than half the time.
 */
import sharp, { type Metadata } from 'sharp';
import { UnprocessableImageError, UnsupportedImageError } from '../errors.ts';
import { decodePlainJpeg, plainJpeg, readJpegHeader, type Codec } from './jpeg.ts';

/**
 * Accepted input formats by their leading bytes. Sniffing the signature ourselves tells "not an
 * image / unsupported" (415) apart from "a JPEG whose header is cut off" (422), and keeps
 * everything else sharp could read (SVG, PDF, raw pixel dumps) out.
 */
const SIGNATURES: Array<{ format: string; matches: (b: Buffer) => boolean }> = [
  { format: 'jpeg', matches: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { format: 'png', matches: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { format: 'gif', matches: (b) => b.subarray(0, 4).toString('latin1') === 'GIF8' },
  { format: 'webp', matches: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { format: 'tiff', matches: (b) => ['II*\0', 'MM\0*'].includes(b.subarray(0, 4).toString('latin1')) },
  // ISO-BMFF (AVIF, HEIF): a 'ftyp' box first
  { format: 'heif', matches: (b) => b.subarray(4, 8).toString('latin1') === 'ftyp' },
];

/** The format named by the leading bytes, or null. */
export function sniffFormat(bytes: Buffer): string | null {
  return SIGNATURES.find((s) => s.matches(bytes))?.format ?? null;
}

export interface RgbImage {
  width: number;
  height: number;
  /** width × height × 3 bytes, row-major RGB. */
  rgb: Buffer;
  /** width × height bytes, or null when the input has no alpha channel. */
  alpha: Buffer | null;
  /** Which library decoded it. */
  decoder: Codec;
}

export interface DecodeLimits {
  /** Largest accepted width × height, checked from the header. */
  maxPixels: number;
  /** The longer side is scaled down to this (aspect kept); smaller images are left alone. */
  maxSide?: number;
}

/**
 * Decodes, or throws UnsupportedImageError (not an image / unsupported format: 415) or
 * UnprocessableImageError (corrupt, truncated, too many pixels: 422). `allocate`, when given, supplies the buffer for the RGB pixels of a plain JPEG (see
 * BufferShelf); sharp allocates its own.
 */
export async function decodeImage(bytes: Buffer, limits: DecodeLimits, allocate?: (bytes: number) => ArrayBuffer): Promise<RgbImage> {
  const format = sniffFormat(bytes);
  if (format === null) {
    throw new UnsupportedImageError('the body is not an image in a supported format (jpeg, png, webp, gif, tiff, avif, heif)');
  }
  const header = format === 'jpeg' ? readJpegHeader(bytes) : null;
  if (header && plainJpeg(header, limits)) {
    // A JPEG that libjpeg-turbo refuses goes on to sharp, which then says what is wrong with it.
    const decoded = await decodePlainJpeg(bytes, header, allocate);
    if (decoded) return { ...decoded, alpha: null, decoder: 'libjpeg-turbo' };
  }
  // One sharp call: it checks the pixel limit from the header before decoding anything, and
  // sizes the scale-down after EXIF orientation. Why a call failed is worked out only then.
  try {
    let pipeline = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'warning', pages: 1 }).rotate();
    if (limits.maxSide !== undefined)
      pipeline = pipeline.resize(limits.maxSide, limits.maxSide, { fit: 'inside', withoutEnlargement: true });
    const { data, info } = await pipeline.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { ...splitChannels(data, info.width, info.height, info.channels), decoder: 'libvips' };
  } catch (err) {
    throw await decodeFailure(bytes, limits, err);
  }
}

/** Why a decode failed: a header that cannot be read, too many pixels, or bad image data. */
async function decodeFailure(bytes: Buffer, limits: DecodeLimits, err: unknown): Promise<UnprocessableImageError> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (headerErr) {
    return new UnprocessableImageError(`the image header cannot be read (corrupt or truncated?): ${firstLine(headerErr)}`);
  }
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  if (width < 1 || height < 1) return new UnprocessableImageError('the image header has no valid size');
  if (width * height > limits.maxPixels) {
    return new UnprocessableImageError(`the image has ${width}×${height} pixels, over the ${limits.maxPixels}-pixel limit`);
  }
  return new UnprocessableImageError(`the image could not be decoded (corrupt or truncated?): ${firstLine(err)}`);
}

/** 1–4 interleaved channels (grey, grey+alpha, RGB, RGBA) → RGB plus optional alpha. */
export function splitChannels(data: Buffer, width: number, height: number, channels: number): Omit<RgbImage, 'decoder'> {
  const pixels = width * height;
  if (channels === 3) return { width, height, rgb: data, alpha: null };
  const rgb = Buffer.allocUnsafe(pixels * 3);
  const hasAlpha = channels === 2 || channels === 4;
  const alpha = hasAlpha ? Buffer.allocUnsafe(pixels) : null;
  const colourChannels = hasAlpha ? channels - 1 : channels;
  for (let p = 0; p < pixels; p++) {
    const src = p * channels;
    if (colourChannels === 1) {
      rgb[p * 3] = rgb[p * 3 + 1] = rgb[p * 3 + 2] = data[src]!;
    } else {
      rgb[p * 3] = data[src]!;
      rgb[p * 3 + 1] = data[src + 1]!;
      rgb[p * 3 + 2] = data[src + 2]!;
    }
    if (alpha) alpha[p] = data[src + colourChannels]!;
  }
  return { width, height, rgb, alpha };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
