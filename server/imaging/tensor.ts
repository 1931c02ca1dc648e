/**
 * Pixels ↔ model tensors. HWC uint8 images become NCHW or NHWC float32 in the model's value range,
 * padded by reflection to the model's size multiple (never stretched), and come back cropped,
 * clamped and rounded.
 */
import type { Layout, PixelRange } from '../models/manifest.ts';

export interface HwcImage {
  width: number;
  height: number;
  channels: number;
  /** width × height × channels bytes, row-major. */
  data: Uint8Array;
}

export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** Smallest multiple of `multiple` that is ≥ size. */
export function roundUpTo(size: number, multiple: number): number {
  return Math.ceil(size / multiple) * multiple;
}

/** Mirror index (edge not repeated, like numpy 'reflect'), valid for any overshoot. */
export function reflectIndex(index: number, size: number): number {
  if (size === 1) return 0;
  const period = 2 * (size - 1);
  const folded = ((index % period) + period) % period;
  return folded < size ? folded : period - folded;
}

/** Pads on the right and bottom by reflection so the sides become multiples of `multiple`. */
export function reflectPad(image: HwcImage, multiple: number): HwcImage {
  return reflectPadTo(image, roundUpTo(image.width, multiple), roundUpTo(image.height, multiple));
}

/** Pads on the right and bottom by reflection to width × height (each at least the image's). */
export function reflectPadTo(image: HwcImage, width: number, height: number): HwcImage {
  if (width < image.width || height < image.height)
    throw new RangeError(`cannot pad ${image.width}×${image.height} to a smaller ${width}×${height}`);
  if (width === image.width && height === image.height) return image;
  const { channels } = image;
  const data = new Uint8Array(width * height * channels);
  const rowBytes = image.width * channels;
  for (let y = 0; y < height; y++) {
    const srcRow = reflectIndex(y, image.height) * rowBytes;
    const dstRow = y * width * channels;
    data.set(image.data.subarray(srcRow, srcRow + rowBytes), dstRow);
    for (let x = image.width; x < width; x++) {
      const src = srcRow + reflectIndex(x, image.width) * channels;
      for (let c = 0; c < channels; c++) data[dstRow + x * channels + c] = image.data[src + c]!;
    }
  }
  return { width, height, channels, data };
}

/** Crops the top-left width × height region (undoes reflectPad). */
export function cropTopLeft(image: HwcImage, width: number, height: number): HwcImage {
  if (width === image.width && height === image.height) return image;
  const rowBytes = width * image.channels;
  const data = new Uint8Array(height * rowBytes);
  for (let y = 0; y < height; y++) {
    const src = y * image.width * image.channels;
    data.set(image.data.subarray(src, src + rowBytes), y * rowBytes);
  }
  return { width, height, channels: image.channels, data };
}

/** Affine map byte → model value: value = byte * scale + offset. */
export function rangeToAffine(range: PixelRange): { scale: number; offset: number } {
  const [low, high] = range;
  return { scale: (high - low) / 255, offset: low };
}

/**
 * The same map for the image tensors, in float32, the model's own precision: each operation is
 * rounded to f32, so the SIMD kernels (pixel-kernels.ts) can take four values at a time and still
 * equal these loops bit for bit.
 */
function float32Affine(range: PixelRange): { toValue: (byte: number) => number; toLevel: (value: number) => number } {
  const affine = rangeToAffine(range);
  const scale = Math.fround(affine.scale);
  const offset = Math.fround(affine.offset);
  const inverse = Math.fround(1 / affine.scale);
  return {
    toValue: (byte) => Math.fround(Math.fround(byte * scale) + offset),
    toLevel: (value) => Math.fround(Math.fround(value - offset) * inverse),
  };
}

/**
 * RGB (or grey) bytes → a batch-of-one float tensor. `channels` is what the model takes: 3, or 1
 * (ITU-R BT.601 luma of RGB input), mapped to the model range in float32 (float32Affine). The
 * loops are specialised per case: they run once per request over millions of values. `allocate`
 * may hand out used memory of the length asked for (every value is written).
 */
export function toTensor(
  image: HwcImage,
  layout: Layout,
  range: PixelRange,
  channels: 1 | 3,
  allocate: (length: number) => Float32Array = (length) => new Float32Array(length),
): FloatTensor {
  const { width, height } = image;
  const pixels = width * height;
  const { toValue } = float32Affine(range);
  const data = allocate(pixels * channels);
  const src = image.data;
  const grey = image.channels < 3;
  const stride = image.channels;
  if (channels === 1) {
    for (let p = 0, s = 0; p < pixels; p++, s += stride) {
      const luma = grey ? src[s]! : 0.299 * src[s]! + 0.587 * src[s + 1]! + 0.114 * src[s + 2]!;
      data[p] = toValue(luma);
    }
  } else if (layout === 'NCHW') {
    const g0 = grey ? 0 : 1;
    const b0 = grey ? 0 : 2;
    for (let p = 0, s = 0; p < pixels; p++, s += stride) {
      data[p] = toValue(src[s]!);
      data[pixels + p] = toValue(src[s + g0]!);
      data[2 * pixels + p] = toValue(src[s + b0]!);
    }
  } else if (!grey) {
    for (let i = 0; i < pixels * 3; i++) data[i] = toValue(src[i]!);
  } else {
    for (let p = 0, s = 0; p < pixels; p++, s += stride) data[3 * p] = data[3 * p + 1] = data[3 * p + 2] = toValue(src[s]!);
  }
  const dims = layout === 'NCHW' ? [1, channels, height, width] : [1, height, width, channels];
  return { data, dims };
}

/**
 * The first image of a float tensor → RGB bytes (a 1-channel output is replicated to grey RGB).
 * Values are mapped from the model range in float32 (float32Affine), then rounded half to even
 * and clamped to 0–255 by the Uint8ClampedArray store (NaN becomes 0).
 */
export function fromTensor(tensor: FloatTensor, layout: Layout, range: PixelRange): HwcImage {
  if (tensor.dims.length !== 4) throw new Error(`expected a 4-D image tensor, got dims [${tensor.dims.join(', ')}]`);
  const [, d1, d2, d3] = tensor.dims as [number, number, number, number];
  const [channels, height, width] = layout === 'NCHW' ? [d1, d2, d3] : [d3, d1, d2];
  if (channels !== 1 && channels !== 3) throw new Error(`expected 1 or 3 output channels, got ${channels}`);
  const pixels = width * height;
  if (tensor.data.length < pixels * channels) throw new Error(`output has ${tensor.data.length} values, fewer than its dims say`);
  const level = float32Affine(range).toLevel;
  const out = new Uint8ClampedArray(pixels * 3);
  const src = tensor.data;
  if (channels === 1) {
    for (let p = 0; p < pixels; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = level(src[p]!);
  } else if (layout === 'NCHW') {
    for (let p = 0; p < pixels; p++) {
      out[3 * p] = level(src[p]!);
      out[3 * p + 1] = level(src[pixels + p]!);
      out[3 * p + 2] = level(src[2 * pixels + p]!);
    }
  } else {
    for (let i = 0; i < pixels * 3; i++) out[i] = level(src[i]!);
  }
  return { width, height, channels: 3, data: new Uint8Array(out.buffer) };
}
