/**
 * Shared pieces of the batch CLI tests: image trees on disk, the CLI run in-process (captured
 * output) or as a child process (`node --import tsx scripts/batch.ts`, so it can be killed), and
 * helpers to inspect an output folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { main } from '../../scripts/batch/main.ts';
import type { BatchReport } from '../../scripts/batch/report.ts';
import { mulberry32 } from '../helpers/image-models.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `ganserve-batch-${prefix}-`));
}

/** Random RGB pixels (seeded), so JPEG compression keeps real detail. */
export function noisePixels(width: number, height: number, seed: number): Buffer {
  const random = mulberry32(seed);
  return Buffer.from(Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256)));
}

export async function writeImage(
  file: string,
  width: number,
  height: number,
  seed: number,
  format: 'jpeg' | 'png' | 'webp' | 'tiff' = 'jpeg',
): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const image = sharp(noisePixels(width, height, seed), { raw: { width, height, channels: 3 } });
  const bytes = await (format === 'jpeg'
    ? image.jpeg()
    : format === 'png'
      ? image.png()
      : format === 'webp'
        ? image.webp({ lossless: true })
        : image.tiff({ compression: 'lzw' })
  ).toBuffer();
  writeFileSync(file, bytes);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join('') };
}

/** Runs the CLI in this process (fast: no tsx start-up), with MODELS_DIR and pool settings from `env`. */
export async function runCli(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out = capture();
  const err = capture();
  const code = await main(argv, { stdout: out.stream, stderr: err.stream, env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** Starts the CLI as a child process, exactly as `npm run batch` runs it. */
export function spawnCli(argv: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/batch.ts', ...argv], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr })),
  );
  return { child, done };
}

/** Every file under `root`, relative, '/'-separated, sorted. */
export function listFiles(root: string): string[] {
  const files: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else files.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  visit(root);
  return files.sort();
}

export function readReport(outputDir: string): BatchReport {
  return JSON.parse(readFileSync(path.join(outputDir, 'batch-report.json'), 'utf8')) as BatchReport;
}

/** Polls until `condition` holds; throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Output images of a run: the files that are not the report or a temp file. */
export function outputImages(outputDir: string): string[] {
  return listFiles(outputDir).filter((file) => file !== 'batch-report.json' && !file.endsWith('.batch-tmp'));
}
