/**
 * Generator output → uint8 images: each row of a [N, C, H, W] or [N, H, W, C] float output in the
 * manifest's range becomes an interleaved image, kept at the model's channel count (digits stay
 * single-channel). Free of sharp, so inference workers can use it before encoding rows themselves.
 */
import type { Layout, PixelRange } from '../models/manifest.ts';
import type { OutputTensor } from '../inference/contract.ts';
import type { RawImage } from './grid.ts';

/** Row `n` of the output as uint8: value v → round((v − low) / (high − low) × 255), clamped to 0..255 (NaN → 0). */
export function outputRowToImage(output: OutputTensor, n: number, layout: Layout, range: PixelRange): RawImage {
  if (output.dims.length !== 4) throw new Error(`expected a 4-D image output, got dims [${output.dims.join(', ')}]`);
  const [count, d1, d2, d3] = output.dims as [number, number, number, number];
  const [channels, height, width] = layout === 'NCHW' ? [d1, d2, d3] : [d3, d1, d2];
  if (channels !== 1 && channels !== 3) throw new Error(`expected 1 or 3 output channels, got ${channels}`);
  if (!Number.isInteger(n) || n < 0 || n >= count) throw new RangeError(`row ${n} is outside the output's ${count} rows`);
  const [low, high] = range;
  const pixels = width * height;
  const rowSize = pixels * channels;
  const row = output.data.subarray(n * rowSize, (n + 1) * rowSize);
  const data = new Uint8Array(rowSize);
  for (let p = 0; p < pixels; p += 1) {
    for (let c = 0; c < channels; c += 1) {
      const value = row[layout === 'NCHW' ? c * pixels + p : p * channels + c]!;
      const byte = Math.round(((value - low) / (high - low)) * 255);
      // biome-ignore lint/complexity/useMathMinMax: a per-pixel loop; the comparisons avoid two calls per value
      data[p * channels + c] = byte > 255 ? 255 : byte > 0 ? byte : 0;
    }
  }
  return { data, width, height, channels };
}
