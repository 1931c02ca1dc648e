/**
 * Finds the inputs of a translate run: every file under the input folder, recursively, that is an
 * image. A file counts as an image when its leading bytes are an image signature the server
 * decodes, or when its extension says it is one (so a corrupt `photo.jpg` is reported as failed
 * rather than silently passed over); everything else (notes, sidecars, thumbs.db) is ignored.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sniffFormat } from '../../server/shared.ts';
import { isTempFile } from './atomic-write.ts';

/** Extensions of the formats sharp reads, lower case. */
export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.jpe',
  '.jfif',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.heif',
]);

/** Bytes read to recognise a signature (the longest, WebP's, needs 12). */
const SIGNATURE_BYTES = 16;

export interface InputFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the input folder, with '/' separators (stable in reports on every OS). */
  relative: string;
}

export interface WalkResult {
  inputs: InputFile[];
  /** Files that are not images. */
  ignored: string[];
}

/**
 * Walks `root` recursively, in sorted order. Folders in `exclude` (e.g. the output folder when it
 * lies inside the input) are not entered. Symlinked files are followed, symlinked folders are
 * not (no cycles).
 */
export async function findImages(root: string, exclude: string[] = []): Promise<WalkResult> {
  const excluded = new Set(exclude.map((dir) => path.resolve(dir)));
  const result: WalkResult = { inputs: [], ignored: [] };
  const visit = async (dir: string): Promise<void> => {
    const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(root, full).split(path.sep).join('/');
      if (entry.isDirectory()) {
        if (!excluded.has(full)) await visit(full);
        continue;
      }
      const isFile = entry.isFile() || (entry.isSymbolicLink() && (await fs.stat(full).catch(() => null))?.isFile() === true);
      if (!isFile || isTempFile(entry.name)) continue;
      if (await looksLikeImage(full)) result.inputs.push({ path: full, relative });
      else result.ignored.push(relative);
    }
  };
  await visit(path.resolve(root));
  return result;
}

async function looksLikeImage(file: string): Promise<boolean> {
  if (IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase())) return true;
  let handle;
  try {
    handle = await fs.open(file, 'r');
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(SIGNATURE_BYTES), 0, SIGNATURE_BYTES, 0);
    return sniffFormat(buffer.subarray(0, bytesRead)) !== null;
  } catch {
    return false; // unreadable without an image extension: not ours to report
  } finally {
    await handle?.close();
  }
}
