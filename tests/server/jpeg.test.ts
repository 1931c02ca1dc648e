import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { clientErrorOf } from '../../server/http/problem.ts';
import { decodeImage } from '../../server/imaging/decode.ts';
import { encodeImage } from '../../server/imaging/encode.ts';
import {
  decodePlainJpeg,
  FAST_DCT_MAX_QUALITY,
  plainJpeg,
  readJpegHeader,
  SYNC_DECODE_MAX_PIXELS,
  turboAvailable,
} from '../../server/imaging/jpeg.ts';
import { mulberry32, photoLikePixels } from '../helpers/image-models.ts';

const LIMITS = { maxPixels: 40_000_000 };

/** Photo-like RGB pixels, width × height × 3 (seeded, so every run sees the same image). */
const photoLike = (width: number, height: number) => photoLikePixels(width, height, mulberry32(3));

const jpegOf = (pixels: Buffer, width: number, height: number) => sharp(pixels, { raw: { width, height, channels: 3 } });

/** `jpeg` with an EXIF block (orientation only, in either byte order) inserted after its start marker, as a camera writes it. */
function withExifOrientation(jpeg: Buffer, orientation: number, byteOrder: 'II' | 'MM' = 'II'): Buffer {
  const tiff = Buffer.alloc(26);
  const little = byteOrder === 'II';
  const u16 = (value: number, at: number) => (little ? tiff.writeUInt16LE(value, at) : tiff.writeUInt16BE(value, at));
  const u32 = (value: number, at: number) => (little ? tiff.writeUInt32LE(value, at) : tiff.writeUInt32BE(value, at));
  tiff.write(byteOrder, 0, 'latin1');
  u16(42, 2);
  u32(8, 4); // IFD0 right after the header
  u16(1, 8); // one entry
  u16(0x0112, 10); // Orientation
  u16(3, 12); // SHORT
  u32(1, 14);
  u16(orientation, 18);
  u32(0, 22); // no next IFD
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), app1, body, jpeg.subarray(2)]);
}

/** Peak signal-to-noise ratio of two equal-length 8-bit buffers, in dB. */
function psnr(a: Uint8Array, b: Uint8Array): number {
  let squares = 0;
  for (let i = 0; i < a.length; i++) squares += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (squares / a.length));
}

/** `jpeg` with its one ICC_PROFILE segment split into APP2 chunks (sequence numbers as given, 1-based, out of `total`). */
function withIccChunks(jpeg: Buffer, parts: number, keep: (sequence: number) => boolean = () => true, total = parts): Buffer {
  const start = jpeg.indexOf(Buffer.from('ICC_PROFILE\0', 'latin1')) - 4;
  const length = jpeg.readUInt16BE(start + 2);
  const profile = jpeg.subarray(start + 4 + 14, start + 2 + length);
  const size = Math.ceil(profile.length / parts);
  const segments = Array.from({ length: parts }, (_, i) => i + 1)
    .filter(keep)
    .map((sequence) => {
      const data = profile.subarray((sequence - 1) * size, sequence * size);
      const head = Buffer.alloc(4 + 14);
      head.writeUInt16BE(0xffe2, 0);
      head.writeUInt16BE(2 + 14 + data.length, 2);
      head.write('ICC_PROFILE\0', 4, 'latin1');
      head[16] = sequence;
      head[17] = total;
      return Buffer.concat([head, data]);
    });
  return Buffer.concat([jpeg.subarray(0, start), ...segments.reverse(), jpeg.subarray(start + 2 + length)]);
}

describe('JPEG header', () => {
  it('reads size, components, frame type, orientation and ICC profile from the markers', async () => {
    const pixels = photoLike(64, 48);
    const plain = readJpegHeader(await jpegOf(pixels, 64, 48).jpeg({ quality: 80 }).toBuffer());
    expect(plain).toMatchObject({
      width: 64,
      height: 48,
      components: 3,
      precision: 8,
      frame: 0xc0,
      orientation: 1,
      colourProfile: 'none',
      endsAtEoi: true,
    });
    expect(readJpegHeader(await jpegOf(pixels, 64, 48).jpeg({ progressive: true }).toBuffer())?.frame).toBe(0xc2);
    expect(readJpegHeader(await jpegOf(pixels, 64, 48).toColourspace('b-w').jpeg().toBuffer())?.components).toBe(1);
    expect(readJpegHeader(await jpegOf(pixels, 64, 48).toColourspace('cmyk').jpeg().toBuffer())?.components).toBe(4);
    expect(readJpegHeader(await jpegOf(pixels, 64, 48).jpeg().withIccProfile('p3').toBuffer())?.colourProfile).toBe('other');
    const srgb = await jpegOf(pixels, 64, 48).jpeg().withIccProfile('srgb').toBuffer();
    expect(readJpegHeader(srgb)?.colourProfile).toBe('srgb');
    // A profile may span several APP2 segments, in any order; one that misses a part is not trusted.
    expect(readJpegHeader(withIccChunks(srgb, 3))?.colourProfile).toBe('srgb');
    expect(readJpegHeader(withIccChunks(srgb, 3, (sequence) => sequence !== 2))?.colourProfile).toBe('other');
    expect(readJpegHeader(withIccChunks(srgb, 2, () => true, 3))?.colourProfile).toBe('other');
    for (const byteOrder of ['II', 'MM'] as const) {
      const rotated = withExifOrientation(await jpegOf(pixels, 64, 48).jpeg().toBuffer(), 6, byteOrder);
      expect(readJpegHeader(rotated)).toMatchObject({ orientation: 6, colourProfile: 'none' });
      expect((await sharp(rotated).metadata()).orientation).toBe(6); // libvips reads the same block
    }
  });

  it('never throws on damaged bytes: random truncations and byte changes give a header or null', async () => {
    const jpeg = withExifOrientation(await jpegOf(photoLike(48, 32), 48, 32).jpeg({ quality: 80 }).toBuffer(), 3);
    const random = mulberry32(5);
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(jpeg.subarray(0, 2 + Math.floor(random() * (jpeg.length - 2))));
      for (let j = 0; j < 1 + Math.floor(random() * 4); j++)
        bytes[2 + Math.floor(random() * (bytes.length - 2))] = Math.floor(random() * 256);
      expect(() => readJpegHeader(bytes)).not.toThrow();
    }
  });

  it('estimates the IJG quality from the luminance table to within half a step', async () => {
    const pixels = photoLike(32, 32);
    for (const quality of [50, 75, 89, 90, 91, 95]) {
      const header = readJpegHeader(await jpegOf(pixels, 32, 32).jpeg({ quality }).toBuffer());
      expect(Math.abs(header!.quality! - quality)).toBeLessThan(0.5);
    }
  });

  it('tells a cut-off file: no end marker, or no header at all', async () => {
    const jpeg = await jpegOf(photoLike(32, 32), 32, 32).jpeg().toBuffer();
    expect(readJpegHeader(jpeg.subarray(0, jpeg.length - 40))?.endsAtEoi).toBe(false);
    expect(readJpegHeader(jpeg.subarray(0, 60))).toBeNull();
    expect(readJpegHeader(Buffer.from([0xff, 0xd8, 0xff]))).toBeNull();
    expect(readJpegHeader(Buffer.from('not a jpeg at all'))).toBeNull();
  });

  it('takes the fast path only for a plain JPEG: upright, no profile, 8-bit grey or YCbCr, quality ≤ 90, within the limits, complete', async () => {
    const pixels = photoLike(64, 48);
    const at = (quality: number) => jpegOf(pixels, 64, 48).jpeg({ quality }).toBuffer();
    const plain = await at(FAST_DCT_MAX_QUALITY);
    expect(plainJpeg(readJpegHeader(plain), LIMITS)).toBe(true);
    expect(plainJpeg(readJpegHeader(await jpegOf(pixels, 64, 48).toColourspace('b-w').jpeg({ quality: 80 }).toBuffer()), LIMITS)).toBe(
      true,
    );
    const refused = {
      'quality 91': await at(FAST_DCT_MAX_QUALITY + 1),
      'EXIF rotation': withExifOrientation(plain, 6),
      'a Display P3 profile': await jpegOf(pixels, 64, 48).jpeg({ quality: 80 }).withIccProfile('p3').toBuffer(),
      CMYK: await jpegOf(pixels, 64, 48).toColourspace('cmyk').jpeg({ quality: 80 }).toBuffer(),
      truncated: plain.subarray(0, plain.length - 20),
      'bytes after the end marker': Buffer.concat([plain, Buffer.from('trailer')]),
    };
    for (const [why, bytes] of Object.entries(refused)) expect([why, plainJpeg(readJpegHeader(bytes), LIMITS)]).toEqual([why, false]);
    expect(plainJpeg(readJpegHeader(withExifOrientation(plain, 1)), LIMITS)).toBe(true);
    // An sRGB profile changes nothing, so its JPEG is plain too; not a grey one, though.
    const srgbHeader = readJpegHeader(await jpegOf(pixels, 64, 48).jpeg({ quality: 80 }).withIccProfile('srgb').toBuffer());
    expect(plainJpeg(srgbHeader, LIMITS)).toBe(true);
    expect(plainJpeg({ ...srgbHeader!, components: 1 }, LIMITS)).toBe(false);
    // An EXIF block whose first directory points past its end: its orientation is unknown, so sharp decides.
    const unreadable = withExifOrientation(plain, 1);
    unreadable.writeUInt32LE(4000, unreadable.indexOf('Exif') + 6 + 4); // IFD0's offset, in the TIFF header
    expect(readJpegHeader(unreadable)?.orientation).toBe(0);
    expect(plainJpeg(readJpegHeader(unreadable), LIMITS)).toBe(false);
    expect(plainJpeg(readJpegHeader(plain), { maxPixels: 64 * 48 - 1 })).toBe(false);
    expect(plainJpeg(readJpegHeader(plain), { ...LIMITS, maxSide: 63 })).toBe(false);
    expect(plainJpeg(readJpegHeader(plain), { ...LIMITS, maxSide: 64 })).toBe(true);
  });
});

describe('libjpeg-turbo path', () => {
  it('loads: the binding ships prebuilt binaries for Linux, macOS and Windows on x64 and arm64', () => {
    expect(turboAvailable).toBe(true);
  });

  it('decodes a plain JPEG to the pixels sharp gives, up to the fast DCT, small ones on the calling thread and large ones on the pool', async () => {
    const side = Math.ceil(Math.sqrt(SYNC_DECODE_MAX_PIXELS)) + 1; // just over the synchronous limit
    const cases: Array<[number, number, object]> = [
      [96, 64, { quality: 85 }],
      [96, 64, { quality: 85, progressive: true }],
      [side, side, { quality: 85 }],
    ];
    for (const [width, height, options] of cases) {
      const jpeg = await jpegOf(photoLike(width, height), width, height).jpeg(options).toBuffer();
      const image = await decodeImage(jpeg, LIMITS);
      const accurate = await sharp(jpeg).raw().toBuffer();
      expect([image.decoder, image.width, image.height, image.alpha]).toEqual(['libjpeg-turbo', width, height, null]);
      expect(psnr(image.rgb, accurate)).toBeGreaterThan(40);
    }
  });

  it('decodes into the buffer the caller supplies, on the calling thread and on the pool alike', async () => {
    const side = Math.ceil(Math.sqrt(SYNC_DECODE_MAX_PIXELS)) + 1;
    for (const [width, height] of [
      [96, 64],
      [side, side],
    ] as const) {
      const jpeg = await jpegOf(photoLike(width, height), width, height).jpeg({ quality: 85 }).toBuffer();
      const header = readJpegHeader(jpeg)!;
      const supplied = new ArrayBuffer(width * height * 3 + 100);
      const sizes: number[] = [];
      const into = await decodePlainJpeg(jpeg, header, (bytes) => {
        sizes.push(bytes);
        return supplied;
      });
      const own = await decodePlainJpeg(jpeg, header);
      expect(sizes).toEqual([width * height * 3]);
      expect(into!.rgb.buffer).toBe(supplied);
      expect([into!.rgb.byteOffset, into!.rgb.length]).toEqual([0, width * height * 3]);
      expect(into!.rgb.equals(own!.rgb)).toBe(true);
    }
  });

  it('decodes a JPEG tagged sRGB to the pixels sharp gives after applying the profile, up to the fast DCT', async () => {
    const pixels = photoLike(96, 64);
    for (const jpeg of [
      await jpegOf(pixels, 96, 64).jpeg({ quality: 85 }).withIccProfile('srgb').toBuffer(),
      withIccChunks(await jpegOf(pixels, 96, 64).jpeg({ quality: 85 }).withIccProfile('srgb').toBuffer(), 2),
    ]) {
      const image = await decodeImage(jpeg, LIMITS);
      expect(image.decoder).toBe('libjpeg-turbo');
      expect(psnr(image.rgb, await sharp(jpeg).toColourspace('srgb').raw().toBuffer())).toBeGreaterThan(40);
    }
    // A Display P3 one is converted by libvips: its colours move far more than the DCT could.
    const p3 = await jpegOf(pixels, 96, 64).jpeg({ quality: 85 }).withIccProfile('p3').toBuffer();
    const converted = await decodeImage(p3, LIMITS);
    expect(converted.decoder).toBe('libvips');
    expect(psnr(converted.rgb, await sharp(p3, { ignoreIcc: true }).raw().toBuffer())).toBeLessThan(30);
  });

  it('decodes a grey JPEG to three equal channels', async () => {
    const jpeg = await jpegOf(photoLike(40, 30), 40, 30).toColourspace('b-w').jpeg({ quality: 80 }).toBuffer();
    const image = await decodeImage(jpeg, LIMITS);
    expect(image.decoder).toBe('libjpeg-turbo');
    const red = image.rgb.filter((_, i) => i % 3 === 0);
    expect(image.rgb.filter((_, i) => i % 3 === 1)).toEqual(red);
    expect(image.rgb.filter((_, i) => i % 3 === 2)).toEqual(red);
    expect(psnr(image.rgb, await sharp(jpeg).raw().toBuffer())).toBeGreaterThan(40); // sharp gives grey as RGB too
  });

  it('leaves the rest to sharp: an EXIF-rotated JPEG comes out upright, a corrupt one is a 422', async () => {
    const plain = await jpegOf(photoLike(96, 64), 96, 64).jpeg({ quality: 80 }).toBuffer();
    const rotated = await decodeImage(withExifOrientation(plain, 6), LIMITS);
    expect([rotated.decoder, rotated.width, rotated.height]).toEqual(['libvips', 64, 96]);
    expect(rotated.rgb.equals(await sharp(withExifOrientation(plain, 6)).rotate().raw().toBuffer())).toBe(true);
    // Scan data scrambled, end marker intact: libjpeg-turbo refuses, and sharp says why.
    const corrupt = Buffer.from(plain);
    const scan = plain.indexOf(Buffer.from([0xff, 0xda]));
    for (let i = Math.floor((scan + plain.length) / 2); i < plain.length - 16; i++) corrupt[i] ^= 0x5a;
    expect(plainJpeg(readJpegHeader(corrupt), LIMITS)).toBe(true);
    const error = await decodeImage(corrupt, LIMITS).catch((e: unknown) => e);
    expect(clientErrorOf(error)?.status).toBe(422);
    // The same through the thread pool, for an image over the synchronous limit.
    const side = Math.ceil(Math.sqrt(SYNC_DECODE_MAX_PIXELS)) + 1;
    const large = Buffer.from(await jpegOf(photoLike(side, side), side, side).jpeg({ quality: 80 }).toBuffer());
    const largeScan = large.indexOf(Buffer.from([0xff, 0xda]));
    for (let i = Math.floor((largeScan + large.length) / 2); i < large.length - 16; i++) large[i] ^= 0x5a;
    expect(clientErrorOf(await decodeImage(large, LIMITS).catch((e: unknown) => e))?.status).toBe(422);
  });

  it('gives each JPEG answer a buffer of its own size, which later answers leave untouched', async () => {
    // Answers over 4 KiB, so that Node does not place the copy in its shared small-buffer pool.
    const [first, second] = [photoLike(256, 192), photoLikePixels(256, 192, mulberry32(9))];
    const a = await encodeImage({ width: 256, height: 192, rgb: first }, { format: 'jpeg', quality: 80 });
    const kept = Buffer.from(a.body);
    const b = await encodeImage({ width: 256, height: 192, rgb: second }, { format: 'jpeg', quality: 80 });
    expect([a.encoder, b.encoder]).toEqual(['libjpeg-turbo', 'libjpeg-turbo']);
    // Not a slice of TurboJPEG's worst-case-sized output buffer, which would stay pinned with it.
    expect(a.body.buffer.byteLength).toBe(a.body.length);
    expect(a.body.equals(kept)).toBe(true);
    expect(b.body.equals(a.body)).toBe(false);
    expect(psnr(await sharp(a.body).raw().toBuffer(), first)).toBeGreaterThan(28);
    // A second encode that starts while the first is on the thread pool writes into a scratch buffer of its own.
    const [large, other] = [photoLike(1024, 768), photoLikePixels(1024, 768, mulberry32(11))];
    const encode = (rgb: Buffer) => encodeImage({ width: 1024, height: 768, rgb }, { format: 'jpeg', quality: 80 });
    const [largeAlone, otherAlone] = [await encode(large), await encode(other)];
    const pending = encode(large);
    await new Promise((resolve) => setImmediate(resolve));
    const [largeTogether, otherTogether] = await Promise.all([pending, encode(other)]);
    expect(largeTogether.body.equals(largeAlone.body)).toBe(true);
    expect(otherTogether.body.equals(otherAlone.body)).toBe(true);
  });

  it('encodes JPEG answers up to quality 90 with libjpeg-turbo, and above with sharp', async () => {
    const pixels = photoLike(64, 64);
    // A view into a larger buffer, as the pipeline hands over cropped pixels.
    const backing = Buffer.concat([Buffer.alloc(7), pixels]);
    const rgb = backing.subarray(7);
    const fast = await encodeImage({ width: 64, height: 64, rgb }, { format: 'jpeg', quality: FAST_DCT_MAX_QUALITY });
    const accurate = await encodeImage({ width: 64, height: 64, rgb }, { format: 'jpeg', quality: FAST_DCT_MAX_QUALITY + 1 });
    const byDefault = await encodeImage({ width: 64, height: 64, rgb }, { format: 'jpeg' });
    expect([fast.encoder, accurate.encoder, byDefault.encoder]).toEqual(['libjpeg-turbo', 'libvips', 'libjpeg-turbo']);
    const header = readJpegHeader(fast.body);
    expect(header).toMatchObject({ width: 64, height: 64, components: 3 });
    expect(Math.abs(header!.quality! - FAST_DCT_MAX_QUALITY)).toBeLessThan(0.5);
    const [fastPsnr, accuratePsnr] = await Promise.all(
      [fast, accurate].map(async (e) => psnr(await sharp(e.body).raw().toBuffer(), pixels)),
    );
    expect(fastPsnr).toBeGreaterThan(accuratePsnr! - 1.5); // one quality step apart, same fidelity within noise
    expect(fastPsnr).toBeGreaterThan(28);
  });
});
