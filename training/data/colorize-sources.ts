/**
 * Where each package of the colorize data set keeps its photos, and what it says about them: the
 * lists of colorize-catalog.ts turned into candidates (a file, a resource inside a GCompris `.rcc`,
 * or a frame of a Stellarium panorama's ground), each with the author, licence and source its
 * package states. colorize.ts stores them.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import {
  DIGIKAM_PHOTOS,
  GCOMPRIS_PHOTOS,
  MATE_PHOTOS,
  MATPLOTLIB_PHOTOS,
  OPENCV_PHOTOS,
  PALAPELI_PHOTOS,
  PLASMA_PHOTOS,
  type SceneTag,
  SCRIBUS_PHOTOS,
  SKIMAGE_PHOTOS,
  SKLEARN_PHOTOS,
  STELLARIUM_LANDSCAPES,
  type TaggedPhotos,
  TUXPAINT_STARTERS,
  TUXPAINT_TEMPLATES,
  TUXTYPE_PHOTOS,
} from './colorize-catalog.ts';
import type { UnpackedPackage } from './debian-packages.ts';
import { type QtResources, readQtResources } from './qt-resources.ts';
import { frameColumns, opaqueGround, readLandscape } from './stellarium-landscapes.ts';

/** What a package states about one photo. */
export interface Credit {
  author?: string;
  license?: string;
  source?: string;
}

export interface PhotoCandidate extends Credit {
  /** Output file stem: `<source prefix>-<photo name>`, plus `-frame<i>` for a frame of a panorama. */
  stem: string;
  /** Where the photo is inside the package (a file, `file.rcc:/resource`, or a landscape folder). */
  path: string;
  tags: readonly SceneTag[];
  open(): Promise<Sharp>;
}

export interface PackageSource {
  package: string;
  select(pkg: UnpackedPackage): Promise<PhotoCandidate[]>;
}

/** A frame of a photo cut in several (a panorama's ground) is stored as `<photo>-frame<i>`. */
export const frameStem = (photo: string, index: number): string => `${photo}-frame${index}`;

/** The photo a stored file belongs to: its name without a frame's `-frame<i>`. */
export const photoOfFile = (fileName: string): string => fileName.replace(/-frame\d+(\.\w+)?$/, '$1');

const INPUT_PIXEL_LIMIT = 2 ** 26;

const stemOf = (name: string) => basename(name, extname(name)).replace(/[^A-Za-z0-9_-]+/g, '-');
const openFile = (file: string) => async () => sharp(file, { limitInputPixels: INPUT_PIXEL_LIMIT });

/**
 * Candidates for every photo of `photos` (name → tags), found at `locate(name)` inside the
 * package; a photo the package lacks is an error naming it (the lists are checked, not guessed).
 */
export async function catalogued(
  pkg: UnpackedPackage,
  prefix: string,
  photos: TaggedPhotos,
  locate: (name: string) => string | Promise<string>,
  credit: (name: string, file: string) => Credit | Promise<Credit> = () => ({}),
): Promise<PhotoCandidate[]> {
  const candidates: PhotoCandidate[] = [];
  const missing: string[] = [];
  for (const [name, tags] of Object.entries(photos)) {
    const relative = await Promise.resolve(locate(name)).catch(() => undefined);
    const file = relative === undefined ? undefined : join(pkg.root, relative);
    if (file === undefined || !(await stat(file).catch(() => undefined))?.isFile()) {
      missing.push(name);
      continue;
    }
    candidates.push({ stem: `${prefix}-${stemOf(name)}`, path: relative!, tags, open: openFile(file), ...(await credit(name, file)) });
  }
  if (missing.length > 0) throw new Error(`${pkg.name} ${pkg.version}: ${missing.join(', ')} not found`);
  return candidates;
}

/** The largest landscape-format image of a KDE wallpaper (`contents/images/WxH.ext`), relative to the package root. */
async function largestKdeWallpaper(pkg: UnpackedPackage, wallpaper: string): Promise<string> {
  const images = join('usr/share/wallpapers', wallpaper, 'contents/images');
  const sizes = (await readdir(join(pkg.root, images)))
    .map((file) => ({ file, match: /^(\d+)x(\d+)\.(jpe?g|png)$/i.exec(file) }))
    .filter((e) => e.match !== null)
    .map((e) => ({ file: e.file, width: Number(e.match![1]), height: Number(e.match![2]) }))
    .filter((s) => s.width >= s.height)
    .sort((a, b) => b.width * b.height - a.width * a.height);
  if (sizes.length === 0) throw new Error(`no landscape WxH image in ${images}`);
  return join(images, sizes[0]!.file);
}

/** Author and licence from a KDE wallpaper's metadata.json. */
async function kdeWallpaperCredit(pkg: UnpackedPackage, wallpaper: string): Promise<Credit> {
  const json = JSON.parse(await readFile(join(pkg.root, 'usr/share/wallpapers', wallpaper, 'metadata.json'), 'utf8').catch(() => '{}')) as {
    KPlugin?: { Authors?: { Name?: string }[]; License?: string };
  };
  const author = json.KPlugin?.Authors?.[0]?.Name;
  const license = json.KPlugin?.License;
  return { ...(author ? { author } : {}), ...(license ? { license } : {}) };
}

/** The author a KDE `.desktop` file names (palapeli's puzzles). */
async function desktopFileAuthor(file: string): Promise<Credit> {
  const text = await readFile(file.replace(/\.\w+$/, '.desktop'), 'utf8').catch(() => '');
  const author = /^X-KDE-PluginInfo-Author=(.+)$/m.exec(text)?.[1]?.trim();
  return author ? { author } : {};
}

/**
 * GCompris resource READMEs: blocks of `Copyright:`, `License:`, `Source:` and a `Files:` list,
 * separated by blank lines. Returns the credit of each listed file.
 */
export function parseGcomprisCredits(readme: string): Map<string, Credit> {
  const credits = new Map<string, Credit>();
  for (const block of readme.split(/\n\s*\n/)) {
    const field = (key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'mi').exec(block)?.[1]?.trim();
    const files =
      /^Files:\s*\n([\s\S]*)$/im
        .exec(block)?.[1]
        ?.split('\n')
        .map((line) => line.trim())
        .filter(Boolean) ?? [];
    const [author, license, source] = [field('Copyright'), field('License'), field('Source')];
    for (const file of files)
      credits.set(file, { ...(author ? { author } : {}), ...(license ? { license } : {}), ...(source ? { source } : {}) });
  }
  return credits;
}

const GCOMPRIS_RCC = 'usr/share/gcompris-qt/rcc';

/** A photo's credit from the nearest README above it (up to `root`), keyed by the path below that README's folder. */
function gcomprisCredit(resources: QtResources, root: string, path: string): Credit {
  for (
    let directory = path.slice(0, path.lastIndexOf('/'));
    directory.length >= root.length;
    directory = directory.slice(0, directory.lastIndexOf('/'))
  ) {
    if (!resources.paths.includes(`${directory}/README`)) continue;
    return parseGcomprisCredits(resources.read(`${directory}/README`).toString('utf8')).get(path.slice(directory.length + 1)) ?? {};
  }
  return {};
}

/** Photos inside one GCompris activity's resource file, credited from the README next to them. */
async function gcomprisActivity(pkg: UnpackedPackage, activity: string, photos: TaggedPhotos): Promise<PhotoCandidate[]> {
  const rccPath = join(GCOMPRIS_RCC, `${activity}.rcc`);
  const resources = await readQtResources(join(pkg.root, rccPath));
  const folder = `/gcompris/src/activities/${activity}/resource`;
  const missing: string[] = [];
  const candidates: PhotoCandidate[] = [];
  for (const [name, tags] of Object.entries(photos)) {
    const path = resources.paths.find((p) => p.startsWith(`${folder}/${name}.`) && /\.(webp|jpe?g|png)$/i.test(p));
    if (path === undefined) {
      missing.push(name);
      continue;
    }
    candidates.push({
      stem: `gcompris-${stemOf(name)}`,
      path: `${rccPath}:${path}`,
      tags,
      open: async () => sharp(resources.read(path)),
      ...gcomprisCredit(resources, folder, path),
    });
  }
  if (missing.length > 0) throw new Error(`${pkg.name} ${pkg.version}: ${activity}.rcc lacks ${missing.join(', ')}`);
  return candidates;
}

/** Each landscape's ground band, as frames `stellarium-<name>-frame<i>`. */
async function stellariumGround(pkg: UnpackedPackage, photos: TaggedPhotos): Promise<PhotoCandidate[]> {
  const candidates: PhotoCandidate[] = [];
  for (const [name, tags] of Object.entries(photos)) {
    const dir = join('usr/share/stellarium/landscapes', name);
    const landscape = await readLandscape(join(pkg.root, dir));
    const ground = await opaqueGround(landscape.textures);
    const frames = frameColumns(ground.width, ground.height);
    frames.forEach((frame, i) => {
      candidates.push({
        stem: frameStem(`stellarium-${name}`, i + 1),
        path: `${dir} (ground below the sky of ${landscape.textures.length} texture${landscape.textures.length > 1 ? 's' : ''}, frame ${i + 1} of ${frames.length})`,
        tags,
        ...(landscape.author ? { author: landscape.author } : {}),
        open: async () =>
          sharp(ground.data, { raw: { width: ground.width, height: ground.height, channels: 3 } }).extract({
            left: frame.left,
            top: 0,
            width: frame.width,
            height: ground.height,
          }),
      });
    });
  }
  return candidates;
}

const constant = (credit: Credit) => () => credit;

export const COLORIZE_SOURCES: readonly PackageSource[] = [
  {
    package: 'plasma-workspace-wallpapers',
    select: (pkg) =>
      catalogued(
        pkg,
        'plasma',
        PLASMA_PHOTOS,
        (n) => largestKdeWallpaper(pkg, n),
        (n) => kdeWallpaperCredit(pkg, n),
      ),
  },
  {
    package: 'mate-backgrounds',
    select: (pkg) => catalogued(pkg, 'mate', MATE_PHOTOS, (n) => `usr/share/backgrounds/mate/nature/${n}.jpg`),
  },
  {
    package: 'tuxpaint-data',
    select: async (pkg) => [
      ...(await catalogued(
        pkg,
        'tuxpaint',
        TUXPAINT_TEMPLATES,
        (n) => `usr/share/tuxpaint/templates/${n}.jpg`,
        constant({ author: 'Bill Kendrick (AUTHORS.txt)' }),
      )),
      ...(await catalogued(
        pkg,
        'tuxpaint',
        TUXPAINT_STARTERS,
        async (n) =>
          join(
            'usr/share/tuxpaint/starters',
            (await readdir(join(pkg.root, 'usr/share/tuxpaint/starters'))).find((f) => stemOf(f) === n) ?? n,
          ),
        constant({ author: 'NOAA (AUTHORS.txt)', license: 'public-domain' }),
      )),
    ],
  },
  {
    package: 'tuxtype-data',
    select: (pkg) =>
      catalogued(
        pkg,
        'tuxtype',
        TUXTYPE_PHOTOS,
        (n) => `usr/share/tuxtype/images/${n}.jpg`,
        constant({ source: 'Wikimedia Commons featured images, royalty free (README_IMAGES.TXT)' }),
      ),
  },
  {
    package: 'gcompris-qt-data',
    select: async (pkg) =>
      (await Promise.all(Object.entries(GCOMPRIS_PHOTOS).map(([activity, photos]) => gcomprisActivity(pkg, activity, photos)))).flat(),
  },
  { package: 'stellarium-data', select: (pkg) => stellariumGround(pkg, STELLARIUM_LANDSCAPES) },
  { package: 'opencv-doc', select: (pkg) => catalogued(pkg, 'opencv', OPENCV_PHOTOS, (n) => `usr/share/doc/opencv-doc/examples/${n}`) },
  {
    package: 'python3-skimage',
    select: (pkg) =>
      catalogued(
        pkg,
        'skimage',
        SKIMAGE_PHOTOS,
        (n) => `usr/lib/python3/dist-packages/skimage/data/${n}`,
        constant({ license: 'CC0 or public domain (skimage.data docstrings)' }),
      ),
  },
  {
    package: 'python-matplotlib-data',
    select: (pkg) => catalogued(pkg, 'matplotlib', MATPLOTLIB_PHOTOS, (n) => `usr/share/matplotlib/mpl-data/sample_data/${n}`),
  },
  {
    package: 'python3-sklearn',
    select: (pkg) =>
      catalogued(
        pkg,
        'sklearn',
        SKLEARN_PHOTOS,
        (n) => `usr/lib/python3/dist-packages/sklearn/datasets/images/${n}`,
        constant({ license: 'CC-BY-2.0 (datasets/images/README.txt)' }),
      ),
  },
  {
    package: 'palapeli-data',
    select: (pkg) =>
      catalogued(
        pkg,
        'palapeli',
        PALAPELI_PHOTOS,
        (n) => `usr/share/palapeli/collection/${n}.jpg`,
        (_n, file) => desktopFileAuthor(file),
      ),
  },
  { package: 'digikam-data', select: (pkg) => catalogued(pkg, 'digikam', DIGIKAM_PHOTOS, (n) => `usr/share/digikam/${n}`) },
  {
    package: 'scribus-template',
    select: (pkg) =>
      catalogued(
        pkg,
        'scribus',
        SCRIBUS_PHOTOS,
        (n) => `usr/share/scribus/templates/${n}`,
        constant({ author: 'Riku Leino', license: 'public-domain (debian/copyright)' }),
      ),
  },
];
