/** Generated images → pictures: uint8 images (imaging/rows.ts) encoded as png, jpeg or webp. */
import sharp from 'sharp';
import { upscaleNearest, type RawImage } from '../imaging/grid.ts';
import { encodePng } from '../imaging/png.ts';
import type { GeneratedImage } from './generator.ts';
import type { ImageFormat } from './request.ts';

export const MIME_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

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

/**
 * One generated image as a picture, upscaled by `scale`: the worker's PNG when it made one (it was
 * asked for at this same scale), else encoded here.
 */
export async function encodeGenerated(generated: GeneratedImage, format: ImageFormat, scale: number): Promise<Buffer> {
  return generated.png ?? encodeRaw(upscaleNearest(generated.image, scale), format);
}
