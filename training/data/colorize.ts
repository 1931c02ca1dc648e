/**
 * Builds the colorize data set, data/colorize/{train,test}/ plus SOURCES.json, from the colour
 * photos of thirteen Debian packages (colorize-catalog.ts lists them, colorize-sources.ts finds
 * them in their packages): the two allowed wallpaper packages, and photos that ship in software
 * that is not a wallpaper collection (educational programs, a planetarium's landscapes, a jigsaw
 * game, test-image sets, a photo manager, DTP templates). Pairs are made at training time
 * (data/pairs/), so the set is just photos.
 *
 * SOURCES.json records per package its version and licences, per photo its path in the package,
 * split, tags, and the author, licence and source the package states for it; and the balance
 * (photos per tag, per split). Training photos are stored at up to `maxSide`, held-out ones at
 * `testMaxSide` (what the eval colours), as 4:4:4 JPEGs: chroma subsampling would blur the very
 * thing this set is for. The build goes to a staging folder renamed into place, so an interrupted
 * build never leaves half a set; rerunning with the same builder version and sizes is a no-op.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sharp } from 'sharp';
import { COLORIZE_HELD_OUT, SCENE_TAGS, type SceneTag } from './colorize-catalog.ts';
import { COLORIZE_SOURCES, type Credit, photoOfFile } from './colorize-sources.ts';
import { type FetchPackage, type PackageProvenance, packageProvenance } from './debian-packages.ts';

export type Split = 'train' | 'test';

export interface PhotoRecord extends Credit {
  path: string;
  stem: string;
  split: Split;
  tags: readonly SceneTag[];
}

export interface ColorizeSourceRecord extends PackageProvenance {
  files: PhotoRecord[];
}

export interface ColorizeDatasetRecord {
  builder: string;
  maxSide: number;
  testMaxSide: number;
  sources: ColorizeSourceRecord[];
  /** Files per split (a panorama's frames count one each). */
  counts: Record<Split, number>;
  /** Photos per split, a panorama counting once. */
  photos: Record<Split, number>;
  /** Photos showing each tag, per split (a panorama counting once). */
  balance: Record<Split, Record<SceneTag, number>>;
  heldOut: string[];
}

export interface BuildColorizeOptions {
  /** Output folder, e.g. data/colorize. */
  outDir: string;
  maxSide?: number;
  testMaxSide?: number;
  /** How to get a Debian package (injected in tests; the real one uses apt-get). */
  fetchPackage: FetchPackage;
  log?: (line: string) => void;
}

const BUILDER_VERSION = 'colorize-v3';

/** Decodes (EXIF-rotated, alpha flattened onto white), downscales to `maxSide`, writes a 4:4:4 JPEG. */
export async function storePhoto(image: Sharp, target: string, maxSide: number): Promise<void> {
  await image
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toFile(target);
}

async function readExisting(outDir: string): Promise<ColorizeDatasetRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(outDir, 'SOURCES.json'), 'utf8')) as ColorizeDatasetRecord;
  } catch {
    return undefined;
  }
}

function emptyBalance(): Record<SceneTag, number> {
  return Object.fromEntries(SCENE_TAGS.map((tag) => [tag, 0])) as Record<SceneTag, number>;
}

/** Builds (or keeps) data/colorize and returns what SOURCES.json records. */
export async function buildColorize(options: BuildColorizeOptions): Promise<ColorizeDatasetRecord> {
  const { outDir, fetchPackage } = options;
  const maxSide = options.maxSide ?? 1024;
  const testMaxSide = options.testMaxSide ?? 512;
  const log = options.log ?? (() => {});
  const existing = await readExisting(outDir);
  if (existing?.builder === BUILDER_VERSION && existing.maxSide === maxSide && existing.testMaxSide === testMaxSide) {
    log(`${outDir} already built from ${existing.sources.map((s) => `${s.package} ${s.version}`).join(', ')}`);
    return existing;
  }

  const staging = `${outDir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const heldOut = new Set<string>(COLORIZE_HELD_OUT);
  const splits: Split[] = ['train', 'test'];
  for (const split of splits) await mkdir(join(staging, split), { recursive: true });
  try {
    const sources: ColorizeSourceRecord[] = [];
    const stems = new Set<string>();
    const counts: Record<Split, number> = { train: 0, test: 0 };
    const photos: Record<Split, Set<string>> = { train: new Set(), test: new Set() };
    const balance: Record<Split, Record<SceneTag, number>> = { train: emptyBalance(), test: emptyBalance() };
    for (const source of COLORIZE_SOURCES) {
      const pkg = await fetchPackage(source.package);
      try {
        const files: PhotoRecord[] = [];
        for (const { open, ...candidate } of await source.select(pkg)) {
          if (stems.has(candidate.stem)) throw new Error(`two photos named ${candidate.stem}`);
          stems.add(candidate.stem);
          const split: Split = heldOut.has(candidate.stem) ? 'test' : 'train';
          await storePhoto(await open(), join(staging, split, `${candidate.stem}.jpg`), split === 'test' ? testMaxSide : maxSide);
          counts[split] += 1;
          const photo = photoOfFile(candidate.stem);
          if (!photos[split].has(photo)) for (const tag of candidate.tags) balance[split][tag] += 1;
          photos[split].add(photo);
          files.push({ ...candidate, split });
        }
        sources.push({ ...packageProvenance(pkg), files });
        log(`${pkg.name} ${pkg.version}: ${files.length} photos`);
      } finally {
        await pkg.cleanup();
      }
    }
    const missing = [...heldOut].filter((stem) => !stems.has(stem));
    if (missing.length > 0) throw new Error(`held-out photos not found: ${missing.join(', ')}`);

    const record: ColorizeDatasetRecord = {
      builder: BUILDER_VERSION,
      maxSide,
      testMaxSide,
      sources,
      counts,
      photos: { train: photos.train.size, test: photos.test.size },
      balance,
      heldOut: [...heldOut],
    };
    await writeFile(join(staging, 'SOURCES.json'), `${JSON.stringify(record, null, 2)}\n`);
    await rm(outDir, { recursive: true, force: true });
    await mkdir(join(outDir, '..'), { recursive: true });
    await rename(staging, outDir);
    log(`built ${outDir}: train ${counts.train} files (${photos.train.size} photos), test ${counts.test}`);
    return record;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
