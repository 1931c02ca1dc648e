/**
 * The photo2anime dataset builder against fake package folders (the fetch step is injected), the
 * Debian copyright summary, the no-apt-get message, and the image-folder crop sampler.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  debianPackageFetcher,
  NoDebianToolsError,
  summarizeCopyright,
  type FetchPackage,
  type UnpackedPackage,
} from '../../training/data/debian-packages.ts';
import { ImageFolderDataset, numberedFrames, type RgbImage } from '../../training/data/image-folder.ts';
import {
  buildPhoto2Anime,
  MATE_PHOTOS,
  PHOTO_TEST,
  PLASMA_PHOTOS,
  SKIMAGE_PHOTOS,
  type SourceRecord,
} from '../../training/data/photo2anime.ts';
import { seededRandom } from '../../training/data/random.ts';

const WALLPAPER_COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: plasma-workspace-wallpapers

Files: *
Copyright: 2014 KDE Visual Design Group
License: GPL-2+

Files: debian/*
Copyright: 2014 Someone
License: GPL-2+

License: GPL-2+
 This package is free software.
`;

const GAME_COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Renpy

Files: *
Copyright: 2004-2022 Tom Rothamel
License:   Expat

Files:     module/IMG_savepng.c
License:   Zlib
`;

let root: string;
let fetchCount: number;

async function solidImage(path: string, width: number, height: number, colour: string, alpha = false): Promise<void> {
  const background = alpha ? { r: 0, g: 0, b: 0, alpha: 0 } : colour;
  await sharp({ create: { width, height, channels: alpha ? 4 : 3, background } })
    .composite(
      alpha ? [{ input: { create: { width: width / 2, height: height / 2, channels: 4, background: colour } }, left: 0, top: 0 }] : [],
    )
    .toFile(path);
}

/** A fake plasma-workspace-wallpapers tree: every photo wallpaper, plus an abstract one to skip. */
async function fakeWallpapers(dir: string): Promise<void> {
  for (const name of [...PLASMA_PHOTOS, 'Altai']) {
    const images = join(dir, 'usr/share/wallpapers', name, 'contents/images');
    await mkdir(images, { recursive: true });
    await solidImage(join(images, '1280x800.jpg'), 128, 80, '#336699');
    await solidImage(join(images, '2560x1600.jpg'), 256, 160, '#336699'); // the largest landscape: chosen
    await solidImage(join(images, '1080x1920.jpg'), 90, 160, '#ff0000'); // portrait: never chosen
    await writeFile(
      join(dir, 'usr/share/wallpapers', name, 'metadata.json'),
      JSON.stringify({ KPlugin: { Authors: [{ Name: `Author of ${name}` }], License: 'LGPLv3' } }),
    );
  }
  await copyright(dir, 'plasma-workspace-wallpapers', WALLPAPER_COPYRIGHT);
}

async function copyright(dir: string, name: string, text: string): Promise<void> {
  await mkdir(join(dir, 'usr/share/doc', name), { recursive: true });
  await writeFile(join(dir, 'usr/share/doc', name, 'copyright'), text);
}

/** mate-backgrounds: the nature photos, and an abstract render to skip. */
async function fakeMate(dir: string): Promise<void> {
  const nature = join(dir, 'usr/share/backgrounds/mate/nature');
  await mkdir(nature, { recursive: true });
  for (const name of MATE_PHOTOS) await solidImage(join(nature, `${name}.jpg`), 200, 150, '#447744');
  await mkdir(join(dir, 'usr/share/backgrounds/mate/abstract'), { recursive: true });
  await solidImage(join(dir, 'usr/share/backgrounds/mate/abstract/Flow.png'), 200, 150, '#777777');
  await copyright(dir, 'mate-backgrounds', WALLPAPER_COPYRIGHT);
}

/** python3-skimage: its colour photos among grey test images. */
async function fakeSkimage(dir: string): Promise<void> {
  const data = join(dir, 'usr/lib/python3/dist-packages/skimage/data');
  await mkdir(data, { recursive: true });
  for (const file of [...SKIMAGE_PHOTOS, 'camera.png']) await solidImage(join(data, file), 100, 100, '#aa8844');
  await copyright(dir, 'python3-skimage', WALLPAPER_COPYRIGHT.replace('GPL-2+', 'BSD-3-clause'));
}

/** A fake renpy-thequestion tree: backgrounds, transparent sprites, and GUI art to skip. */
async function fakeGame(dir: string): Promise<void> {
  const images = join(dir, 'usr/share/games/renpy/the_question/game/images');
  await mkdir(images, { recursive: true });
  for (const place of ['club', 'lecturehall', 'meadow', 'uni']) await solidImage(join(images, `bg ${place}.jpg`), 200, 112, '#88cc44');
  for (const outfit of ['blue', 'green']) {
    for (const mood of ['giggle', 'normal', 'smile', 'surprised'])
      await solidImage(join(images, `sylvie ${outfit} ${mood}.png`), 60, 120, '#000080', true);
  }
  await mkdir(join(dir, 'usr/share/games/renpy/the_question/game/gui'), { recursive: true });
  await solidImage(join(dir, 'usr/share/games/renpy/the_question/game/gui/frame.png'), 40, 40, '#ffffff');
  await copyright(dir, 'renpy-thequestion', GAME_COPYRIGHT);
}

/** A fake renpy-demo tree: the concert illustrations (one transparent), photo backgrounds and a sprite to skip. */
async function fakeDemo(dir: string): Promise<void> {
  const images = join(dir, 'usr/share/games/renpy/demo/game/images');
  await mkdir(images, { recursive: true });
  for (const n of [1, 2]) await solidImage(join(images, `concert${n}.png`), 160, 90, '#cc4488');
  await solidImage(join(images, 'concert3.png'), 160, 90, '#cc4488', true);
  await solidImage(join(images, 'bg washington.jpg'), 160, 90, '#4488cc');
  await solidImage(join(images, 'eileen happy.png'), 60, 120, '#000080', true);
  await copyright(dir, 'renpy-demo', GAME_COPYRIGHT);
}

const VERSIONS: Record<string, string> = {
  'plasma-workspace-wallpapers': '4:5.27.5-2',
  'mate-backgrounds': '1.26.0-1',
  'python3-skimage': '0.19.3-8',
  'renpy-thequestion': '8.0.3+dfsg-1',
  'renpy-demo': '8.0.3+dfsg-1',
};

const fakeFetch: FetchPackage = async (name) => {
  fetchCount += 1;
  const packageRoot = join(root, 'packages', name);
  const copyrightText = await readFile(join(packageRoot, 'usr/share/doc', name, 'copyright'), 'utf8');
  const unpacked: UnpackedPackage = {
    name,
    version: VERSIONS[name]!,
    root: packageRoot,
    copyright: copyrightText,
    cleanup: async () => {},
  };
  return unpacked;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'photo-data-'));
  await fakeWallpapers(join(root, 'packages/plasma-workspace-wallpapers'));
  await fakeMate(join(root, 'packages/mate-backgrounds'));
  await fakeSkimage(join(root, 'packages/python3-skimage'));
  await fakeGame(join(root, 'packages/renpy-thequestion'));
  await fakeDemo(join(root, 'packages/renpy-demo'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('summarizeCopyright', () => {
  it('takes the licence of the "Files: *" stanza and lists every licence once', () => {
    expect(summarizeCopyright(GAME_COPYRIGHT)).toEqual({ mainLicense: 'Expat', licenses: ['Expat', 'Zlib'] });
    expect(summarizeCopyright(WALLPAPER_COPYRIGHT)).toEqual({ mainLicense: 'GPL-2+', licenses: ['GPL-2+'] });
    expect(summarizeCopyright('')).toEqual({ mainLicense: null, licenses: [] });
  });
});

describe('debianPackageFetcher', () => {
  it('explains how to use --dataA/--dataB where apt-get is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(root, 'no-such-bin');
    try {
      const error = await debianPackageFetcher(join(root, 'cache'))('plasma-workspace-wallpapers').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NoDebianToolsError);
      expect((error as Error).message).toContain('--dataA <photos dir> --dataB <anime dir>');
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('buildPhoto2Anime from (fake) Debian packages', () => {
  let outDir: string;

  beforeAll(async () => {
    fetchCount = 0;
    outDir = join(root, 'data/photo2anime');
    await buildPhoto2Anime({ outDir, fetchPackage: fakeFetch, maxSide: 64, testMaxSide: 32 });
  });

  it('writes the CycleGAN layout, holding out whole photos by name and no anime scene', async () => {
    const listing = async (split: string) => (await readdir(join(outDir, split))).sort();
    const photoCount = PLASMA_PHOTOS.length + MATE_PHOTOS.length + SKIMAGE_PHOTOS.length;
    expect(await listing('testA')).toEqual([...PHOTO_TEST].map((n) => `${n}.jpg`).sort());
    expect(await listing('trainA')).toHaveLength(photoCount - PHOTO_TEST.length);
    for (const skipped of ['Altai.jpg', 'Flow.jpg', 'camera.jpg']) expect(await listing('trainA')).not.toContain(skipped);
    expect(await listing('trainB')).toEqual([
      'bg-club.jpg',
      'bg-lecturehall.jpg',
      'bg-meadow.jpg',
      'bg-uni.jpg',
      'concert1.jpg',
      'concert2.jpg',
      'concert3.jpg',
    ]);
    expect(await listing('testB')).toEqual([]);
  });

  it('stores training images at maxSide and test photos at testMaxSide, transparency flattened onto white', async () => {
    const train = await sharp(join(outDir, 'trainA', 'Path.jpg')).metadata();
    expect([train.width, train.height]).toEqual([64, 40]); // the 256×160 landscape, not the portrait
    const test = await sharp(join(outDir, 'testA', 'Dune.jpg')).metadata();
    expect([test.width, test.height]).toEqual([32, 24]);
    const concert = await sharp(join(outDir, 'trainB', 'concert3.jpg'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([concert.info.width, concert.info.height, concert.info.channels]).toEqual([64, 36, 3]);
    const bottomRight = ((concert.info.height - 1) * concert.info.width + concert.info.width - 1) * 3;
    expect(concert.data[bottomRight]).toBeGreaterThan(245); // transparent → white
  });

  it('records packages, versions and licences in SOURCES.json', async () => {
    const sources = JSON.parse(await readFile(join(outDir, 'SOURCES.json'), 'utf8')) as {
      sources: SourceRecord[];
      counts: Record<string, number>;
    };
    expect(sources.counts).toEqual({ trainA: 21, testA: 6, trainB: 7, testB: 0 });
    expect(sources.sources.map((s) => [s.package, s.version, s.license])).toEqual([
      ['plasma-workspace-wallpapers', '4:5.27.5-2', 'GPL-2+'],
      ['mate-backgrounds', '1.26.0-1', 'GPL-2+'],
      ['python3-skimage', '0.19.3-8', 'BSD-3-clause'],
      ['renpy-thequestion', '8.0.3+dfsg-1', 'Expat'],
      ['renpy-demo', '8.0.3+dfsg-1', 'Expat'],
    ]);
    expect(sources.sources[0]!.files[0]).toEqual({
      path: 'usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg',
      author: 'Author of BytheWater',
      license: 'LGPLv3',
    });
    expect(sources.sources[2]!.files[0]).toEqual({
      path: 'usr/lib/python3/dist-packages/skimage/data/astronaut.png',
      license: 'CC0 or public domain (skimage.data docstrings)',
    });
    expect(sources.sources[4]!.files.map((f) => f.path)).not.toContain('usr/share/games/renpy/demo/game/images/bg washington.jpg');
  });

  it('is idempotent: a second run fetches nothing and keeps the files', async () => {
    const before = fetchCount;
    await buildPhoto2Anime({ outDir, fetchPackage: fakeFetch, maxSide: 64, testMaxSide: 32 });
    expect(fetchCount).toBe(before);
  });
});

describe('buildPhoto2Anime from two folders', () => {
  it('holds out a seeded fraction of each folder and records the folders', async () => {
    const dataA = join(root, 'folderA');
    const dataB = join(root, 'folderB');
    await mkdir(dataA, { recursive: true });
    await mkdir(dataB, { recursive: true });
    for (let i = 0; i < 5; i++) await solidImage(join(dataA, `a${i}.png`), 40, 30, '#123456');
    for (let i = 0; i < 4; i++) await solidImage(join(dataB, `b${i}.jpg`), 30, 40, '#654321');
    const outDir = join(root, 'from-folders');
    const record = await buildPhoto2Anime({ outDir, fetchPackage: fakeFetch, dataA, dataB, testFraction: 0.25 });
    expect(record.counts).toEqual({ trainA: 4, testA: 1, trainB: 3, testB: 1 });
    expect(record.sources).toEqual({ dataA, dataB });
    await expect(buildPhoto2Anime({ outDir, fetchPackage: fakeFetch, dataA })).rejects.toThrow(/--dataA and --dataB go together/);
  });
});

describe('ImageFolderDataset.sampleBatch', () => {
  // A 40×20 gradient: red grows left → right, green top → bottom.
  const width = 40;
  const height = 20;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data.set([Math.round((x / (width - 1)) * 255), Math.round((y / (height - 1)) * 255), 128], (y * width + x) * 3);
  const image: RgbImage = { name: 'gradient', width, height, data };
  const dataset = new ImageFolderDataset([image]);

  it('gives NHWC crops in [-1, 1], the same for the same seed', () => {
    const a = dataset.sampleBatch(3, { cropSize: 8, minWindowFraction: 0.4 }, seededRandom(7));
    const b = dataset.sampleBatch(3, { cropSize: 8, minWindowFraction: 0.4 }, seededRandom(7));
    expect(a).toHaveLength(3 * 8 * 8 * 3);
    expect(a).toEqual(b);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...a)).toBeLessThanOrEqual(1);
  });

  it('flips some crops left-right and keeps the orientation of others', () => {
    const crops = dataset.sampleBatch(32, { cropSize: 8 }, seededRandom(3));
    let flipped = 0;
    for (let b = 0; b < 32; b++) {
      const redAt = (x: number) => crops[(b * 64 + 4 * 8 + x) * 3]!;
      if (redAt(7) < redAt(0)) flipped += 1;
    }
    expect(flipped).toBeGreaterThan(4);
    expect(flipped).toBeLessThan(28);
  });

  it('covers larger windows when allowed: a whole-height window spans the full green range', () => {
    const crops = dataset.sampleBatch(1, { cropSize: 8, minWindowFraction: 1, flip: false }, seededRandom(1));
    const greenTop = crops[1]!;
    const greenBottom = crops[7 * 8 * 3 + 1]!;
    expect(greenBottom - greenTop).toBeGreaterThan(1.5);
  });

  it('rejects images smaller than the crop', () => {
    expect(() => dataset.sampleBatch(1, { cropSize: 32 }, seededRandom(1))).toThrow(/smaller than the 32 crop/);
  });

  it('samples uniformly over groups, so numbered frames of one scene weigh as one image', () => {
    const frame = (name: string, value: number): RgbImage => ({ name, width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(value) });
    const grouped = new ImageFolderDataset(
      [frame('concert1.jpg', 0), frame('concert2.jpg', 0), frame('concert3.jpg', 0), frame('bg-club.jpg', 255)],
      numberedFrames,
    );
    expect(grouped.groupCount).toBe(2);
    const random = seededRandom(11);
    let club = 0;
    for (let i = 0; i < 400; i++) if (grouped.sampleBatch(1, { cropSize: 8 }, random)[0]! > 0) club += 1;
    expect(club).toBeGreaterThan(160); // ≈ ½, not ¼
    expect(club).toBeLessThan(240);
    expect(numberedFrames('concert12.png')).toBe('concert.png');
    expect(numberedFrames('bg-club.jpg')).toBe('bg-club.jpg');
  });
});
