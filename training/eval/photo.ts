/**
 * Evaluation of photo → anime translation on held-out photos (`npm run eval -- photo2anime`).
 *
 * Style: the SWD ratio SWD(x, anime) / SWD(photos, anime) (swd.ts), against every painted scene of
 * the anime set: below 1 the outputs are closer to the anime style than the photos were. Over the
 * whole held-out set (the headline figure) and photo by photo.
 *
 * Content: mean SSIM between the grey input and the grey output (ssim.ts).
 *
 * Two baselines in the same table, which a learned model must beat: Reinhard colour transfer to
 * the anime set's Lab statistics (color-transfer.ts) and a hand-made cartoon filter
 * (cartoon-filter.ts). Every image is scored at most `evalSide` pixels on its long side, so photos
 * and anime scenes are compared at one scale.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { composeGrid, type RawImage } from '../../server/shared.ts';
import { readImageFolder, type RgbImage } from '../data/image-folder.ts';
import { cartoonFilter } from './cartoon-filter.ts';
import { labStats, reinhardTransfer } from './color-transfer.ts';
import { ssim, toGray } from './ssim.ts';
import { type SwdOptions, slicedWasserstein, toPlanar } from './swd.ts';
import { loadTranslator } from './translator.ts';

export interface PhotoEvalOptions {
  /** Dataset folder: CycleGAN layout, or photos only in test/ (photoEvalFolders). Default data/photo2anime. */
  dataDir?: string;
  /** Where the contact sheet PNG goes. Default <modelDir>/contact-sheet.png. */
  contactSheet?: string;
  /** Longest side every image is scored at. Default 512. */
  evalSide?: number;
  swd?: SwdOptions;
}

/** One method's scores: the translation, or a baseline. */
export interface MethodScores {
  /** SWD ratio over the whole held-out set. */
  swdRatio: number;
  /** SWD ratio of each photo alone, in photo order. */
  swdRatioPerPhoto: number[];
  /** Mean grey SSIM with the input, and per photo. */
  ssim: number;
  ssimPerPhoto: number[];
}

export const PHOTO_METHODS = ['translated', 'reinhard', 'cartoon'] as const;
export type PhotoMethod = (typeof PHOTO_METHODS)[number];

export interface PhotoEvalTargets {
  /** The translation's SWD ratio over Reinhard's: at most 0.75. */
  swdVsReinhard: number;
  swdVsReinhardMet: boolean;
  /** Below the cartoon filter's SWD ratio. */
  swdBelowCartoon: boolean;
  ssimMean: number;
  ssimMeanMet: boolean;
  ssimMin: number;
  ssimMinMet: boolean;
  met: boolean;
}

export interface PhotoEvalReport {
  model: string;
  photos: string[];
  animeImages: number;
  evalSide: number;
  /** SWD×1e3 of the untouched photos to the anime set: the ratios' denominator. */
  swdPhotos: number;
  methods: Record<PhotoMethod, MethodScores>;
  targets: PhotoEvalTargets;
  contactSheet: string;
}

export const PHOTO_TARGETS = { swdVsReinhard: 0.75, ssimMean: 0.62, ssimMin: 0.45 } as const;
const TILE_WIDTH = 320;

async function fitWithin(image: RgbImage, side: number): Promise<RgbImage> {
  if (Math.max(image.width, image.height) <= side) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(side, side, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { name: image.name, width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

const PHOTO2ANIME_DATA = 'data/photo2anime';

const isFolder = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() === true;

/**
 * Where a data folder's held-out photos and anime scenes are. A CycleGAN-layout set has both
 * (testA/, trainB/); a set of photos only (test/ and no testA/, as data/independent)
 * is scored against photo2anime's anime scenes, the style the model was trained towards.
 */
export async function photoEvalFolders(dataDir: string): Promise<{ photos: string; anime: string }> {
  if (!(await isFolder(join(dataDir, 'testA'))) && (await isFolder(join(dataDir, 'test'))))
    return { photos: join(dataDir, 'test'), anime: PHOTO2ANIME_DATA };
  return { photos: join(dataDir, 'testA'), anime: dataDir };
}

async function readScaledFolder(dir: string, side: number, optional = false): Promise<RgbImage[]> {
  if (optional && (await readdir(dir).catch(() => [])).length === 0) return [];
  return Promise.all((await readImageFolder(dir)).map((image) => fitWithin(image, side)));
}

async function tile(image: RgbImage, height: number): Promise<RawImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(TILE_WIDTH, height, { fit: 'contain', background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** Rows of input | model output | Reinhard | cartoon filter, one row per held-out photo. */
async function writeContactSheet(file: string, rows: RgbImage[][]): Promise<void> {
  const first = rows[0]![0]!;
  const height = Math.round((TILE_WIDTH * first.height) / first.width);
  const tiles: RawImage[] = [];
  for (const row of rows) for (const image of row) tiles.push(await tile(image, height));
  const columns = rows[0]!.length;
  const grid = composeGrid(tiles, { columns, rows: rows.length });
  await mkdir(dirname(file), { recursive: true });
  await sharp(grid.data, { raw: { width: grid.width, height: grid.height, channels: 3 } })
    .png()
    .toFile(file);
}

/**
 * Translates the held-out photos (testA, or test/ of a photos-only set) with the model folder
 * through onnxruntime and scores them and both baselines against the whole anime set (trainB +
 * testB: with a handful of painted scenes, the style target is the domain; what must generalise is
 * the photos, never trained on).
 */
export async function runPhotoEval(modelDir: string, options: PhotoEvalOptions = {}): Promise<PhotoEvalReport> {
  const folders = await photoEvalFolders(options.dataDir ?? PHOTO2ANIME_DATA);
  const evalSide = options.evalSide ?? 512;
  const [photos, trainAnime, testAnime] = await Promise.all([
    readScaledFolder(folders.photos, evalSide),
    readScaledFolder(join(folders.anime, 'trainB'), evalSide),
    readScaledFolder(join(folders.anime, 'testB'), evalSide, true),
  ]).catch((error: Error) => {
    throw new Error(`${error.message}\nbuild the dataset first: npm run data -- photo2anime`);
  });
  const anime = [...trainAnime, ...testAnime];
  const translator = await loadTranslator(modelDir);
  const outputs: Record<PhotoMethod, RgbImage[]> = { translated: [], reinhard: [], cartoon: [] };
  try {
    for (const photo of photos) outputs.translated.push(await translator.translate(photo));
  } finally {
    await translator.release();
  }
  const animeStats = labStats(anime);
  outputs.reinhard = photos.map((photo) => reinhardTransfer(photo, animeStats));
  for (const photo of photos) outputs.cartoon.push(await cartoonFilter(photo));

  const animePlanar = anime.map(toPlanar);
  const swdTo = (set: RgbImage[]) => slicedWasserstein(set.map(toPlanar), animePlanar, options.swd).mean;
  const swdPhotos = swdTo(photos);
  const swdPhotoAlone = photos.map((photo) => swdTo([photo]));
  const score = (images: RgbImage[]): MethodScores => {
    const ssimPerPhoto = images.map((out, i) => ssim(toGray(photos[i]!), toGray(out), out.width, out.height));
    return {
      swdRatio: swdTo(images) / swdPhotos,
      swdRatioPerPhoto: images.map((image, i) => swdTo([image]) / swdPhotoAlone[i]!),
      ssim: ssimPerPhoto.reduce((a, b) => a + b, 0) / ssimPerPhoto.length,
      ssimPerPhoto,
    };
  };
  const methods = { translated: score(outputs.translated), reinhard: score(outputs.reinhard), cartoon: score(outputs.cartoon) };

  const { translated, reinhard, cartoon } = methods;
  const swdVsReinhard = translated.swdRatio / reinhard.swdRatio;
  const ssimMin = Math.min(...translated.ssimPerPhoto);
  const partial = {
    swdVsReinhard,
    swdVsReinhardMet: swdVsReinhard <= PHOTO_TARGETS.swdVsReinhard,
    swdBelowCartoon: translated.swdRatio < cartoon.swdRatio,
    ssimMean: translated.ssim,
    ssimMeanMet: translated.ssim >= PHOTO_TARGETS.ssimMean,
    ssimMin,
    ssimMinMet: ssimMin >= PHOTO_TARGETS.ssimMin,
  };
  const targets = { ...partial, met: partial.swdVsReinhardMet && partial.swdBelowCartoon && partial.ssimMeanMet && partial.ssimMinMet };

  const contactSheet = options.contactSheet ?? join(modelDir, 'contact-sheet.png');
  await writeContactSheet(
    contactSheet,
    photos.map((p, i) => [p, outputs.translated[i]!, outputs.reinhard[i]!, outputs.cartoon[i]!]),
  );
  return {
    model: modelDir,
    photos: photos.map((p) => p.name),
    animeImages: anime.length,
    evalSide,
    swdPhotos,
    methods,
    targets,
    contactSheet,
  };
}

/** The report as `npm run eval` prints it: a per-photo table, the means, and the targets. */
export function formatPhotoEval(report: PhotoEvalReport): string {
  const f = (v: number) => v.toFixed(3);
  const { methods, targets } = report;
  const header = `| photo | ${PHOTO_METHODS.map((m) => `SWD ratio ${m}`).join(' | ')} | ${PHOTO_METHODS.map((m) => `SSIM ${m}`).join(' | ')} |`;
  const rule = `| --- | ${PHOTO_METHODS.map(() => '---').join(' | ')} | ${PHOTO_METHODS.map(() => '---').join(' | ')} |`;
  const rows = report.photos.map(
    (name, i) =>
      `| ${name} | ${PHOTO_METHODS.map((m) => f(methods[m].swdRatioPerPhoto[i]!)).join(' | ')} | ${PHOTO_METHODS.map((m) => f(methods[m].ssimPerPhoto[i]!)).join(' | ')} |`,
  );
  const all = `| **all ${report.photos.length}** | ${PHOTO_METHODS.map((m) => `**${f(methods[m].swdRatio)}**`).join(' | ')} | ${PHOTO_METHODS.map((m) => `**${f(methods[m].ssim)}**`).join(' | ')} |`;
  const mark = (met: boolean) => (met ? 'met' : 'MISSED');
  return [
    `photo2anime eval: ${report.photos.length} held-out photos vs ${report.animeImages} anime scenes, scored at ≤ ${report.evalSide} px (model ${report.model})`,
    `SWD ratio = SWD(x, anime) / SWD(photos, anime), lower is closer to the anime style; SSIM of grey input vs grey output`,
    header,
    rule,
    ...rows,
    all,
    `targets: SWD ratio ≤ ${PHOTO_TARGETS.swdVsReinhard} × Reinhard's (${f(targets.swdVsReinhard)}×: ${mark(targets.swdVsReinhardMet)}), below the cartoon filter's (${mark(targets.swdBelowCartoon)}), ` +
      `mean SSIM ≥ ${PHOTO_TARGETS.ssimMean} (${f(targets.ssimMean)}: ${mark(targets.ssimMeanMet)}), every photo ≥ ${PHOTO_TARGETS.ssimMin} (min ${f(targets.ssimMin)}: ${mark(targets.ssimMinMet)})`,
    `contact sheet (input | translated | Reinhard | cartoon filter): ${report.contactSheet}`,
  ].join('\n');
}
