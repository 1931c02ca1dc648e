/**
 * Debian packages as a data source. Run-time dataset downloads are impossible here, but the Debian
 * archive is reachable: `apt-get download` fetches a .deb into a cache (as the current user,
 * nothing installed system-wide) and `dpkg-deb -x` unpacks it into a temporary folder. The package
 * name, version and its copyright file travel with the files so datasets can record their licences.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A package unpacked into `root` (the filesystem tree the .deb would install). */
export interface UnpackedPackage {
  name: string;
  version: string;
  root: string;
  /** Text of /usr/share/doc/<name>/copyright inside the package ('' when the package has none). */
  copyright: string;
  /** Removes the unpacked tree; the cached .deb stays. */
  cleanup(): Promise<void>;
}

/** Fetches and unpacks one package; injectable so tests and non-Debian hosts can supply folders. */
export type FetchPackage = (name: string) => Promise<UnpackedPackage>;

/** Thrown when the host has no apt-get/dpkg-deb, with the message the CLI prints as is. */
export class NoDebianToolsError extends Error {}

/** Licence summary of a machine-readable (DEP-5) copyright file. */
export interface CopyrightSummary {
  /** The licence of the `Files: *` stanza: what covers files not named elsewhere. */
  mainLicense: string | null;
  /** Every licence short name the file mentions, deduplicated, in order of appearance. */
  licenses: string[];
}

/** Reads the `Files:`/`License:` fields of a DEP-5 copyright file. */
export function summarizeCopyright(text: string): CopyrightSummary {
  const licenses: string[] = [];
  let mainLicense: string | null = null;
  let currentFiles: string | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      currentFiles = null;
      continue;
    }
    const files = /^Files:\s*(.*)$/i.exec(line);
    if (files) currentFiles = files[1]!.trim();
    const license = /^License:\s*(\S.*)$/i.exec(line);
    if (license) {
      const name = license[1]!.trim();
      if (!licenses.includes(name)) licenses.push(name);
      if (currentFiles === '*' && mainLicense === null) mainLicense = name;
    }
  }
  return { mainLicense, licenses };
}

/** What a data set records about the package its files came from. */
export interface PackageProvenance {
  package: string;
  version: string;
  /** Licence of the `Files: *` stanza of the package's Debian copyright file (null: not machine-readable). */
  license: string | null;
  /** Every licence the copyright file names. */
  licenses: string[];
  copyrightFile: string;
}

export function packageProvenance(pkg: UnpackedPackage): PackageProvenance {
  const summary = summarizeCopyright(pkg.copyright);
  return {
    package: pkg.name,
    version: pkg.version,
    license: summary.mainLicense,
    licenses: summary.licenses,
    copyrightFile: `/usr/share/doc/${pkg.name}/copyright`,
  };
}

/**
 * The `Copyright:` holders and `License:` name a DEP-5 copyright file gives one file, by its name:
 * the stanza whose `Files:` list names it literally, under any folder (upstream paths such as
 * `16.04/x.jpg` differ from where the package installs `x.jpg`). Undefined where no stanza names it.
 */
export function fileCopyright(text: string, fileName: string): { holders: string; license: string } | undefined {
  for (const stanza of text.split(/\n\s*\n/)) {
    // Each field's lines: its first, then its indented continuation lines ('.' is an empty one).
    const fields = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of stanza.split('\n')) {
      const field = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (field) fields.set(field[1]!.toLowerCase(), (current = field[2]!.trim() ? [field[2]!.trim()] : []));
      else if (current && /^\s/.test(line) && line.trim() !== '.') current.push(line.trim());
    }
    const files = (fields.get('files') ?? []).flatMap((entry) => entry.split(/\s+/));
    if (!files.some((file) => file === fileName || file.endsWith(`/${fileName}`))) continue;
    const license = fields.get('license')?.[0];
    if (license === undefined) return undefined;
    return { holders: (fields.get('copyright') ?? []).join('; '), license };
  }
  return undefined;
}

async function commandExists(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

async function findCachedDeb(cacheDir: string, name: string): Promise<string | undefined> {
  const files = await readdir(cacheDir).catch(() => [] as string[]);
  return files.find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
}

/**
 * The real fetcher: `apt-get download` into `cacheDir` unless a .deb of that package is already
 * cached (so reruns need no network), then `dpkg-deb -x` into a fresh temporary folder.
 */
export function debianPackageFetcher(cacheDir: string): FetchPackage {
  return async (name) => {
    if (!(await commandExists('apt-get')) || !(await commandExists('dpkg-deb'))) {
      throw new NoDebianToolsError(
        `this host has no apt-get/dpkg-deb, so package "${name}" cannot be fetched; ` +
          'build the dataset from any two image folders instead: ' +
          'npm run data -- photo2anime --dataA <photos dir> --dataB <anime dir>',
      );
    }
    await mkdir(cacheDir, { recursive: true });
    let deb = await findCachedDeb(cacheDir, name);
    if (deb === undefined) {
      try {
        await run('apt-get', ['download', name], { cwd: cacheDir, maxBuffer: 16 << 20 });
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? String(error);
        throw new Error(`apt-get download ${name} failed (run "apt-get update" first if the package is unknown): ${stderr.trim()}`);
      }
      deb = await findCachedDeb(cacheDir, name);
      if (deb === undefined) throw new Error(`apt-get download ${name} left no .deb in ${cacheDir}`);
    }
    const debPath = join(cacheDir, deb);
    const fields = await run('dpkg-deb', ['-f', debPath, 'Package', 'Version']);
    const version = /^Version:\s*(.+)$/m.exec(fields.stdout)?.[1]?.trim() ?? 'unknown';
    const root = await mkdtemp(join(tmpdir(), `deb-${name}-`));
    await run('dpkg-deb', ['-x', debPath, root]);
    const copyright = await readFile(join(root, 'usr/share/doc', name, 'copyright'), 'utf8').catch(() => '');
    return { name, version, root, copyright, cleanup: () => rm(root, { recursive: true, force: true }) };
  };
}
