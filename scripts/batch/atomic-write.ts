/**
 * Whole files or nothing: an output is written to a temp file in its target folder (same file
 * system, so the rename is atomic), flushed to disk, then renamed over the final name. A run killed
 * at any moment leaves finished outputs and, at worst, a temp file, never a half-written image
 * under the final name. The next run removes temp files whose writer process is gone.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const TEMP_SUFFIX = '.batch-tmp';
/** `.<name>.<pid>.<random>.batch-tmp`: hidden, tied to its writer's pid. */
const TEMP_PATTERN = /^\..+\.(\d+)\.[0-9a-f]+\.batch-tmp$/;

export function isTempFile(name: string): boolean {
  return TEMP_PATTERN.test(name);
}

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

/** Writes `data` to `target` atomically, creating its folder. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  try {
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** True when a process with this pid exists (it may belong to someone else: then we leave its file). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files under `root` left by runs that were killed (their pid is gone, or is this
 * process from an earlier life). Returns how many were removed; a missing root has none.
 */
export async function removeStaleTemps(root: string): Promise<number> {
  let removed = 0;
  const visit = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await visit(full);
        continue;
      }
      const match = TEMP_PATTERN.exec(entry.name);
      if (!match || !entry.isFile()) continue;
      const pid = Number(match[1]);
      if (pid !== process.pid && processAlive(pid)) continue;
      await fs.rm(full, { force: true });
      removed += 1;
    }
  };
  await visit(root);
  return removed;
}
