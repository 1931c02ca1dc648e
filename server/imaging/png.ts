/**
 * A PNG encoder for 8-bit images of 1–4 channels (grey, grey + alpha, RGB, RGBA), with two
 * settings:
 * - generated digits (28×28, the default): rows unfiltered, zlib level 6. For images this small,
 *   sharp's per-call cost (pipeline set-up and a thread-pool hop) is many times the compression
 *   itself, and the output is byte-for-byte deterministic.
 * - photos (PHOTO_PNG, translate answers): rows under the "average" filter, computed by a SIMD
 *   kernel (≈ 0.6 ms at 512², on the calling thread), then zlib level 1 matching runs only (on the
 *   thread pool). A 512² photo takes 12–15 ms here for ≈ 524 KiB, where sharp (libpng, zlib-ng
 *   level 2, adaptive filters) took 23–28 ms for ≈ 517 KiB, and zlib's full matching at levels
 *   1–3 took 18–28 ms whatever the filter. Flat-coloured art: 7.7 ms for 204 KiB against sharp's
 *   17.5 ms for 197 KiB.
 * Scanlines over 64 KiB are deflated on the thread pool, so the event loop never stalls on them.
 */
import { promisify } from 'node:util';
import { constants, crc32, deflate, deflateSync } from 'node:zlib';
import { BufferShelf } from './buffer-shelf.ts';
import type { RawImage } from './grid.ts';
import { PixelKernels } from './pixel-kernels.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG colour types: 0 = greyscale, 4 = greyscale + alpha, 2 = truecolour (RGB), 6 = RGBA. */
const COLOUR_TYPE: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
/** Up to this many bytes of scanlines, deflate synchronously (tens of microseconds). */
const SYNC_DEFLATE_LIMIT = 64 * 1024;
const deflateAsync = promisify(deflate);

export interface PngCompression {
  /** Row filter: 'none', or 'average' (each byte minus the mean of its left and upper neighbours). */
  filter: 'none' | 'average';
  /** zlib level, 0 (stored) to 9 (smallest, slowest). */
  level: number;
  /** zlib matches runs of one byte only: about twice as fast on filtered photos, 1–4 % larger. */
  runsOnly: boolean;
}

export const GENERATED_PNG: PngCompression = { filter: 'none', level: 6, runsOnly: false };
export const PHOTO_PNG: PngCompression = { filter: 'average', level: 1, runsOnly: true };

/** The kernels of this thread, compiled at the first filtered image or by preparePhotoPng. */
let kernels: Promise<PixelKernels> | undefined;

function filterKernels(): Promise<PixelKernels> {
  return (kernels ??= PixelKernels.load());
}

/**
 * Compiles this thread's filter kernel now (≈ 0.1 s that blocks the thread), so that the first
 * photo answer does not pay it. The server calls it before it listens.
 */
export async function preparePhotoPng(): Promise<void> {
  await filterKernels();
}

/** A chunk as its three parts (length and type, data, CRC), so the file is copied together once. */
function chunk(type: string, data: Buffer): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return [head, data, crc];
}

/** Filtered scanlines wait here for zlib on the thread pool, in buffers reused from image to image (see BufferShelf). */
const scanlineBuffers = new BufferShelf(4, 16 * 2 ** 20);

/** Rows with a leading filter byte of 0 (none). */
function unfilteredScanlines(image: RawImage): Buffer {
  const rowBytes = image.width * image.channels;
  const scanlines = Buffer.alloc((rowBytes + 1) * image.height);
  for (let y = 0; y < image.height; y += 1) {
    scanlines.set(image.data.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  }
  return scanlines;
}

/** Encodes an 8-bit image of 1–4 channels as PNG. */
export async function encodePng(image: RawImage, compression: PngCompression = GENERATED_PNG): Promise<Buffer> {
  const colourType = COLOUR_TYPE[image.channels];
  if (colourType === undefined) throw new RangeError(`PNG encoder takes 1 to 4 channels, got ${image.channels}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header.set([8, colourType, 0, 0, 0], 8); // bit depth 8, colour type, deflate, filter method 0, no interlace
  const shelved = compression.filter === 'average' ? scanlineBuffers.take((image.width * image.channels + 1) * image.height) : undefined;
  try {
    const scanlines = shelved ? (await filterKernels()).pngAverageScanlines(image, shelved) : unfilteredScanlines(image);
    const options = { level: compression.level, strategy: compression.runsOnly ? constants.Z_RLE : constants.Z_DEFAULT_STRATEGY };
    const compressed = scanlines.length <= SYNC_DEFLATE_LIMIT ? deflateSync(scanlines, options) : await deflateAsync(scanlines, options);
    return Buffer.concat([SIGNATURE, ...chunk('IHDR', header), ...chunk('IDAT', compressed), ...chunk('IEND', Buffer.alloc(0))]);
  } finally {
    if (shelved) scanlineBuffers.give(shelved);
  }
}
