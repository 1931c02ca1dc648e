/**
 * Evaluation of colourisation on held-out colour photos made grey (`npm run eval -- colorize`).
 *
 * Each held-out photo loses its chroma (CIELAB a* = b* = 0, L* kept) and goes through the model
 * as the server would run it. Three rows, per photo and over all photos:
 *
 * - `grey`: the grey input itself, the floor a colouriser must beat;
 * - `l1`: the same U-Net trained on L1 alone (`--l1-only <model folder>`), to show what the GAN adds;
 * - `gan`: the model under evaluation.
 *
 * Measures (color-metrics.ts): PSNR against the original colours; chroma error √(Δa*² + Δb*²);
 * colourfulness as a share of the originals' (per photo its own ratio; over all photos
 * Σ output / Σ original); grey SSIM (ssim.ts) of the output against the grey input: the structure
 * a colouriser must not touch. Plus the time of one 1024² translation, and a contact sheet.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { composeGrid, type RawImage } from '../../server/shared.ts';
import { readImageFolder, type RgbImage } from '../data/image-folder.ts';
import { chromaError, colourfulness, psnr } from './color-metrics.ts';
import { labToRgb, rgbToLab } from './color-transfer.ts';
import { ssim, toGray } from './ssim.ts';
import { loadTranslator } from './translator.ts';

export const COLORIZE_ROWS = ['grey', 'l1', 'gan'] as const;
export type ColorizeRow = (typeof COLORIZE_ROWS)[number];

export const COLORIZE_TARGETS = { colourfulnessRatio: 0.6, greySsim: 0.95 } as const;

export interface ColorizeEvalOptions {
  /** Data set folder; its test/ photos are scored. Default data/colorize. */
  dataDir?: string;
  /** A model folder trained on L1 alone, for the `l1` row. */
  l1Only?: string;
  /** Contact sheet PNG. Default <modelDir>/contact-sheet.png. */
  contactSheet?: string;
  /** Side of the square image timed once the session is warm (0: no timing). Default 1024. */
  timingSide?: number;
}

export interface RowScores {
  psnr: number[];
  chromaError: number[];
  colourfulnessRatio: number[];
  greySsim: number[];
  /** Means over photos (PSNR, chroma error, SSIM) and Σ output / Σ original colourfulness. */
  mean: { psnr: number; chromaError: number; colourfulnessRatio: number; greySsim: number };
}

export interface ColorizeTargets {
  colourfulnessRatio: boolean;
  psnrNotBelowGrey: boolean;
  chromaErrorBelowGrey: boolean;
  greySsim: boolean;
  met: boolean;
}

export interface ColorizeEvalReport {
  model: string;
  l1Only?: string;
  photos: string[];
  /** Colourfulness of each original photo. */
  originalColourfulness: number[];
  rows: Partial<Record<ColorizeRow, RowScores>> & Record<'grey' | 'gan', RowScores>;
  targets: ColorizeTargets;
  /** Milliseconds of one timingSide² translation (median of 3, warm session), if timed. */
  timing?: { side: number; milliseconds: number };
  contactSheet: string;
}

/** The photo with its chroma removed: L* kept, a* = b* = 0. */
export function greyscaleInLab(photo: RgbImage): RgbImage {
  const lab = rgbToLab(photo);
  for (let i = 0; i < lab.length; i += 3) lab[i + 1] = lab[i + 2] = 0;
  return labToRgb(lab, photo.width, photo.height, photo.name);
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function score(outputs: RgbImage[], originals: RgbImage[], greys: RgbImage[]): RowScores {
  const psnrs = outputs.map((out, i) => psnr(out, originals[i]!));
  const chroma = outputs.map((out, i) => chromaError(out, originals[i]!));
  const colour = outputs.map(colourfulness);
  const originalColour = originals.map(colourfulness);
  const ssims = outputs.map((out, i) => ssim(toGray(greys[i]!), toGray(out), out.width, out.height));
  return {
    psnr: psnrs,
    chromaError: chroma,
    colourfulnessRatio: colour.map((c, i) => c / originalColour[i]!),
    greySsim: ssims,
    mean: {
      psnr: mean(psnrs),
      chromaError: mean(chroma),
      colourfulnessRatio: colour.reduce((a, b) => a + b, 0) / originalColour.reduce((a, b) => a + b, 0),
      greySsim: mean(ssims),
    },
  };
}

async function translateAll(modelDir: string, images: RgbImage[], timingSide = 0): Promise<{ outputs: RgbImage[]; milliseconds?: number }> {
  const translator = await loadTranslator(modelDir);
  try {
    const outputs: RgbImage[] = [];
    for (const image of images) outputs.push(await translator.translate(image));
    if (timingSide === 0) return { outputs };
    const probe = await resized(images[0]!, timingSide, timingSide);
    await translator.translate(probe);
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      await translator.translate(probe);
      times.push(performance.now() - started);
    }
    return { outputs, milliseconds: times.sort((a, b) => a - b)[1]! };
  } finally {
    await translator.release();
  }
}

async function resized(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'cover' })
    .raw()
    .toBuffer();
  return { name: image.name, width, height, data: new Uint8Array(data) };
}

const TILE_WIDTH = 320;

/** One row per photo: grey | (L1 only) | coloured | original. */
async function writeContactSheet(file: string, rows: RgbImage[][]): Promise<void> {
  const height = Math.round((TILE_WIDTH * rows[0]![0]!.height) / rows[0]![0]!.width);
  const tiles: RawImage[] = [];
  for (const row of rows) {
    for (const image of row) {
      const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .resize(TILE_WIDTH, height, { fit: 'contain', background: '#ffffff' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      tiles.push({ data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 });
    }
  }
  const grid = composeGrid(tiles, { columns: rows[0]!.length, rows: rows.length });
  await mkdir(dirname(file), { recursive: true });
  await sharp(grid.data, { raw: { width: grid.width, height: grid.height, channels: 3 } })
    .png()
    .toFile(file);
}

/** Colours the held-out photos made grey with the model (and the L1-only one) and scores every row. */
export async function runColorizeEval(modelDir: string, options: ColorizeEvalOptions = {}): Promise<ColorizeEvalReport> {
  const dataDir = options.dataDir ?? 'data/colorize';
  const originals = await readImageFolder(join(dataDir, 'test')).catch((error: Error) => {
    throw new Error(`${error.message}\nbuild the dataset first: npm run data -- colorize`);
  });
  const greys = originals.map(greyscaleInLab);
  const gan = await translateAll(modelDir, greys, options.timingSide ?? 1024);
  const l1 = options.l1Only === undefined ? undefined : (await translateAll(options.l1Only, greys)).outputs;

  const rows: ColorizeEvalReport['rows'] = { grey: score(greys, originals, greys), gan: score(gan.outputs, originals, greys) };
  if (l1) rows.l1 = score(l1, originals, greys);
  const partial = {
    colourfulnessRatio: rows.gan.mean.colourfulnessRatio >= COLORIZE_TARGETS.colourfulnessRatio,
    psnrNotBelowGrey: rows.gan.mean.psnr >= rows.grey.mean.psnr,
    chromaErrorBelowGrey: rows.gan.mean.chromaError < rows.grey.mean.chromaError,
    greySsim: rows.gan.mean.greySsim >= COLORIZE_TARGETS.greySsim,
  };
  const targets = { ...partial, met: Object.values(partial).every(Boolean) };

  const contactSheet = options.contactSheet ?? join(modelDir, 'contact-sheet.png');
  await writeContactSheet(
    contactSheet,
    originals.map((original, i) => [greys[i]!, ...(l1 ? [l1[i]!] : []), gan.outputs[i]!, original]),
  );
  return {
    model: modelDir,
    ...(options.l1Only ? { l1Only: options.l1Only } : {}),
    photos: originals.map((p) => p.name),
    originalColourfulness: originals.map(colourfulness),
    rows,
    targets,
    ...(gan.milliseconds === undefined ? {} : { timing: { side: options.timingSide ?? 1024, milliseconds: gan.milliseconds } }),
    contactSheet,
  };
}

const ROW_LABELS: Record<ColorizeRow, string> = { grey: 'grey input', l1: 'L1 only', gan: 'L1 + GAN' };

/** The report as `npm run eval` prints it: per photo and mean, each row, then the targets. */
export function formatColorizeEval(report: ColorizeEvalReport): string {
  const rows = COLORIZE_ROWS.filter((row) => report.rows[row] !== undefined);
  const cells = (photo: number | 'mean') =>
    rows.map((row) => {
      const s = report.rows[row]!;
      const pick = (values: number[], overall: number) => (photo === 'mean' ? overall : values[photo]!);
      return `${pick(s.psnr, s.mean.psnr).toFixed(2)} | ${pick(s.chromaError, s.mean.chromaError).toFixed(2)} | ${(100 * pick(s.colourfulnessRatio, s.mean.colourfulnessRatio)).toFixed(0)} % | ${pick(s.greySsim, s.mean.greySsim).toFixed(3)}`;
    });
  const header = `| photo | ${rows.map((row) => `${ROW_LABELS[row]}: PSNR dB | chroma err | colourful | grey SSIM`).join(' | ')} |`;
  const rule = `| --- |${' --- | --- | --- | --- |'.repeat(rows.length)}`;
  const perPhoto = report.photos.map((name, i) => `| ${name} | ${cells(i).join(' | ')} |`);
  const overall = `| **mean of ${report.photos.length}** | ${cells('mean').join(' | ')} |`;
  const { targets } = report;
  const gan = report.rows.gan.mean;
  const grey = report.rows.grey.mean;
  const mark = (met: boolean) => (met ? 'met' : 'MISSED');
  return [
    `colorize eval: ${report.photos.length} held-out photos made grey (L* kept), model ${report.model}${report.l1Only ? `, L1 only ${report.l1Only}` : ' (no --l1-only model: its row is left out)'}`,
    "PSNR against the original colours; chroma error = mean √(Δa*² + Δb*²); colourful = colourfulness (Hasler & Süsstrunk) as a share of the original's (mean row: Σ output / Σ original); grey SSIM of the output against the grey input",
    header,
    rule,
    ...perPhoto,
    overall,
    `targets: colourfulness ≥ ${100 * COLORIZE_TARGETS.colourfulnessRatio} % (${(100 * gan.colourfulnessRatio).toFixed(0)} %: ${mark(targets.colourfulnessRatio)}), ` +
      `PSNR not below the grey input's (${gan.psnr.toFixed(2)} vs ${grey.psnr.toFixed(2)} dB: ${mark(targets.psnrNotBelowGrey)}), ` +
      `chroma error below the grey input's (${gan.chromaError.toFixed(2)} vs ${grey.chromaError.toFixed(2)}: ${mark(targets.chromaErrorBelowGrey)}), ` +
      `grey SSIM ≥ ${COLORIZE_TARGETS.greySsim} (${gan.greySsim.toFixed(3)}: ${mark(targets.greySsim)})`,
    ...(report.timing
      ? [`one ${report.timing.side}² translation: ${report.timing.milliseconds.toFixed(0)} ms (onnxruntime, warm session, median of 3)`]
      : []),
    `contact sheet (grey | ${report.l1Only ? 'L1 only | ' : ''}L1 + GAN | original): ${report.contactSheet}`,
  ].join('\n');
}
