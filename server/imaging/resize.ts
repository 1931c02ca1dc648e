/**
 * Scaling pixels for models that take one fixed size: the image is fitted inside that size (aspect
 * kept) on the way in, and the model's output is scaled back to the image's size on the way out.
 * sharp does the resampling (Lanczos-3) on its thread pool, off the event loop.
 */
import sharp from 'sharp';
import type { HwcImage } from './tensor.ts';

/** The largest size with the image's aspect that fits inside `box`, at least 1 px a side. */
export function fitInside(width: number, height: number, box: { width: number; height: number }): { width: number; height: number } {
  const scale = Math.min(box.width / width, box.height / height);
  return {
    width: Math.min(box.width, Math.max(1, Math.round(width * scale))),
    height: Math.min(box.height, Math.max(1, Math.round(height * scale))),
  };
}

/** Resamples to exactly width × height; the same image when it already has that size. */
export async function resizeTo(image: HwcImage, width: number, height: number): Promise<HwcImage> {
  if (image.width === width && image.height === height) return image;
  const channels = image.channels as 1 | 2 | 3 | 4;
  const input = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const data = await sharp(input, { raw: { width: image.width, height: image.height, channels } })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { width, height, channels: image.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
