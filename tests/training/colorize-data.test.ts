/**
 * The colorize data set: the Qt resource reader (on a resource file written here), GCompris
 * credits, Stellarium's ground bands, and the builder against fake packages holding every
 * catalogued photo (the fetch step is injected): splits, balance, credits, idempotence, atomicity.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COLORIZE_HELD_OUT,
  DIGIKAM_PHOTOS,
  GCOMPRIS_PHOTOS,
  MATE_PHOTOS,
  MATPLOTLIB_PHOTOS,
  OPENCV_PHOTOS,
  PALAPELI_PHOTOS,
  PLASMA_PHOTOS,
  SCENE_TAGS,
  SCRIBUS_PHOTOS,
  SKIMAGE_PHOTOS,
  SKLEARN_PHOTOS,
  STELLARIUM_LANDSCAPES,
  TUXPAINT_STARTERS,
  TUXPAINT_TEMPLATES,
  TUXTYPE_PHOTOS,
} from '../../training/data/colorize-catalog.ts';
import { COLORIZE_SOURCES, parseGcomprisCredits, photoOfFile } from '../../training/data/colorize-sources.ts';
import { buildColorize, type ColorizeDatasetRecord } from '../../training/data/colorize.ts';
import type { FetchPackage } from '../../training/data/debian-packages.ts';
import { parseQtResources } from '../../training/data/qt-resources.ts';
import { frameColumns, opaqueGround, readLandscape } from '../../training/data/stellarium-landscapes.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'colorize-data-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * A Qt resource file (rcc version 3) holding `files` by path; paths in `compressed` are stored
 * zlib-compressed. Directory children are numbered breadth-first and contiguously, as rcc does.
 */
function writeQtResources(files: Record<string, Buffer>, compressed: Set<string> = new Set()): Buffer {
  interface Dir {
    kind: 'dir';
    name: string;
    children: Map<string, Dir | { kind: 'file'; name: string; path: string }>;
  }
  const top: Dir = { kind: 'dir', name: '', children: new Map() };
  for (const path of Object.keys(files)) {
    const parts = path.split('/').filter(Boolean);
    let dir = top;
    for (const part of parts.slice(0, -1)) {
      if (!dir.children.has(part)) dir.children.set(part, { kind: 'dir', name: part, children: new Map() });
      dir = dir.children.get(part) as Dir;
    }
    dir.children.set(parts.at(-1)!, { kind: 'file', name: parts.at(-1)!, path });
  }
  const order: (Dir | { kind: 'file'; name: string; path: string })[] = [top];
  const firstChild = new Map<Dir, number>();
  for (let i = 0; i < order.length; i++) {
    const node = order[i]!;
    if (node.kind === 'dir') {
      firstChild.set(node, order.length);
      order.push(...node.children.values());
    }
  }
  const names: Buffer[] = [];
  const data: Buffer[] = [];
  let namesLength = 0;
  let dataLength = 0;
  const tree = Buffer.alloc(order.length * 22);
  order.forEach((node, i) => {
    const nameBytes = Buffer.from(node.name, 'utf16le').swap16();
    const name = Buffer.concat([Buffer.alloc(6), nameBytes]);
    name.writeUInt16BE(node.name.length, 0);
    tree.writeUInt32BE(i === 0 ? 0 : namesLength, i * 22);
    if (i > 0) {
      names.push(name);
      namesLength += name.length;
    }
    if (node.kind === 'dir') {
      tree.writeUInt16BE(0x02, i * 22 + 4);
      tree.writeUInt32BE(node.children.size, i * 22 + 6);
      tree.writeUInt32BE(firstChild.get(node)!, i * 22 + 10);
    } else {
      const raw = files[node.path]!;
      const zipped = compressed.has(node.path);
      const payload = zipped ? Buffer.concat([Buffer.alloc(4), deflateSync(raw)]) : raw;
      if (zipped) payload.writeUInt32BE(raw.length, 0);
      tree.writeUInt16BE(zipped ? 0x01 : 0, i * 22 + 4);
      tree.writeUInt32BE(dataLength, i * 22 + 10);
      const entry = Buffer.concat([Buffer.alloc(4), payload]);
      entry.writeUInt32BE(payload.length, 0);
      data.push(entry);
      dataLength += entry.length;
    }
  });
  const header = Buffer.alloc(24);
  header.write('qres', 0, 'latin1');
  header.writeUInt32BE(3, 4);
  const treeOffset = 24;
  const dataOffset = treeOffset + tree.length;
  const namesOffset = dataOffset + dataLength;
  header.writeUInt32BE(treeOffset, 8);
  header.writeUInt32BE(dataOffset, 12);
  header.writeUInt32BE(namesOffset, 16);
  return Buffer.concat([header, tree, ...data, ...names]);
}

describe('Qt resource files', () => {
  it('lists nested paths and reads stored and zlib-compressed entries', () => {
    const files = {
      '/app/a.txt': Buffer.from('alpha'),
      '/app/deep/b.bin': Buffer.from([1, 2, 3]),
      '/app/deep/readme': Buffer.from('x'.repeat(300)),
      '/top.txt': Buffer.from('τop'),
    };
    const resources = parseQtResources(writeQtResources(files, new Set(['/app/deep/readme'])));
    expect(resources.paths).toEqual(['/app/a.txt', '/app/deep/b.bin', '/app/deep/readme', '/top.txt']);
    for (const [path, bytes] of Object.entries(files)) expect(resources.read(path)).toEqual(bytes);
    expect(() => resources.read('/nope')).toThrow(/no resource \/nope/);
  });

  it('refuses a file that is not one', () => {
    expect(() => parseQtResources(Buffer.from('not a resource file at all'))).toThrow(/no "qres" magic/);
  });
});

describe('GCompris credits', () => {
  it('reads author, licence and source per listed file', () => {
    const credits = parseGcomprisCredits(
      'Copyright: Someone, 2018\nLicense: CC-BY-SA 4.0\nFiles:\nkey.svg\n\nCopyright: Nicolas Perrault III\nLicense: CC0-1.0\nSource: https://commons.wikimedia.org/wiki/File:Great_Wall.JPG\nFiles:\nwonders/greatWallofChina.webp\nwonders/other.webp\n',
    );
    expect(credits.get('wonders/greatWallofChina.webp')).toEqual({
      author: 'Nicolas Perrault III',
      license: 'CC0-1.0',
      source: 'https://commons.wikimedia.org/wiki/File:Great_Wall.JPG',
    });
    expect(credits.get('wonders/other.webp')?.license).toBe('CC0-1.0');
    expect(credits.get('key.svg')).toEqual({ author: 'Someone, 2018', license: 'CC-BY-SA 4.0' });
  });
});

/** An RGBA texture whose top `sky` rows are transparent (one pixel of row `sky` half transparent when `feather`). */
async function texture(
  file: string,
  width: number,
  height: number,
  sky: number,
  colour: [number, number, number],
  feather = false,
): Promise<void> {
  const data = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...colour, Math.floor(p / width) < sky ? 0 : 255], p * 4);
  if (feather) data[(sky * width + 1) * 4 + 3] = 128;
  await mkdir(dirname(file), { recursive: true });
  await sharp(data, { raw: { width, height, channels: 4 } })
    .png()
    .toFile(file);
}

describe('Stellarium landscapes', () => {
  it('reads side textures in panorama order, or the one map of a spherical landscape', async () => {
    const dir = join(root, 'landscapes', 'garching');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'landscape.ini'),
      '[landscape]\nname = Garching\nauthor = Fabien Chéreau\ntype = old_style\nnbsidetex = 2\ntex0 = b.png\ntex1 = a.png\n',
    );
    expect(await readLandscape(dir)).toEqual({
      name: 'Garching',
      author: 'Fabien Chéreau',
      textures: [join(dir, 'b.png'), join(dir, 'a.png')],
    });
    await writeFile(join(dir, 'landscape.ini'), '[landscape]\nname = Field\ntype = spherical\nmaptex = map.png\n');
    expect((await readLandscape(dir)).textures).toEqual([join(dir, 'map.png')]);
    await writeFile(join(dir, 'landscape.ini'), '[landscape]\ntype = polygonal\n');
    await expect(readLandscape(dir)).rejects.toThrow(/no photo textures/);
  });

  it('keeps the rows below the lowest transparent pixel of any texture, joined left to right', async () => {
    const dir = join(root, 'ground');
    await texture(join(dir, 'left.png'), 6, 10, 3, [200, 0, 0]);
    await texture(join(dir, 'right.png'), 4, 10, 4, [0, 0, 200], true);
    const ground = await opaqueGround([join(dir, 'left.png'), join(dir, 'right.png')]);
    expect([ground.width, ground.height]).toEqual([10, 5]);
    expect([...ground.data.subarray(0, 3)]).toEqual([200, 0, 0]);
    expect([...ground.data.subarray(6 * 3, 6 * 3 + 3)]).toEqual([0, 0, 200]);
  });

  it('names frames so they are drawn as one photo', () => {
    expect(['stellarium-garching-frame2.jpg', 'tuxtype-kcas4.jpg', 'opencv-scenetext01.jpg'].map(photoOfFile)).toEqual([
      'stellarium-garching.jpg',
      'tuxtype-kcas4.jpg',
      'opencv-scenetext01.jpg',
    ]);
  });

  it('cuts a band into frames at most twice as wide as tall', () => {
    expect(frameColumns(4096, 455)).toEqual(
      [0, 1, 2, 3, 4].map((i) => ({
        left: Math.round((i * 4096) / 5),
        width: Math.round(((i + 1) * 4096) / 5) - Math.round((i * 4096) / 5),
      })),
    );
    expect(frameColumns(80, 18)).toEqual([
      { left: 0, width: 27 },
      { left: 27, width: 26 },
      { left: 53, width: 27 },
    ]);
    expect(frameColumns(30, 20)).toEqual([{ left: 0, width: 30 }]);
  });
});

// ---------------------------------------------------------------------------------------------
// The builder against fake packages.

const COPYRIGHT =
  'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: someone\nLicense: GPL-2+\n';
let colourIndex = 0;

async function photo(file: string, width = 40, height = 30): Promise<void> {
  colourIndex += 1;
  await mkdir(dirname(file), { recursive: true });
  const background = { r: (colourIndex * 47) % 256, g: (colourIndex * 91) % 256, b: (colourIndex * 13) % 256 };
  await sharp({ create: { width, height, channels: 3, background } }).toFile(file);
}

const webp = async () =>
  sharp({ create: { width: 32, height: 24, channels: 3, background: '#3366aa' } })
    .webp()
    .toBuffer();

/** Writes every catalogued photo of `name` (and a few things the rules leave out) under `dir`. */
async function fakePackage(name: string, dir: string): Promise<void> {
  const each = async (photos: Record<string, unknown>, path: (n: string) => string) => {
    for (const n of Object.keys(photos)) await photo(join(dir, path(n)));
  };
  switch (name) {
    case 'plasma-workspace-wallpapers':
      for (const wallpaper of [...Object.keys(PLASMA_PHOTOS), 'Grey']) {
        const images = join(dir, 'usr/share/wallpapers', wallpaper, 'contents/images');
        await photo(join(images, '1280x800.jpg'), 64, 40);
        await photo(join(images, '2560x1600.jpg'), 128, 80);
        await photo(join(images, '1080x1920.jpg'), 45, 80);
        await writeFile(
          join(dir, 'usr/share/wallpapers', wallpaper, 'metadata.json'),
          JSON.stringify({ KPlugin: { Authors: [{ Name: `Author of ${wallpaper}` }], License: 'LGPLv3' } }),
        );
      }
      break;
    case 'mate-backgrounds':
      await each(MATE_PHOTOS, (n) => `usr/share/backgrounds/mate/nature/${n}.jpg`);
      break;
    case 'tuxpaint-data':
      await each(TUXPAINT_TEMPLATES, (n) => `usr/share/tuxpaint/templates/${n}.jpg`);
      await photo(join(dir, 'usr/share/tuxpaint/starters/reef-back.png'));
      await photo(join(dir, 'usr/share/tuxpaint/starters/skyline-sf-dusk-back.jpeg'));
      await photo(join(dir, 'usr/share/tuxpaint/starters/frog.png'));
      break;
    case 'tuxtype-data':
      await each(TUXTYPE_PHOTOS, (n) => `usr/share/tuxtype/images/${n}.jpg`);
      break;
    case 'gcompris-qt-data':
      for (const [activity, photos] of Object.entries(GCOMPRIS_PHOTOS)) {
        const resource = `/gcompris/src/activities/${activity}/resource`;
        const files: Record<string, Buffer> = {};
        for (const n of Object.keys(photos)) files[`${resource}/${n}.webp`] = await webp();
        const readme = activity === 'explore_monuments' ? `${resource}/README` : `${resource}/animals/README`;
        const listed = activity === 'explore_monuments' ? 'wonders/greatWallofChina.webp' : 'sheep.webp\ncat.webp';
        files[readme] = Buffer.from(
          `Copyright: Photographer of ${activity}\nLicense: CC0-1.0\nSource: https://example.org/${activity}\nFiles:\n${listed}\n`,
        );
        await mkdir(join(dir, 'usr/share/gcompris-qt/rcc'), { recursive: true });
        await writeFile(join(dir, 'usr/share/gcompris-qt/rcc', `${activity}.rcc`), writeQtResources(files, new Set([readme])));
      }
      break;
    case 'stellarium-data':
      for (const landscape of Object.keys(STELLARIUM_LANDSCAPES)) {
        const base = join(dir, 'usr/share/stellarium/landscapes', landscape);
        await texture(join(base, 't0.png'), 40, 30, 10, [30, 160, 40]);
        await texture(join(base, 't1.png'), 40, 30, 12, [30, 150, 40]);
        await writeFile(
          join(base, 'landscape.ini'),
          `[landscape]\nname = ${landscape}\nauthor = Author of ${landscape}\ntype = old_style\nnbsidetex = 2\ntex0 = t0.png\ntex1 = t1.png\n`,
        );
      }
      break;
    case 'opencv-doc':
      await each(OPENCV_PHOTOS, (n) => `usr/share/doc/opencv-doc/examples/${n}`);
      break;
    case 'python3-skimage':
      await each(SKIMAGE_PHOTOS, (n) => `usr/lib/python3/dist-packages/skimage/data/${n}`);
      break;
    case 'python-matplotlib-data':
      await each(MATPLOTLIB_PHOTOS, (n) => `usr/share/matplotlib/mpl-data/sample_data/${n}`);
      break;
    case 'python3-sklearn':
      await each(SKLEARN_PHOTOS, (n) => `usr/lib/python3/dist-packages/sklearn/datasets/images/${n}`);
      break;
    case 'palapeli-data':
      await each(PALAPELI_PHOTOS, (n) => `usr/share/palapeli/collection/${n}.jpg`);
      for (const n of Object.keys(PALAPELI_PHOTOS))
        await writeFile(
          join(dir, `usr/share/palapeli/collection/${n}.desktop`),
          `[Desktop Entry]\nName=${n}\nX-KDE-PluginInfo-Author=Photographer of ${n}\n`,
        );
      break;
    case 'digikam-data':
      await each(DIGIKAM_PHOTOS, (n) => `usr/share/digikam/${n}`);
      break;
    case 'scribus-template':
      await each(SCRIBUS_PHOTOS, (n) => `usr/share/scribus/templates/${n}`);
      break;
    default:
      throw new Error(`no fake for ${name}`);
  }
  await mkdir(join(dir, 'usr/share/doc', name), { recursive: true });
  await writeFile(join(dir, 'usr/share/doc', name, 'copyright'), COPYRIGHT);
}

let fetchCount = 0;
let packagesDir: string;

const fakeFetch: FetchPackage = async (name) => {
  fetchCount += 1;
  const dir = join(packagesDir, name);
  if (!(await readdir(dir).catch(() => undefined))) await fakePackage(name, dir);
  return {
    name,
    version: '1.0-1',
    root: dir,
    copyright: await readFile(join(dir, 'usr/share/doc', name, 'copyright'), 'utf8'),
    cleanup: async () => {},
  };
};

describe('buildColorize', () => {
  let outDir: string;
  let record: ColorizeDatasetRecord;
  const catalogue = [
    PLASMA_PHOTOS,
    MATE_PHOTOS,
    TUXPAINT_TEMPLATES,
    TUXPAINT_STARTERS,
    TUXTYPE_PHOTOS,
    ...Object.values(GCOMPRIS_PHOTOS),
    STELLARIUM_LANDSCAPES,
    OPENCV_PHOTOS,
    SKIMAGE_PHOTOS,
    MATPLOTLIB_PHOTOS,
    SKLEARN_PHOTOS,
    PALAPELI_PHOTOS,
    DIGIKAM_PHOTOS,
    SCRIBUS_PHOTOS,
  ];
  // Each fake landscape's 80×18 ground band is stored as 3 frames.
  const framesPerLandscape = 3;
  const extraFrames = Object.keys(STELLARIUM_LANDSCAPES).length * (framesPerLandscape - 1);
  const photoCount = catalogue.reduce((sum, photos) => sum + Object.keys(photos).length, 0);
  const total = photoCount + extraFrames;

  beforeAll(async () => {
    packagesDir = join(root, 'packages');
    outDir = join(root, 'data', 'colorize');
    record = await buildColorize({ outDir, fetchPackage: fakeFetch, maxSide: 48, testMaxSide: 32 });
  }, 120_000);

  it('stores every catalogued photo once, the held-out ones in test/', async () => {
    expect(record.counts).toEqual({ train: total - COLORIZE_HELD_OUT.length, test: COLORIZE_HELD_OUT.length });
    expect(record.photos).toEqual({ train: photoCount - COLORIZE_HELD_OUT.length, test: COLORIZE_HELD_OUT.length });
    expect((await readdir(join(outDir, 'test'))).sort()).toEqual(COLORIZE_HELD_OUT.map((stem) => `${stem}.jpg`).sort());
    expect(await readdir(join(outDir, 'train'))).toHaveLength(total - COLORIZE_HELD_OUT.length);
    expect(record.sources.map((s) => s.package)).toEqual(COLORIZE_SOURCES.map((s) => s.package));
    expect(await readdir(dirname(outDir))).toEqual(['colorize']); // no staging folder left
  });

  it('counts the balance per tag and split, a panorama once', () => {
    for (const tag of SCENE_TAGS) {
      const tagged = catalogue.reduce((sum, photos) => sum + Object.values(photos).filter((tags) => tags.includes(tag)).length, 0);
      expect(record.balance.train[tag] + record.balance.test[tag], tag).toBe(tagged);
    }
    const files = record.sources.flatMap((s) => s.files);
    expect(record.balance.test.people).toBe(files.filter((f) => f.split === 'test' && f.tags.includes('people')).length);
  });

  it('records each photo with the credit its package states', () => {
    const files = new Map(record.sources.flatMap((s) => s.files.map((f) => [f.stem, f])));
    expect(files.get('gcompris-greatWallofChina')).toMatchObject({
      split: 'test',
      author: 'Photographer of explore_monuments',
      license: 'CC0-1.0',
      source: 'https://example.org/explore_monuments',
    });
    expect(files.get('gcompris-sheep')).toMatchObject({ author: 'Photographer of explore_farm_animals', license: 'CC0-1.0' });
    expect(files.get('gcompris-bison')?.license).toBeUndefined(); // not in its README
    expect(files.get('plasma-Path')).toMatchObject({
      path: 'usr/share/wallpapers/Path/contents/images/2560x1600.jpg',
      author: 'Author of Path',
      license: 'LGPLv3',
    });
    expect(files.has('plasma-Grey')).toBe(false);
    expect(files.get('palapeli-castle-maintenon')?.author).toBe('Photographer of castle-maintenon');
    expect(files.get('tuxpaint-reef-back')?.license).toBe('public-domain');
    expect(files.has('tuxpaint-frog')).toBe(false);
    expect(files.get('stellarium-garching-frame2')).toMatchObject({
      author: 'Author of garching',
      tags: ['vegetation'],
      path: expect.stringContaining('frame 2 of 3'),
    });
    expect(record.sources.find((s) => s.package === 'opencv-doc')).toMatchObject({
      version: '1.0-1',
      license: 'GPL-2+',
      copyrightFile: '/usr/share/doc/opencv-doc/copyright',
    });
  });

  it('stores 4:4:4 JPEGs, training photos at maxSide, held-out ones at testMaxSide, a panorama as frames of its ground', async () => {
    const train = await sharp(join(outDir, 'train', 'plasma-Path.jpg')).metadata();
    expect([train.width, train.height, train.chromaSubsampling]).toEqual([48, 30, '4:4:4']);
    const test = await sharp(join(outDir, 'test', 'tuxtype-kcas4.jpg')).metadata();
    expect([test.width, test.height]).toEqual([32, 24]);
    // The band is 80 × 18 (the rows below 12 sky rows); its middle frame is 26 wide.
    const frame = await sharp(join(outDir, 'train', 'stellarium-garching-frame2.jpg')).metadata();
    expect([frame.width, frame.height]).toEqual([26, 18]);
  });

  it('is a no-op when rebuilt with the same sizes, and fails cleanly when a catalogued photo is missing', async () => {
    const fetched = fetchCount;
    expect(await buildColorize({ outDir, fetchPackage: fakeFetch, maxSide: 48, testMaxSide: 32 })).toEqual(record);
    expect(fetchCount).toBe(fetched);
    await rm(join(packagesDir, 'mate-backgrounds', 'usr/share/backgrounds/mate/nature/Dune.jpg'));
    const other = join(root, 'other', 'colorize');
    await expect(buildColorize({ outDir: other, fetchPackage: fakeFetch })).rejects.toThrow(/mate-backgrounds 1\.0-1: Dune not found/);
    expect(await readdir(dirname(other)).catch(() => [])).toEqual([]);
  });
});
