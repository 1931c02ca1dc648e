/**
 * The import rules of .dependency-cruiser.cjs bite: a temporary tree laid out like this one, with
 * forbidden imports planted in it, fails `depcruise` with the committed configuration, rule by
 * rule, and the same tree without them passes. (`npm run deps` checks the real tree.)
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');
const run = promisify(execFile);
const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** The allowed skeleton: a route uses the domain, the domain its errors, training the shared surface. */
const ALLOWED: Record<string, string> = {
  'server/errors.ts': 'export class PlantedError extends Error {}\n',
  'server/http/problem.ts': "import { PlantedError } from '../errors.ts';\nexport const mapped = PlantedError;\n",
  'server/imaging/grid.ts': "import { PlantedError } from '../errors.ts';\nexport const grid = () => new PlantedError();\n",
  'server/shared.ts': "export { grid } from './imaging/grid.ts';\n",
  'training/harness.ts': "import { grid } from '../server/shared.ts';\nexport const sample = grid;\n",
};

/** One forbidden import per rule, each in a file of its own. */
const PLANTED: Record<string, string> = {
  // the domain reaching up into HTTP
  'server/imaging/decode.ts': "import { mapped } from '../http/problem.ts';\nexport const decode = mapped;\n",
  // training past the public surface
  'training/eval.ts': "import { grid } from '../server/imaging/grid.ts';\nexport const evaluate = grid;\n",
  // a cycle
  'server/models/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
  'server/models/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
};

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ganserve-depcruise-'));
  scratch.push(dir);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  for (const file of ['tsconfig.json', 'package.json']) copyFileSync(path.join(ROOT, file), path.join(dir, file));
  return dir;
}

/** What `depcruise` (as `npm run deps` runs it) says of `dir`: its exit code and `rule: from → …` per violation. */
async function cruise(dir: string): Promise<{ code: number; violations: string[] }> {
  const args = ['--config', path.join(ROOT, '.dependency-cruiser.cjs'), 'server', 'training'];
  const { code, stdout } = await run(DEPCRUISE, args, { cwd: dir }).then(
    (done) => ({ code: 0, stdout: done.stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
  );
  const violations = [...stdout.matchAll(/^\s*error ([\w-]+): (\S+) →(?: (\S+))?/gm)].map(
    ([, rule, from, to]) => `${rule}: ${from} → ${to ?? '…'}`,
  );
  return { code, violations };
}

describe('dependency rules', () => {
  it('pass a tree whose imports point one way', async () => {
    expect(await cruise(tree(ALLOWED))).toEqual({ code: 0, violations: [] });
  });

  it('fail on a planted domain → http import, a deep training import and a cycle', async () => {
    const { code, violations } = await cruise(tree({ ...ALLOWED, ...PLANTED }));
    expect(code).not.toBe(0);
    expect(violations).toEqual(
      expect.arrayContaining([
        'domain-not-to-http: server/imaging/decode.ts → server/http/problem.ts',
        'training-through-shared: training/eval.ts → server/imaging/grid.ts',
        expect.stringMatching(/^no-circular: server\/models\/[ab]\.ts → /),
      ]),
    );
  });
});
