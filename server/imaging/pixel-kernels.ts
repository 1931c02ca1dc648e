/**
 * WebAssembly SIMD kernels for the translate hot path: versions of toTensor and fromTensor
 * (tensor.ts) for three-channel images, and the PNG row filter of png.ts.
 *
 * V8 runs the tensor loops at 2–4 ns a value, about 3 + 4 ms per 512² image in every request;
 * these kernels take about 0.6 + 1 ms, copies into and out of their memory included. The
 * arithmetic is the JavaScript one, in f32 (byte × scale + offset; (value − offset) × (1 / scale),
 * rounded half to even and clamped, NaN → 0), so the results are equal bit for bit; tests compare
 * both on every layout, range and awkward value. The PNG filter takes ≈ 0.6 ms at 512², copies
 * included, where a JavaScript loop took 2.5 ms on the event loop.
 *
 * The module is written as WebAssembly text here and compiled by wabt when a thread first needs it
 * (≈ 0.1 s), so no binary of unknown origin is committed. Each thread owns one instance: its
 * memory holds the current image and only grows, like a scratch buffer.
 */
import wabt from 'wabt';
import type { Layout, PixelRange } from '../models/manifest.ts';
import { fromTensor, rangeToAffine, toTensor, type FloatTensor, type HwcImage } from './tensor.ts';

const lanes = (count: number, lane: (i: number) => number) => Array.from({ length: count }, (_, i) => lane(i));
const shuffle = (laneIndices: number[], a: string, b: string) => `(i8x16.shuffle ${laneIndices.join(' ')} ${a} ${b})`;

/**
 * Byte lanes that gather channel c of 16 RGB pixels (48 bytes in v0, v1, v2): a first shuffle of
 * v0 and v1 takes the bytes below 32, a second one adds those from v2.
 */
function planeLanes(c: number): { first: number[]; second: number[] } {
  const source = (j: number) => 3 * j + c;
  return {
    first: lanes(16, (j) => (source(j) < 32 ? source(j) : 0)),
    second: lanes(16, (j) => (source(j) < 32 ? j : 16 + source(j) - 32)),
  };
}

/** Byte lanes of output vector m (bytes 16m…16m+15) of 16 interleaved pixels from planes r, g, b. */
function pixelLanes(m: number): { first: number[]; second: number[] } {
  const channel = (l: number) => (16 * m + l) % 3;
  const pixel = (l: number) => Math.floor((16 * m + l) / 3);
  return {
    first: lanes(16, (l) => [pixel(l), 16 + pixel(l), 0][channel(l)]!),
    second: lanes(16, (l) => (channel(l) === 2 ? 16 + pixel(l) : l)),
  };
}

/**
 * A loop over `index` = 0, 16, 32… while 16 more items fit below `count` (SIMD body), then over
 * the rest one at a time (scalar tail). Needs an i32 local $end.
 */
function loops(index: string, count: string, body: string, tail: string): string {
  return `(local.set $end (i32.and (local.get ${count}) (i32.const -16)))
  (block $vector_done (loop $vector
   (br_if $vector_done (i32.ge_u (local.get ${index}) (local.get $end)))
   ${body}
   (local.set ${index} (i32.add (local.get ${index}) (i32.const 16)))
   (br $vector)))
  (block $tail_done (loop $tail
   (br_if $tail_done (i32.ge_u (local.get ${index}) (local.get ${count})))
   ${tail}
   (local.set ${index} (i32.add (local.get ${index}) (i32.const 1)))
   (br $tail)))`;
}

const floatAt = (base: string, index: string) => `(i32.add (local.get ${base}) (i32.shl (local.get ${index}) (i32.const 2)))`;
const byteAt = (base: string, index: string) => `(i32.add (local.get ${base}) (local.get ${index}))`;

/** 4 byte values (u32 lanes of $q) → 4 floats: value × scale + offset in f32. */
const affineQuad = (offset: number) => `
   (v128.store offset=${offset} ${floatAt('$dst', '$i')} (f32x4.add (f32x4.mul (f32x4.convert_i32x4_u (local.get $q)) (local.get $scales)) (local.get $offsets)))`;

/**
 * 4 floats → 4 bytes in u32 lanes: (value − offset) × inverse in f32, then the JavaScript
 * Uint8ClampedArray store (half to even, clamped; pmax puts NaN at 0).
 */
const toByteQuad = (floats: string) =>
  `(i32x4.trunc_sat_f32x4_u (f32x4.pmin (local.get $max) (f32x4.pmax (local.get $zero) (f32x4.nearest (f32x4.mul (f32x4.sub ${floats} (local.get $offsets)) (local.get $inverses))))))`;

const WAT = `(module
 (memory (export "memory") 1)

 (func (export "bytesToFloats") (param $src i32) (param $dst i32) (param $n i32) (param $scale f32) (param $offset f32)
  (local $i i32) (local $end i32) (local $v v128) (local $w v128) (local $q v128) (local $scales v128) (local $offsets v128)
  (local.set $scales (f32x4.splat (local.get $scale)))
  (local.set $offsets (f32x4.splat (local.get $offset)))
  ${loops(
    '$i',
    '$n',
    `(local.set $v (v128.load ${byteAt('$src', '$i')}))
   (local.set $w (i16x8.extend_low_i8x16_u (local.get $v)))
   (local.set $q (i32x4.extend_low_i16x8_u (local.get $w))) ${affineQuad(0)}
   (local.set $q (i32x4.extend_high_i16x8_u (local.get $w))) ${affineQuad(16)}
   (local.set $w (i16x8.extend_high_i8x16_u (local.get $v)))
   (local.set $q (i32x4.extend_low_i16x8_u (local.get $w))) ${affineQuad(32)}
   (local.set $q (i32x4.extend_high_i16x8_u (local.get $w))) ${affineQuad(48)}`,
    `(f32.store ${floatAt('$dst', '$i')} (f32.add (f32.mul (f32.convert_i32_u (i32.load8_u ${byteAt('$src', '$i')})) (local.get $scale)) (local.get $offset)))`,
  )})

 (func (export "floatsToBytes") (param $src i32) (param $dst i32) (param $n i32) (param $offset f32) (param $inverse f32)
  (local $i i32) (local $end i32) (local $offsets v128) (local $inverses v128) (local $zero v128) (local $max v128)
  (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $x f32)
  (local.set $offsets (f32x4.splat (local.get $offset)))
  (local.set $inverses (f32x4.splat (local.get $inverse)))
  (local.set $max (f32x4.splat (f32.const 255)))
  ${loops(
    '$i',
    '$n',
    `${[0, 1, 2, 3].map((k) => `(local.set $q${k} ${toByteQuad(`(v128.load offset=${16 * k} ${floatAt('$src', '$i')})`)})`).join('\n   ')}
   (v128.store ${byteAt('$dst', '$i')} (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_u (local.get $q0) (local.get $q1)) (i16x8.narrow_i32x4_u (local.get $q2) (local.get $q3))))`,
    `(local.set $x (f32.mul (f32.sub (f32.load ${floatAt('$src', '$i')}) (local.get $offset)) (local.get $inverse)))
   (i32.store8 ${byteAt('$dst', '$i')} (if (result i32) (f32.gt (local.get $x) (f32.const 0))
     (then (i32.trunc_f32_u (f32.min (f32.nearest (local.get $x)) (f32.const 255))))
     (else (i32.const 0))))`,
  )})

 (func (export "pixelsToPlanes") (param $src i32) (param $dst i32) (param $pixels i32)
  (local $p i32) (local $end i32) (local $s i32) (local $v0 v128) (local $v1 v128) (local $v2 v128)
  ${loops(
    '$p',
    '$pixels',
    `(local.set $s (i32.add (local.get $src) (i32.mul (local.get $p) (i32.const 3))))
   (local.set $v0 (v128.load (local.get $s)))
   (local.set $v1 (v128.load offset=16 (local.get $s)))
   (local.set $v2 (v128.load offset=32 (local.get $s)))
   ${[0, 1, 2]
     .map((c) => {
       const { first, second } = planeLanes(c);
       return `(v128.store (i32.add ${byteAt('$dst', '$p')} (i32.mul (local.get $pixels) (i32.const ${c}))) ${shuffle(second, shuffle(first, '(local.get $v0)', '(local.get $v1)'), '(local.get $v2)')})`;
     })
     .join('\n   ')}`,
    `(local.set $s (i32.add (local.get $src) (i32.mul (local.get $p) (i32.const 3))))
   ${[0, 1, 2].map((c) => `(i32.store8 (i32.add ${byteAt('$dst', '$p')} (i32.mul (local.get $pixels) (i32.const ${c}))) (i32.load8_u offset=${c} (local.get $s)))`).join('\n   ')}`,
  )})

 (func (export "planesToPixels") (param $src i32) (param $dst i32) (param $pixels i32)
  (local $p i32) (local $end i32) (local $d i32) (local $r v128) (local $g v128) (local $b v128)
  ${loops(
    '$p',
    '$pixels',
    `(local.set $r (v128.load ${byteAt('$src', '$p')}))
   (local.set $g (v128.load (i32.add ${byteAt('$src', '$p')} (local.get $pixels))))
   (local.set $b (v128.load (i32.add ${byteAt('$src', '$p')} (i32.shl (local.get $pixels) (i32.const 1)))))
   (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $p) (i32.const 3))))
   ${[0, 1, 2]
     .map((m) => {
       const { first, second } = pixelLanes(m);
       return `(v128.store offset=${16 * m} (local.get $d) ${shuffle(second, shuffle(first, '(local.get $r)', '(local.get $g)'), '(local.get $b)')})`;
     })
     .join('\n   ')}`,
    `(local.set $d (i32.add (local.get $dst) (i32.mul (local.get $p) (i32.const 3))))
   ${[0, 1, 2].map((c) => `(i32.store8 offset=${c} (local.get $d) (i32.load8_u (i32.add ${byteAt('$src', '$p')} (i32.mul (local.get $pixels) (i32.const ${c})))))`).join('\n   ')}`,
  )})

 (func (export "averageScanlines") (param $src i32) (param $dst i32) (param $height i32) (param $rowBytes i32) (param $bpp i32)
  (local $y i32) (local $x i32) (local $s i32) (local $p i32) (local $d i32) (local $end i32) (local $a v128) (local $b v128)
  (block $rows_done (loop $rows
   (br_if $rows_done (i32.ge_u (local.get $y) (local.get $height)))
   (local.set $s (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $rowBytes))))
   (local.set $p (i32.sub (local.get $s) (local.get $rowBytes)))
   (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $y) (i32.add (local.get $rowBytes) (i32.const 1)))))
   (i32.store8 (local.get $d) (i32.const 3))
   (local.set $d (i32.add (local.get $d) (i32.const 1)))
   (local.set $x (i32.const 0))
   (block $first_done (loop $first
    (br_if $first_done (i32.ge_u (local.get $x) (local.get $bpp)))
    (i32.store8 (i32.add (local.get $d) (local.get $x))
     (i32.sub (i32.load8_u (i32.add (local.get $s) (local.get $x))) (i32.shr_u (i32.load8_u (i32.add (local.get $p) (local.get $x))) (i32.const 1))))
    (local.set $x (i32.add (local.get $x) (i32.const 1)))
    (br $first)))
   (local.set $end (i32.sub (local.get $rowBytes) (i32.const 16)))
   (block $vector_done (loop $vector
    (br_if $vector_done (i32.gt_s (local.get $x) (local.get $end)))
    (local.set $a (v128.load (i32.add (local.get $s) (i32.sub (local.get $x) (local.get $bpp)))))
    (local.set $b (v128.load (i32.add (local.get $p) (local.get $x))))
    (v128.store (i32.add (local.get $d) (local.get $x))
     (i8x16.sub (v128.load (i32.add (local.get $s) (local.get $x)))
      (i8x16.add (v128.and (local.get $a) (local.get $b)) (i8x16.shr_u (v128.xor (local.get $a) (local.get $b)) (i32.const 1)))))
    (local.set $x (i32.add (local.get $x) (i32.const 16)))
    (br $vector)))
   (block $tail_done (loop $tail
    (br_if $tail_done (i32.ge_u (local.get $x) (local.get $rowBytes)))
    (i32.store8 (i32.add (local.get $d) (local.get $x))
     (i32.sub (i32.load8_u (i32.add (local.get $s) (local.get $x)))
      (i32.shr_u (i32.add (i32.load8_u (i32.add (local.get $s) (i32.sub (local.get $x) (local.get $bpp)))) (i32.load8_u (i32.add (local.get $p) (local.get $x)))) (i32.const 1))))
    (local.set $x (i32.add (local.get $x) (i32.const 1)))
    (br $tail)))
   (local.set $y (i32.add (local.get $y) (i32.const 1)))
   (br $rows))))
)`;

interface KernelExports {
  memory: WebAssembly.Memory;
  /** n bytes → n floats: byte × scale + offset in f32. */
  bytesToFloats(src: number, dst: number, n: number, scale: number, offset: number): void;
  /** n floats → n bytes: (value − offset) × inverse in f32, rounded half to even, clamped, NaN → 0. */
  floatsToBytes(src: number, dst: number, n: number, offset: number, inverse: number): void;
  /** pixels × RGB → three planes of pixels bytes. */
  pixelsToPlanes(src: number, dst: number, pixels: number): void;
  /** Three planes of pixels bytes → pixels × RGB. */
  planesToPixels(src: number, dst: number, pixels: number): void;
  /**
   * height rows of rowBytes bytes → PNG scanlines under filter 3 (byte − floor((left + up) / 2),
   * modulo 256; left is bpp bytes back). The row above the first is read at src − rowBytes and
   * must be zeros.
   */
  averageScanlines(src: number, dst: number, height: number, rowBytes: number, bpp: number): void;
}

const PAGE = 65_536;
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

export class PixelKernels {
  private constructor(private readonly kernels: KernelExports) {}

  /** Compiles and instantiates the kernels (one instance per thread that converts images). */
  static async load(): Promise<PixelKernels> {
    const module = (await wabt()).parseWat('pixel-kernels.wat', WAT, { simd: true });
    try {
      module.validate();
      const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(module.toBinary({}).buffer)));
      return new PixelKernels(instance.exports as unknown as KernelExports);
    } finally {
      module.destroy();
    }
  }

  /**
   * toTensor(image, layout, range, channels) with the same values. The tensor is a view of this
   * object's memory, valid until its next call.
   */
  toTensor(image: HwcImage, layout: Layout, range: PixelRange, channels: 1 | 3): FloatTensor {
    const values = image.width * image.height * channels;
    // Regions: input bytes, planar bytes, floats.
    const planes = align16(image.data.length);
    const floats = planes + align16(values);
    this.reserve(floats + values * 4);
    if (image.channels !== 3 || channels !== 3) {
      return toTensor(image, layout, range, channels, (length) => new Float32Array(this.kernels.memory.buffer, floats, length));
    }
    const { scale, offset } = rangeToAffine(range);
    this.bytes(0, image.data.length).set(image.data);
    if (layout === 'NCHW') {
      this.kernels.pixelsToPlanes(0, planes, image.width * image.height);
      this.kernels.bytesToFloats(planes, floats, values, scale, offset);
    } else {
      this.kernels.bytesToFloats(0, floats, values, scale, offset);
    }
    const dims = layout === 'NCHW' ? [1, 3, image.height, image.width] : [1, image.height, image.width, 3];
    return { data: new Float32Array(this.kernels.memory.buffer, floats, values), dims };
  }

  /**
   * fromTensor(tensor, layout, range) with the same bytes: written at the start of `into` when it
   * is large enough (a buffer that came with the request), else in a fresh buffer of its own.
   */
  fromTensor(tensor: FloatTensor, layout: Layout, range: PixelRange, into?: ArrayBuffer): HwcImage {
    const channels = tensor.dims[layout === 'NCHW' ? 1 : 3];
    if (tensor.dims.length !== 4 || channels !== 3 || tensor.data.length < tensor.dims.reduce((a, b) => a * b, 1)) {
      // Other shapes, and the errors for bad ones, are the JavaScript version's.
      return fromTensor(tensor, layout, range);
    }
    const [height, width] = layout === 'NCHW' ? tensor.dims.slice(2) : tensor.dims.slice(1, 3);
    const pixels = width! * height!;
    const values = pixels * 3;
    // Regions: floats, planar bytes, interleaved bytes.
    const planes = align16(values * 4);
    const interleaved = planes + align16(values);
    this.reserve(interleaved + values);
    const { scale, offset } = rangeToAffine(range);
    new Float32Array(this.kernels.memory.buffer, 0, values).set(tensor.data.subarray(0, values));
    if (layout === 'NCHW') {
      this.kernels.floatsToBytes(0, planes, values, offset, 1 / scale);
      this.kernels.planesToPixels(planes, interleaved, pixels);
    } else {
      this.kernels.floatsToBytes(0, interleaved, values, offset, 1 / scale);
    }
    // Not zero-filled first (slice() would be): every byte is overwritten at once.
    const data = into !== undefined && into.byteLength >= values ? new Uint8Array(into, 0, values) : Buffer.allocUnsafeSlow(values);
    data.set(this.bytes(interleaved, values));
    return { width: width!, height: height!, channels: 3, data };
  }

  /**
   * The scanlines of an 8-bit PNG (1–4 channels) with every row under filter 3, "average": each
   * byte minus the mean of its left and upper neighbours. On photo-like images it packed as small
   * as the best of the five PNG filters here, and it vectorises, unlike Paeth. Written at the
   * start of `into` when it is large enough, else into a new buffer.
   */
  pngAverageScanlines(image: HwcImage, into?: ArrayBuffer): Buffer {
    const rowBytes = image.width * image.channels;
    const lines = (rowBytes + 1) * image.height;
    // Regions: zeros (the row above the first), the image, the scanlines.
    const pixels = align16(rowBytes);
    const scanlines = pixels + align16(image.data.length);
    this.reserve(scanlines + lines);
    this.bytes(pixels - rowBytes, rowBytes).fill(0);
    this.bytes(pixels, image.data.length).set(image.data);
    this.kernels.averageScanlines(pixels, scanlines, image.height, rowBytes, image.channels);
    const out = into !== undefined && into.byteLength >= lines ? Buffer.from(into, 0, lines) : Buffer.allocUnsafeSlow(lines);
    out.set(this.bytes(scanlines, lines));
    return out;
  }

  /** Bytes of memory held, for tests. */
  get byteLength(): number {
    return this.kernels.memory.buffer.byteLength;
  }

  private bytes(start: number, length: number): Uint8Array {
    return new Uint8Array(this.kernels.memory.buffer, start, length);
  }

  private reserve(bytes: number): void {
    const { memory } = this.kernels;
    const missing = bytes - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / PAGE));
  }
}
