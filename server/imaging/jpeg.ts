/**
 * Plain JPEGs straight through libjpeg-turbo (TurboJPEG, via @julusian/jpeg-turbo), beside sharp.
 *
 * Why: libvips hands a decoded image between its threads in 16-line strips. For a 512² JPEG that
 * is about 36 thread wake-ups, ≈ 2.5 ms of sharp's ≈ 4.3 ms decode on a 2-core VM; TurboJPEG
 * decodes it in one call (≈ 1.9 ms; small images on the calling thread, see
 * SYNC_DECODE_MAX_PIXELS) and encodes a 512² answer in ≈ 1.6 ms against sharp's ≈ 3 ms.
 *
 * The cost: the binding always uses libjpeg-turbo's fast integer DCT. libjpeg-turbo's cjpeg
 * documentation expects little or no perceptible difference from the accurate one at quality 90
 * and below. Measured on photos here, a fast decode of a quality-90 JPEG is 0.1–0.25 dB further
 * from the original than an accurate one (1.3 dB at quality 98), and a fast encode at 90 loses
 * ≤ 0.06 dB. So only JPEGs whose quantisation tables say quality ≤ 90, and JPEG answers at
 * quality ≤ 90, take this path. Anything else the header shows (EXIF rotation, an ICC profile to
 * convert, CMYK, 12-bit or arithmetic coding, more than maxSide, data after the end marker) goes
 * to sharp, and so does a file TurboJPEG refuses: sharp then says why, as a 422.
 *
 * The binding is a native addon with prebuilt binaries; where it cannot load, every image simply
 * goes through sharp.
 */
import type * as TurboJpeg from '@julusian/jpeg-turbo';
import { BufferShelf } from './buffer-shelf.ts';
import { isSrgbProfile } from './icc.ts';

/** Highest JPEG quality (IJG scale) for which the fast DCT is used, reading or writing. */
export const FAST_DCT_MAX_QUALITY = 90;

/** The codec names that Server-Timing shows for decode and encode. */
export type Codec = 'libjpeg-turbo' | 'libvips';

/** What the header of a JPEG says, read from its markers up to the first scan. */
export interface JpegHeader {
  width: number;
  height: number;
  /** 1 (grey), 3 (YCbCr or RGB) or 4 (CMYK / YCCK). */
  components: number;
  /** Bits per sample: 8, or 12 in extended JPEGs. */
  precision: number;
  /** The start-of-frame marker: 0xc0 baseline, 0xc1 extended, 0xc2 progressive (Huffman); others are lossless or arithmetic. */
  frame: number;
  /** EXIF orientation: 1 (upright) when there is none, 0 when an EXIF block cannot be read. */
  orientation: number;
  /** The embedded ICC profile: none, plain sRGB (see icc.ts), or another one that sharp must apply. */
  colourProfile: 'none' | 'srgb' | 'other';
  /** IJG quality estimated from the luminance quantisation table, or null when there is none. */
  quality: number | null;
  /** The file ends right after its end-of-image marker (not truncated, nothing appended). */
  endsAtEoi: boolean;
}

/** The luminance quantisation table of the JPEG standard (Annex K.1), which IJG quality scales. */
const ANNEX_K_LUMINANCE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22,
  37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const ANNEX_K_SUM = ANNEX_K_LUMINANCE.reduce((sum, value) => sum + value, 0);

/**
 * IJG quality from a luminance table: IJG scales Annex K by 5000/q % below 50 and by (200 − 2q) %
 * from 50 up. The ratio of the sums is independent of zig-zag order and close to that scale.
 */
function estimateQuality(luminanceTableSum: number): number {
  const scale = (100 * luminanceTableSum) / ANNEX_K_SUM;
  return scale <= 100 ? (200 - scale) / 2 : 5000 / scale;
}

const FRAME_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Reads the header, or returns null where the marker structure is not what a JPEG has. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let frame: Pick<JpegHeader, 'frame' | 'precision' | 'width' | 'height' | 'components'> | null = null;
  let orientation = 1;
  const iccChunks: IccChunk[] = [];
  let quality: number | null = null;
  let at = 2;
  for (;;) {
    if (bytes[at] !== 0xff) return null;
    while (bytes[at + 1] === 0xff) at += 1; // fill bytes
    if (at + 4 > bytes.length) return null;
    const marker = bytes[at + 1]!;
    const length = view.getUint16(at + 2);
    const segment = bytes.subarray(at + 4, at + 2 + length);
    if (length < 2 || at + 2 + length > bytes.length) return null;
    if (marker === 0xda) break; // start of scan: the header is over
    if (FRAME_MARKERS.has(marker)) {
      if (segment.length < 6) return null;
      frame = {
        frame: marker,
        precision: segment[0]!,
        height: view.getUint16(at + 5),
        width: view.getUint16(at + 7),
        components: segment[5]!,
      };
    } else if (marker === 0xdb) {
      const sum = luminanceTableSum(segment);
      if (sum !== null) quality = estimateQuality(sum);
    } else if (marker === 0xe1 && latin1(segment, 6) === 'Exif\0\0') {
      orientation = exifOrientation(segment.subarray(6)) ?? 0;
    } else if (marker === 0xe2 && latin1(segment, 12) === 'ICC_PROFILE\0') {
      iccChunks.push({ sequence: segment[12] ?? 0, total: segment[13] ?? 0, data: segment.subarray(14) });
    }
    at += 2 + length;
  }
  if (!frame) return null;
  const endsAtEoi = bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
  return { ...frame, orientation, colourProfile: profileKind(iccChunks), quality, endsAtEoi };
}

/** One APP2 segment of an ICC profile, which may span several: chunk `sequence` (from 1) of `total`. */
interface IccChunk {
  sequence: number;
  total: number;
  data: Uint8Array;
}

/** What the ICC chunks make: no profile, sRGB, or another (or one that is incomplete or malformed). */
function profileKind(chunks: IccChunk[]): JpegHeader['colourProfile'] {
  if (chunks.length === 0) return 'none';
  // Complete: numbered 1 to total, each once, in any order.
  const ordered = [...chunks].sort((a, b) => a.sequence - b.sequence);
  if (!ordered.every((chunk, i) => chunk.sequence === i + 1 && chunk.total === ordered.length)) return 'other';
  return isSrgbProfile(Buffer.concat(ordered.map((chunk) => chunk.data))) ? 'srgb' : 'other';
}

/** The sum of quantisation table 0's 64 values in a DQT segment (which may hold several tables). */
function luminanceTableSum(segment: Uint8Array): number | null {
  let at = 0;
  while (at < segment.length) {
    const wide = segment[at]! >> 4 === 1;
    const id = segment[at]! & 0x0f;
    const size = wide ? 128 : 64;
    if (at + 1 + size > segment.length) return null;
    if (id === 0) {
      let sum = 0;
      for (let i = 0; i < 64; i++) sum += wide ? (segment[at + 1 + 2 * i]! << 8) | segment[at + 2 + 2 * i]! : segment[at + 1 + i]!;
      return sum;
    }
    at += 1 + size;
  }
  return null;
}

/** Orientation (tag 0x0112) from IFD0 of an EXIF TIFF block: 1 when the tag is absent, null when the block is malformed. */
function exifOrientation(tiff: Uint8Array): number | null {
  if (tiff.length < 8) return null;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return null;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return null;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > tiff.length) return null;
    if (view.getUint16(entry, little) === 0x0112) return view.getUint16(entry + 8, little);
  }
  return 1;
}

/** The first `count` bytes as text (fewer when the segment is shorter). */
function latin1(bytes: Uint8Array, count: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(count, bytes.length)).toString('latin1');
}

/**
 * Whether TurboJPEG's plain decode gives what sharp's pipeline would (up to the DCT): upright,
 * no colour profile to apply, grey or YCbCr/RGB, 8-bit Huffman, within the limits, complete, and
 * at a quality where the fast DCT costs nothing visible.
 */
export function plainJpeg(header: JpegHeader | null, limits: { maxPixels: number; maxSide?: number }): boolean {
  if (!header) return false;
  return (
    [0xc0, 0xc1, 0xc2].includes(header.frame) &&
    header.precision === 8 &&
    (header.components === 1 || header.components === 3) &&
    header.orientation === 1 &&
    // An sRGB profile changes nothing in sharp's conversion to sRGB; in grey JPEGs it is too odd to trust.
    (header.colourProfile === 'none' || (header.colourProfile === 'srgb' && header.components === 3)) &&
    header.quality !== null &&
    Math.round(header.quality) <= FAST_DCT_MAX_QUALITY &&
    header.width >= 1 &&
    header.height >= 1 &&
    header.width * header.height <= limits.maxPixels &&
    Math.max(header.width, header.height) <= (limits.maxSide ?? Infinity) &&
    header.endsAtEoi
  );
}

/** The binding, or null where its native part cannot load on this platform. */
const turbo: typeof TurboJpeg | null = await import('@julusian/jpeg-turbo').then(
  (module) => (module.default ?? module) as typeof TurboJpeg,
  () => null,
);

/** Whether the libjpeg-turbo path is available here. */
export const turboAvailable = turbo !== null;

/**
 * Plain JPEGs up to this many pixels are decoded on the calling thread (≈ 2.5 ms at most on a
 * 2.1 GHz core): handing the job to a libuv thread and back costs ≈ 0.2 ms, and on a busy 2-core
 * VM one hand-over in four waited 5–25 ms for the other thread to be scheduled (overhead per 512²
 * request: mean 13.0–13.9 ms this way, 14.3–14.9 ms through the thread pool, in A/B runs of 100
 * requests). Larger images go to the thread pool, so the event loop is never held for long.
 */
export const SYNC_DECODE_MAX_PIXELS = 400_000;

/**
 * RGB pixels of a plain JPEG (see plainJpeg), or null when TurboJPEG refuses it (corrupt data, even
 * a warning). With `allocate`, the pixels land in the buffer it gives (width × height × 3 bytes).
 */
export async function decodePlainJpeg(
  bytes: Buffer,
  header: JpegHeader,
  allocate?: (bytes: number) => ArrayBuffer,
): Promise<{ width: number; height: number; rgb: Buffer } | null> {
  if (!turbo) return null;
  try {
    const options = { format: turbo.FORMAT_RGB };
    const size = header.width * header.height * 3;
    const into = allocate ? Buffer.from(allocate(size), 0, size) : undefined;
    const decoded =
      header.width * header.height <= SYNC_DECODE_MAX_PIXELS
        ? into
          ? turbo.decompressSync(bytes, into, options)
          : turbo.decompressSync(bytes, options)
        : await (into ? turbo.decompress(bytes, into, options) : turbo.decompress(bytes, options));
    return { width: decoded.width, height: decoded.height, rgb: decoded.data };
  } catch {
    return null;
  }
}

/**
 * TurboJPEG writes into a buffer of the worst-case JPEG size (≈ 1.5 bytes a pixel at 4:2:0), so
 * the answer is copied out of a shelved one rather than kept as a slice that would pin it.
 */
const encoderBuffers = new BufferShelf(4, 16 * 2 ** 20);

/**
 * JPEG bytes for RGB pixels, 4:2:0 like sharp's default; null (sharp's turn) above
 * FAST_DCT_MAX_QUALITY, without the binding, or if TurboJPEG fails.
 */
export async function encodeFastJpeg(rgb: Buffer, width: number, height: number, quality: number): Promise<Buffer | null> {
  if (!turbo || quality > FAST_DCT_MAX_QUALITY) return null;
  const options = { format: turbo.FORMAT_RGB, width, height, quality, subsampling: turbo.SAMP_420 };
  const scratch = encoderBuffers.take(turbo.bufferSize(options));
  try {
    return Buffer.from(await turbo.compress(rgb, Buffer.from(scratch), options));
  } catch {
    return null;
  } finally {
    encoderBuffers.give(scratch);
  }
}
