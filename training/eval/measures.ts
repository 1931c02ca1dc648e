/**
 * Style measures of a single greyscale digit image (values in [-1, 1], white strokes on black):
 * ink mass for stroke weight, and slant from second-order central moments. The digits-text caption
 * builder uses them to label training digits and its eval uses them to check stroke and slant
 * control, so both sides measure the same way.
 */

/** Pixel intensity in [0, 1]: -1 (black background) → 0, 1 (white stroke) → 1. */
function intensity(value: number): number {
  return Math.min(1, Math.max(0, (value + 1) / 2));
}

/** Mean intensity in [0, 1]: heavier strokes cover more pixels more brightly. */
export function inkMass(image: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < image.length; i++) total += intensity(image[i]!);
  return image.length === 0 ? 0 : total / image.length;
}

/**
 * Slant as the shear of the ink distribution: -mu11 / mu02, with x to the right and y (row) down.
 * It is the horizontal shift per row going up, so a right-leaning digit (top to the right) is
 * positive, an upright one near 0, a left-leaning one negative. This is the skew that classic
 * MNIST deskewing removes. An image without vertical spread (blank, or a flat line) has slant 0.
 */
export function slant(image: ArrayLike<number>, width: number): number {
  const height = image.length / width;
  if (!Number.isInteger(height)) throw new Error(`image of ${image.length} values is not ${width} wide`);
  let mass = 0;
  let sumX = 0;
  let sumY = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const w = intensity(image[y * width + x]!);
      mass += w;
      sumX += w * x;
      sumY += w * y;
    }
  }
  if (mass === 0) return 0;
  const centreX = sumX / mass;
  const centreY = sumY / mass;
  let mu11 = 0;
  let mu02 = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const w = intensity(image[y * width + x]!);
      mu11 += w * (x - centreX) * (y - centreY);
      mu02 += w * (y - centreY) * (y - centreY);
    }
  }
  return mu02 < 1e-9 * mass ? 0 : -mu11 / mu02;
}

/** Ink mass and slant of each image in a packed batch of `count` images of `width`×`width`. */
export function measureBatch(images: Float32Array, count: number, width: number): { ink: Float64Array; slant: Float64Array } {
  const pixels = width * width;
  if (images.length !== count * pixels) throw new Error(`expected ${count} images of ${width}×${width}, got ${images.length} values`);
  const ink = new Float64Array(count);
  const slants = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const image = images.subarray(i * pixels, (i + 1) * pixels);
    ink[i] = inkMass(image);
    slants[i] = slant(image, width);
  }
  return { ink, slant: slants };
}
