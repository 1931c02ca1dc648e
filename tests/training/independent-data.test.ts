/**
 * The independent evaluation set: its catalog shares no package with the training sets, the DEP-5
 * per-file credit, the builder against fake packages (the fetch step is injected: no network), and
 * the photo eval finding a photos-only set's test/ folder.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENE_TAGS } from '../../training/data/colorize-catalog.ts';
import { COLORIZE_SOURCES } from '../../training/data/colorize-sources.ts';
import { type FetchPackage, fileCopyright, packageProvenance } from '../../training/data/debian-packages.ts';
import { buildIndependent, type IndependentDatasetRecord } from '../../training/data/independent.ts';
import { INDEPENDENT_PHOTOS, INDEPENDENT_REVIEWED } from '../../training/data/independent-catalog.ts';
import { PHOTO2ANIME_SOURCES } from '../../training/data/photo2anime.ts';
import { photoEvalFolders } from '../../training/eval/photo.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'independent-data-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const photoEntries = Object.entries(INDEPENDENT_PHOTOS).flatMap(([pkg, photos]) =>
  Object.entries(photos).map(([file, tags]) => ({ pkg, file, tags })),
);

describe('the independent catalog', () => {
  const training = new Set([...COLORIZE_SOURCES, ...PHOTO2ANIME_SOURCES].map((source) => source.package));

  it('shares no package with any training set', () => {
    expect(training).toContain('plasma-workspace-wallpapers');
    expect(training).toContain('mate-backgrounds');
    expect(Object.keys(INDEPENDENT_REVIEWED).filter((pkg) => training.has(pkg))).toEqual([]);
  });

  it('takes photos only from reviewed packages, each with a reason', () => {
    for (const pkg of Object.keys(INDEPENDENT_PHOTOS)) expect(INDEPENDENT_REVIEWED[pkg]).toMatch(/\S/);
    for (const reason of Object.values(INDEPENDENT_REVIEWED)) expect(reason).toMatch(/\S/);
  });

  it('holds 10 to 20 photos, each tagged, covering the varied subjects an eval needs', () => {
    expect(photoEntries.length).toBeGreaterThanOrEqual(10);
    expect(photoEntries.length).toBeLessThanOrEqual(20);
    for (const { tags } of photoEntries) {
      expect(tags.length).toBeGreaterThan(0);
      expect(new Set(tags).size).toBe(tags.length);
      for (const tag of tags) expect(SCENE_TAGS).toContain(tag);
    }
    const shown = new Set(photoEntries.flatMap((e) => e.tags));
    for (const subject of ['sky', 'water', 'vegetation', 'buildings', 'stone', 'objects'] as const) expect(shown).toContain(subject);
  });
});

const DEP5 = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: wallpapers

Files: warty.png
Copyright: 2004, First Holder
           2006, Second Holder
License: CC-BY-SA-3.0

Files: 16.04/lake.jpg
 16.04/hill.jpg
Copyright: Jo Photographer, 2018
License: CC-BY-4.0

Files: *
Copyright: 2018, Packager
License: Expat

License: CC-BY-4.0
 Attribution 4.0 International
 .
 Files: not a field, an indented line of licence text
`;

describe('fileCopyright', () => {
  it("gives a file's holders and licence from the stanza naming it, under any upstream folder", () => {
    expect(fileCopyright(DEP5, 'lake.jpg')).toEqual({ holders: 'Jo Photographer, 2018', license: 'CC-BY-4.0' });
    expect(fileCopyright(DEP5, 'hill.jpg')).toEqual({ holders: 'Jo Photographer, 2018', license: 'CC-BY-4.0' });
    expect(fileCopyright(DEP5, 'warty.png')).toEqual({ holders: '2004, First Holder; 2006, Second Holder', license: 'CC-BY-SA-3.0' });
  });

  it('is undefined for a file only a wildcard covers, or a partial name', () => {
    expect(fileCopyright(DEP5, 'other.jpg')).toBeUndefined();
    expect(fileCopyright(DEP5, 'ake.jpg')).toBeUndefined();
    expect(fileCopyright(DEP5, 'not')).toBeUndefined();
  });
});

/** A fake package: a 600×400 photo (or the files given) under usr/share/backgrounds, and a DEP-5 file naming each. */
function fakeFetch(packagesDir: string, unlicensed = new Set<string>()): FetchPackage {
  return async (name) => {
    const dir = join(packagesDir, name);
    const files = Object.keys(INDEPENDENT_PHOTOS[name] ?? {});
    await mkdir(join(dir, 'usr/share/backgrounds'), { recursive: true });
    for (const [i, file] of files.entries())
      await sharp({ create: { width: 600, height: 400, channels: 3, background: { r: 40 + 10 * i, g: 120, b: 200 - 10 * i } } })
        .jpeg()
        .toFile(join(dir, 'usr/share/backgrounds', file));
    const stanzas = files
      .filter((file) => !unlicensed.has(file))
      .map((file) => `Files: 16.04/${file}\nCopyright: Author of ${file}, 2018\nLicense: CC-BY-4.0`);
    const copyright = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n${stanzas.join('\n\n')}\n`;
    return { name, version: '20.04.0-2', root: dir, copyright, cleanup: async () => {} };
  };
}

describe('buildIndependent', () => {
  let outDir: string;
  let record: IndependentDatasetRecord;

  beforeAll(async () => {
    outDir = join(root, 'data', 'independent');
    record = await buildIndependent({ outDir, fetchPackage: fakeFetch(join(root, 'packages')) });
  });

  it('stores every catalogued photo in test/ at ≤ 512 px as a 4:4:4 JPEG, and nothing else', async () => {
    expect((await readdir(outDir)).sort()).toEqual(['SOURCES.json', 'test']);
    const stored = (await readdir(join(outDir, 'test'))).sort();
    expect(stored).toHaveLength(photoEntries.length);
    expect(stored).toContain('lomiri-Bridge_by_Sander_Klootwijk.jpg');
    const meta = await sharp(join(outDir, 'test', stored[0]!)).metadata();
    expect([meta.width, meta.height, meta.format, meta.chromaSubsampling]).toEqual([512, 341, 'jpeg', '4:4:4']);
  });

  it('records each package and, per photo, its path, tags and the credit its copyright file gives', async () => {
    expect(JSON.parse(await readFile(join(outDir, 'SOURCES.json'), 'utf8'))).toEqual(record);
    expect(record.count).toBe(photoEntries.length);
    expect(record.sources.map((s) => s.package)).toEqual(Object.keys(INDEPENDENT_PHOTOS));
    const first = record.sources[0]!;
    expect(first).toMatchObject({ version: '20.04.0-2', copyrightFile: `/usr/share/doc/${first.package}/copyright` });
    expect(first.files[0]).toEqual({
      stem: 'lomiri-Bridge_by_Sander_Klootwijk',
      path: 'usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg',
      tags: INDEPENDENT_PHOTOS[first.package]!['Bridge_by_Sander_Klootwijk.jpg'],
      author: 'Author of Bridge_by_Sander_Klootwijk.jpg, 2018',
      license: 'CC-BY-4.0',
    });
    for (const tag of SCENE_TAGS) expect(record.balance[tag]).toBe(photoEntries.filter((e) => e.tags.includes(tag)).length);
  });

  it('keeps a set built by the same builder at the same size', async () => {
    let fetched = 0;
    const counting: FetchPackage = async (name) => {
      fetched += 1;
      return fakeFetch(join(root, 'packages'))(name);
    };
    expect(await buildIndependent({ outDir, fetchPackage: counting })).toEqual(record);
    expect(fetched).toBe(0);
  });

  it('refuses a photo whose licence the copyright file does not give, leaving no folder behind', async () => {
    const other = join(root, 'data', 'unlicensed');
    const fetchPackage = fakeFetch(join(root, 'packages-unlicensed'), new Set(['seeding_by_Clements_Engelhardt.jpg']));
    await expect(buildIndependent({ outDir: other, fetchPackage })).rejects.toThrow(
      /its copyright file gives no licence for seeding_by_Clements_Engelhardt\.jpg/,
    );
    expect((await readdir(join(root, 'data'))).sort()).toEqual(['independent']);
  });

  it('records the package provenance as the training sets do', () => {
    const pkg = { name: 'p', version: '1', root, copyright: DEP5, cleanup: async () => {} };
    expect(packageProvenance(pkg)).toEqual({
      package: 'p',
      version: '1',
      license: 'Expat',
      licenses: ['CC-BY-SA-3.0', 'CC-BY-4.0', 'Expat'],
      copyrightFile: '/usr/share/doc/p/copyright',
    });
  });
});

describe('photoEvalFolders', () => {
  it('reads a CycleGAN-layout set whole, and a photos-only set against photo2anime’s anime scenes', async () => {
    const cycle = join(root, 'eval', 'cycle');
    const flat = join(root, 'eval', 'flat');
    await mkdir(join(cycle, 'testA'), { recursive: true });
    await mkdir(join(cycle, 'test'), { recursive: true });
    await mkdir(join(flat, 'test'), { recursive: true });
    expect(await photoEvalFolders(cycle)).toEqual({ photos: join(cycle, 'testA'), anime: cycle });
    expect(await photoEvalFolders(flat)).toEqual({ photos: join(flat, 'test'), anime: 'data/photo2anime' });
    // Neither: the CycleGAN layout, so the error names the missing testA/.
    const empty = join(root, 'eval', 'missing');
    expect(await photoEvalFolders(empty)).toEqual({ photos: join(empty, 'testA'), anime: empty });
  });
});
