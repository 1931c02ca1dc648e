/**
 * An image-folder dataset for unpaired translation: every image of a folder decoded once to RGB
 * bytes in memory (the photo2anime folders hold a dozen images), then batches of random crops at
 * random scales with random horizontal flips. With so few images, the multi-scale crops are what
 * gives the discriminator patch variety. All randomness comes from the caller's seeded PRNG.
 */
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** An RGB image, 3 bytes per pixel, row-major. */
export interface RgbImage {
  name: string;
  width: number;
  height: number;
  data: Uint8Array;
}

/** Decodes one file to RGB (alpha flattened onto white, EXIF orientation applied). */
export async function readRgbImage(path: string, name = path): Promise<RgbImage> {
  const { data, info } = await sharp(path)
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: expected 3 channels after flattening, got ${info.channels}`);
  return { name, width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Every image of a folder (sorted by name, so the order is the same on every machine). */
export async function readImageFolder(dir: string): Promise<RgbImage[]> {
  const files = (await readdir(dir)).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort();
  if (files.length === 0) throw new Error(`no images (${[...IMAGE_EXTENSIONS].join(', ')}) in ${dir}`);
  return Promise.all(files.map((f) => readRgbImage(join(dir, f), f)));
}

/** RGB bytes → NHWC floats in [-1, 1] (one image, no batch axis). */
export function toSignedUnit(image: RgbImage): Float32Array {
  const out = new Float32Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = image.data[i]! / 127.5 - 1;
  return out;
}

export interface CropOptions {
  /** Side of the square crops, in pixels. */
  cropSize: number;
  /**
   * Smallest source window, as a fraction of the image's short side; the window side is drawn
   * log-uniformly between this and the whole short side, then resampled to `cropSize`. Never below
   * `cropSize` source pixels (no upsampling). Default 0 (i.e. cropSize pixels: full resolution).
   */
  minWindowFraction?: number;
  /** Mirror left-right with probability ½. Default true. */
  flip?: boolean;
}

/**
 * Names an image's group (e.g. `concert` for concert1.jpg … concert3.jpg): sampling is uniform
 * over groups, then over the images of a group, so near-duplicate frames of one scene weigh as one.
 */
export type GroupOf = (imageName: string) => string;

/** Frames numbered at the end of their name (`concert1.jpg`, `concert2.png`) form one group. */
export const numberedFrames: GroupOf = (name) => name.replace(/\d+(\.\w+)$/, '$1');

export class ImageFolderDataset {
  private readonly groups: RgbImage[][];

  constructor(
    readonly images: RgbImage[],
    groupOf: GroupOf = (name) => name,
  ) {
    if (images.length === 0) throw new Error('an image-folder dataset needs at least one image');
    const byGroup = new Map<string, RgbImage[]>();
    for (const image of images) byGroup.set(groupOf(image.name), [...(byGroup.get(groupOf(image.name)) ?? []), image]);
    this.groups = [...byGroup.values()];
  }

  static async load(dir: string, groupOf?: GroupOf): Promise<ImageFolderDataset> {
    return new ImageFolderDataset(await readImageFolder(dir), groupOf);
  }

  /** How many groups sampling is uniform over. */
  get groupCount(): number {
    return this.groups.length;
  }

  /**
   * `batchSize` crops as one NHWC float batch in [-1, 1]: a uniformly drawn group, and image in it, a window of
   * random scale and position, area-averaged down to `cropSize`, flipped half the time.
   */
  sampleBatch(batchSize: number, options: CropOptions, random: () => number): Float32Array {
    const { cropSize } = options;
    const pixelsPerCrop = cropSize * cropSize * 3;
    const out = new Float32Array(batchSize * pixelsPerCrop);
    for (let b = 0; b < batchSize; b++) {
      const group = this.groups[Math.floor(random() * this.groups.length)]!;
      // A group of one draws nothing more, so ungrouped sampling keeps its old random sequence.
      const image = group.length === 1 ? group[0]! : group[Math.floor(random() * group.length)]!;
      this.cropInto(image, options, random, out.subarray(b * pixelsPerCrop, (b + 1) * pixelsPerCrop));
    }
    return out;
  }

  private cropInto(image: RgbImage, options: CropOptions, random: () => number, target: Float32Array): void {
    const { cropSize } = options;
    const shortSide = Math.min(image.width, image.height);
    if (shortSide < cropSize) {
      throw new Error(`${image.name} is ${image.width}×${image.height}, smaller than the ${cropSize} crop`);
    }
    const smallest = Math.max(cropSize, Math.round((options.minWindowFraction ?? 0) * shortSide));
    const window = Math.round(Math.exp(Math.log(smallest) + random() * (Math.log(shortSide) - Math.log(smallest))));
    const left = Math.floor(random() * (image.width - window + 1));
    const top = Math.floor(random() * (image.height - window + 1));
    const flip = (options.flip ?? true) && random() < 0.5;
    const step = window / cropSize;
    // Area averaging over `taps`² samples per output pixel avoids aliasing when the window shrinks.
    const taps = Math.max(1, Math.ceil(step));
    const weight = 1 / (taps * taps * 127.5);
    for (let y = 0; y < cropSize; y++) {
      for (let x = 0; x < cropSize; x++) {
        let r = 0;
        let g = 0;
        let bl = 0;
        for (let ty = 0; ty < taps; ty++) {
          const sy = Math.min(image.height - 1, top + Math.floor((y + (ty + 0.5) / taps) * step));
          for (let tx = 0; tx < taps; tx++) {
            const sx = Math.min(image.width - 1, left + Math.floor((x + (tx + 0.5) / taps) * step));
            const i = (sy * image.width + sx) * 3;
            r += image.data[i]!;
            g += image.data[i + 1]!;
            bl += image.data[i + 2]!;
          }
        }
        const o = (y * cropSize + (flip ? cropSize - 1 - x : x)) * 3;
        target[o] = r * weight - 1;
        target[o + 1] = g * weight - 1;
        target[o + 2] = bl * weight - 1;
      }
    }
  }
}
