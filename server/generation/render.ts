/**
 * Generator output → pictures: float rows in the manifest's range become uint8 images (kept at the
 * model's channel count, so digits stay single-channel), which are encoded as png, jpeg or webp.
 */
import sharp from 'sharp';
import type { Layout, PixelRange } from '../models/manifest.ts';
import type { RawImage } from '../imaging/grid.ts';
import { encodePng } from '../imaging/png.ts';
import type { OutputTensor } from '../inference/pool.ts';
import type { ImageFormat } from './request.ts';

export const MIME_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Splits a [N, C, H, W] or [N, H, W, C] output into N interleaved uint8 images. A value v maps to
 * round((v − low) / (high − low) × 255), clamped to 0..255 (NaN → 0).
 */
export function outputToImages(output: OutputTensor, layout: Layout, range: PixelRange): RawImage[] {
  if (output.dims.length !== 4) throw new Error(`expected a 4-D image output, got dims [${output.dims.join(', ')}]`);
  const [count, d1, d2, d3] = output.dims as [number, number, number, number];
  const [channels, height, width] = layout === 'NCHW' ? [d1, d2, d3] : [d3, d1, d2];
  if (channels !== 1 && channels !== 3) throw new Error(`expected 1 or 3 output channels, got ${channels}`);
  const [low, high] = range;
  const pixels = width * height;
  const rowSize = pixels * channels;
  const images: RawImage[] = [];
  for (let n = 0; n < count; n += 1) {
    const row = output.data.subarray(n * rowSize, (n + 1) * rowSize);
    const data = new Uint8Array(rowSize);
    for (let p = 0; p < pixels; p += 1) {
      for (let c = 0; c < channels; c += 1) {
        const value = row[layout === 'NCHW' ? c * pixels + p : p * channels + c]!;
        const byte = Math.round(((value - low) / (high - low)) * 255);
        data[p * channels + c] = byte > 255 ? 255 : byte > 0 ? byte : 0;
      }
    }
    images.push({ data, width, height, channels });
  }
  return images;
}

/**
 * Encodes an image; one-channel images stay greyscale (an 8-bit grey PNG or JPEG; WebP has no grey
 * mode and stores it as RGB). Encoder settings are fixed, so equal pixels give equal bytes. PNG,
 * the default and the hot path, uses the small in-process encoder; JPEG and WebP use sharp.
 */
export async function encodeRaw(image: RawImage, format: ImageFormat): Promise<Buffer> {
  if (format === 'png') return encodePng(image);
  const raw = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  let pipeline = sharp(raw, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } });
  if (image.channels === 1) pipeline = pipeline.toColourspace('b-w');
  return format === 'jpeg' ? pipeline.jpeg({ quality: 90 }).toBuffer() : pipeline.webp({ quality: 90 }).toBuffer();
}
