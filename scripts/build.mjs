// npm run build (and npm ci, through `prepare`): compiles server/ and training/ into a fresh dist/
// with tsc, then copies the files the compiled code reads beside itself (the demo and docs pages,
// the eval classifier), so that dist/ runs with plain `node`.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const ASSET_DIRS = ['server/public', 'training/eval/classifier'];

rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
for (const dir of ASSET_DIRS) cpSync(dir, `dist/${dir}`, { recursive: true, filter: (source) => !source.endsWith('.ts') });
