/**
 * A minimal PNG encoder for small 8-bit grey or RGB images (generated digits are 28×28). For images
 * this small, sharp's per-call cost (pipeline set-up and a thread-pool hop) is many times the
 * compression itself and dominates a generate request; deflating in place is cheaper, and the
 * output is byte-for-byte deterministic. Rows use PNG filter 0 (none), zlib level 6. Large images
 * (big grids at high scale) are deflated on the thread pool so the event loop never stalls.
 */
import { promisify } from 'node:util';
import { crc32, deflate, deflateSync } from 'node:zlib';
import type { RawImage } from './grid.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG colour types: 0 = greyscale, 2 = truecolour (RGB). */
const COLOUR_TYPE: Record<number, number> = { 1: 0, 3: 2 };
/** Up to this many bytes of scanlines, deflate synchronously (tens of microseconds). */
const SYNC_DEFLATE_LIMIT = 64 * 1024;
const deflateAsync = promisify(deflate);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes a 1-channel (grey) or 3-channel (RGB) image as an 8-bit PNG. */
export async function encodePng(image: RawImage): Promise<Buffer> {
  const colourType = COLOUR_TYPE[image.channels];
  if (colourType === undefined) throw new RangeError(`PNG encoder takes 1 or 3 channels, got ${image.channels}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header.set([8, colourType, 0, 0, 0], 8); // bit depth 8, colour type, deflate, filter method 0, no interlace
  const rowBytes = image.width * image.channels;
  const scanlines = Buffer.alloc((rowBytes + 1) * image.height);
  for (let y = 0; y < image.height; y += 1) {
    // Byte 0 of each scanline is its filter type, 0 (none), already zero.
    scanlines.set(image.data.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  }
  const compressed = scanlines.length <= SYNC_DEFLATE_LIMIT ? deflateSync(scanlines, { level: 6 }) : await deflateAsync(scanlines, { level: 6 });
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', compressed), chunk('IEND', Buffer.alloc(0))]);
}
