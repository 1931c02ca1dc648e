/**
 * Raw-pixel composition for generated images: tiling several images into one grid and integer
 * nearest-neighbour upscaling (28 px digits are tiny on screens, and smoothing would blur the
 * strokes). Works on interleaved uint8 pixels so the server and the training harness (sample grids)
 * can both use it before encoding.
 */

/** Interleaved (HWC) uint8 pixels. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface GridGeometry {
  columns: number;
  rows: number;
}

/** Row-major grid as square as possible: ceil(√n) columns, then as many rows as needed. */
export function gridGeometry(count: number): GridGeometry {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`grid needs at least one image, got ${count}`);
  const columns = Math.ceil(Math.sqrt(count));
  return { columns, rows: Math.ceil(count / columns) };
}

/**
 * Tiles same-sized images row-major (image i at column i mod columns, row ⌊i / columns⌋). Cells
 * without an image stay black.
 */
export function composeGrid(images: readonly RawImage[], geometry: GridGeometry = gridGeometry(images.length)): RawImage {
  const first = images[0];
  if (first === undefined) throw new RangeError('grid needs at least one image');
  const { width, height, channels } = first;
  for (const image of images) {
    if (image.width !== width || image.height !== height || image.channels !== channels) {
      throw new RangeError('grid images must share width, height and channels');
    }
  }
  if (images.length > geometry.columns * geometry.rows) throw new RangeError('more images than grid cells');
  const gridWidth = width * geometry.columns;
  const out = new Uint8Array(gridWidth * height * geometry.rows * channels);
  const rowBytes = width * channels;
  images.forEach((image, index) => {
    const left = (index % geometry.columns) * width;
    const top = Math.floor(index / geometry.columns) * height;
    for (let y = 0; y < height; y += 1) {
      const source = y * rowBytes;
      out.set(image.data.subarray(source, source + rowBytes), ((top + y) * gridWidth + left) * channels);
    }
  });
  return { data: out, width: gridWidth, height: height * geometry.rows, channels };
}

/** Integer nearest-neighbour upscaling: each pixel becomes a factor × factor block. */
export function upscaleNearest(image: RawImage, factor: number): RawImage {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`scale must be a positive integer, got ${factor}`);
  if (factor === 1) return image;
  const { width, height, channels, data } = image;
  const outWidth = width * factor;
  const out = new Uint8Array(outWidth * height * factor * channels);
  const outRowBytes = outWidth * channels;
  for (let y = 0; y < height; y += 1) {
    const outRowStart = y * factor * outRowBytes;
    // Build one widened row, then copy it factor - 1 more times below itself.
    for (let x = 0; x < width; x += 1) {
      const pixel = data.subarray((y * width + x) * channels, (y * width + x + 1) * channels);
      for (let k = 0; k < factor; k += 1) out.set(pixel, outRowStart + (x * factor + k) * channels);
    }
    for (let k = 1; k < factor; k += 1) {
      out.copyWithin(outRowStart + k * outRowBytes, outRowStart, outRowStart + outRowBytes);
    }
  }
  return { data: out, width: outWidth, height: height * factor, channels };
}
