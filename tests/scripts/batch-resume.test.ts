/**
 * Nothing lost, nothing half-written: the CLI, run as a child process exactly as `npm run batch`
 * runs it, is killed with SIGKILL part-way; the re-run finishes the set, keeps what was done, and
 * leaves whole, decodable files only and no temp files.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, expect, it } from 'vitest';
import { busyConvModel, imageManifest, writeModel } from '../helpers/image-models.ts';
import { listFiles, outputImages, readReport, runCli, spawnCli, tempDir, waitFor, writeImage } from './batch-harness.ts';

const IMAGES = 14;
const SIDE = 256;
let modelsDir: string;
let input: string;

beforeAll(async () => {
  modelsDir = tempDir('models');
  // Heavy enough per image (hidden 48 channels at 256²) that the run is still going when killed.
  writeModel(modelsDir, 'busy', imageManifest('busy'), busyConvModel(48));
  input = tempDir('in');
  for (let i = 0; i < IMAGES; i++)
    await writeImage(path.join(input, i % 2 ? 'odd' : 'even', `photo-${String(i).padStart(2, '0')}.jpg`), SIDE, SIDE, 100 + i);
});

it('resumes after SIGKILL: the full set, whole files only, no temp files left', async () => {
  const output = tempDir('out');
  const env = { MODELS_DIR: modelsDir, INFERENCE_WORKERS: '1', INFERENCE_THREADS: '1' };
  const argv = ['translate', '--model', 'busy', '--input', input, '--output', output, '--concurrency', '2'];

  const { child, done } = spawnCli(argv, env);
  await waitFor(() => outputImages(output).length >= 3, 60_000, 'the first outputs');
  child.kill('SIGKILL');
  const killed = await done;
  expect(killed.code).toBe(-1); // ended by the signal, not by finishing
  const before = outputImages(output);
  expect(before.length).toBeGreaterThanOrEqual(3);
  expect(before.length).toBeLessThan(IMAGES);

  // Whatever the kill interrupted, every file under a final name is a whole image.
  for (const file of before) expect(await sharp(path.join(output, file)).metadata()).toMatchObject({ width: SIDE, height: SIDE });
  // A temp file of the killed writer (its pid is free now), as a kill during a write leaves one.
  writeFileSync(path.join(output, 'even', `.photo-98.png.${child.pid}.0badc0de.batch-tmp`), 'half an image');

  const resumed = await runCli(argv, env);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stderr).toMatch(/temp files? of an interrupted run removed/);

  const after = outputImages(output);
  expect(after).toHaveLength(IMAGES);
  expect(after).toEqual(expect.arrayContaining(before));
  for (const file of after) {
    const { info } = await sharp(path.join(output, file)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([SIDE, SIDE]);
  }
  expect(listFiles(output).filter((file) => file.endsWith('.batch-tmp'))).toEqual([]);

  const report = readReport(output);
  expect(report.totals).toMatchObject({ converted: IMAGES - before.length, skipped: before.length, failed: 0, total: IMAGES });
  const skipped = report.files.filter((f) => f.status === 'skipped').map((f) => f.output);
  expect(skipped.sort()).toEqual(before);
});

it('stops cleanly on Ctrl-C: files in flight finish, the rest are reported as not run, exit 130', async () => {
  const output = tempDir('out');
  const { child, done } = spawnCli(['translate', '--model', 'busy', '--input', input, '--output', output, '--concurrency', '1'], {
    MODELS_DIR: modelsDir,
    INFERENCE_WORKERS: '1',
    INFERENCE_THREADS: '1',
  });
  await waitFor(() => outputImages(output).length >= 2, 60_000, 'the first outputs');
  child.kill('SIGINT');
  const result = await done;
  expect(result.code, result.stderr).toBe(130);
  expect(result.stderr).toContain('finishing the files in flight');
  const report = readReport(output);
  expect(report.interrupted).toBe(true);
  expect(report.totals.converted).toBe(outputImages(output).length);
  expect(report.totals.notRun).toBe(IMAGES - report.totals.converted);
  expect(listFiles(output).filter((file) => file.endsWith('.batch-tmp'))).toEqual([]);
});
