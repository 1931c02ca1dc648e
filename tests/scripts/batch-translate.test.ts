/**
 * The batch CLI in-process: a nested tree with a corrupt image, a non-image file and an output
 * that already exists; exact output pixels; resume and --overwrite; generate's reproducible
 * <label>/<seed>.png layout; exit statuses and usage errors.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DIGIT_CLASSES,
  exactLabelGenerator,
  exactTextGenerator,
  expectedLabelImage,
  writeModelFolder,
} from '../helpers/generator-models.ts';
import { applyColourMix, colourMixModel, imageManifest, rotateAndInvert, writeModel } from '../helpers/image-models.ts';
import { listFiles, noisePixels, outputImages, readReport, runCli, tempDir, writeImage } from './batch-harness.ts';

const MIX = rotateAndInvert([-1, 1]);
let modelsDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  modelsDir = tempDir('models');
  writeModel(modelsDir, 'mix', imageManifest('mix'), colourMixModel('NCHW', MIX));
  const digits = exactLabelGenerator({ name: 'digits' });
  await writeModelFolder(modelsDir, digits.manifest, digits.onnx);
  const words = exactTextGenerator({ name: 'words', vocabulary: ['a', 'bold', 'seven'] });
  await writeModelFolder(modelsDir, words.manifest, words.onnx, words.files);
  env = { MODELS_DIR: modelsDir, INFERENCE_WORKERS: '1', INFERENCE_THREADS: '1' };
});

async function pixelsOf(file: string): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('batch translate', () => {
  it('converts a nested tree: mirrors paths, skips an existing output, reports the corrupt file and ignores the rest', async () => {
    const input = tempDir('in');
    const output = tempDir('out');
    await writeImage(path.join(input, 'top.png'), 30, 22, 1, 'png');
    await writeImage(path.join(input, 'trip/day1/beach.jpg'), 41, 17, 2, 'jpeg');
    await writeImage(path.join(input, 'trip/day1/sea.webp'), 16, 16, 3, 'webp');
    await writeImage(path.join(input, 'trip/day2/scan.tif'), 9, 13, 4, 'tiff');
    await writeImage(path.join(input, 'trip/day2/done.png'), 12, 12, 5, 'png');
    // An image without an extension is still an image: its bytes say so.
    await writeImage(path.join(input, 'trip/no-extension'), 8, 8, 6, 'png');
    const jpeg = readFileSync(path.join(input, 'trip/day1/beach.jpg'));
    writeFileSync(path.join(input, 'trip/day2/broken.jpg'), jpeg.subarray(0, 120));
    writeFileSync(path.join(input, 'trip/notes.txt'), 'not an image');
    mkdirSync(path.join(output, 'trip/day2'), { recursive: true });
    writeFileSync(path.join(output, 'trip/day2/done.png'), 'converted earlier');

    const run = await runCli(['translate', '--model', 'mix', '--input', input, '--output', output], env);

    expect(run.code, run.stderr).toBe(1);
    expect(outputImages(output)).toEqual([
      'top.png',
      'trip/day1/beach.png',
      'trip/day1/sea.png',
      'trip/day2/done.png',
      'trip/day2/scan.png',
      'trip/no-extension.png',
    ]);
    expect(readFileSync(path.join(output, 'trip/day2/done.png'), 'utf8')).toBe('converted earlier');

    // Lossless inputs: every output pixel is the model applied to the input pixel.
    for (const [file, width, height, seed] of [
      ['top', 30, 22, 1],
      ['trip/day2/scan', 9, 13, 4],
      ['trip/day1/sea', 16, 16, 3],
    ] as const) {
      const result = await pixelsOf(path.join(output, `${file}.png`));
      expect([result.width, result.height, result.channels]).toEqual([width, height, 3]);
      expect(Buffer.from(result.data)).toEqual(Buffer.from(applyColourMix(noisePixels(width, height, seed), MIX, [-1, 1], [-1, 1])));
    }
    const beach = await pixelsOf(path.join(output, 'trip/day1/beach.png'));
    expect([beach.width, beach.height]).toEqual([41, 17]);

    const report = readReport(output);
    expect(report.totals).toEqual({ converted: 5, skipped: 1, failed: 1, notRun: 0, total: 7, ignored: 1 });
    const byName = Object.fromEntries(report.files.map((f) => [f.name, f]));
    expect(Object.keys(byName)).not.toContain('trip/notes.txt');
    expect(byName['trip/day2/done.png']!.status).toBe('skipped');
    expect(byName['trip/day2/broken.jpg']).toMatchObject({ status: 'failed', output: 'trip/day2/broken.png' });
    expect(byName['trip/day2/broken.jpg']!.error).toMatch(/corrupt or truncated/);
    expect(byName['trip/day1/beach.jpg']).toMatchObject({ status: 'converted', output: 'trip/day1/beach.png' });
    expect(byName['trip/day1/beach.jpg']!.ms).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/5 converted, 1 skipped .*, 1 failed/);
    expect(run.stdout).toContain('failed: trip/day2/broken.jpg');

    // --overwrite converts the earlier output again.
    await runCli(['translate', '--model', 'mix', '--input', input, '--output', output, '--overwrite'], env);
    expect(readReport(output).totals).toMatchObject({ converted: 6, skipped: 0, failed: 1 });
    const redone = await pixelsOf(path.join(output, 'trip/day2/done.png'));
    expect(Buffer.from(redone.data)).toEqual(Buffer.from(applyColourMix(noisePixels(12, 12, 5), MIX, [-1, 1], [-1, 1])));
    expect(listFiles(output).some((f) => f.endsWith('.batch-tmp'))).toBe(false);
  });

  it('exits 0 when every file converts; honours --format, --quality and --max-side; reports clashing outputs', async () => {
    const input = tempDir('in');
    const output = path.join(input, 'converted'); // inside the input: must not be walked
    await writeImage(path.join(input, 'a.png'), 40, 20, 7, 'png');
    await writeImage(path.join(input, 'b.png'), 10, 10, 8, 'png');
    const run = await runCli(
      ['translate', '--model', 'mix', '--input', input, '--output', output, '--format', 'jpeg', '--quality', '80', '--max-side', '20'],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(outputImages(output)).toEqual(['a.jpg', 'b.jpg']);
    expect(await sharp(path.join(output, 'a.jpg')).metadata()).toMatchObject({ format: 'jpeg', width: 20, height: 10 });

    await writeImage(path.join(input, 'b.webp'), 10, 10, 9, 'webp');
    const clash = await runCli(['translate', '--model', 'mix', '--input', input, '--output', output, '--format', 'jpeg'], env);
    expect(clash.code).toBe(1);
    const failed = readReport(output).files.find((f) => f.status === 'failed');
    expect(failed).toMatchObject({ name: 'b.webp', output: 'b.jpg' });
    expect(failed!.error).toMatch(/also the output of b\.png/);
  });

  it('exits 2 with a clear message on usage errors', async () => {
    const input = tempDir('in');
    const cases: Array<[string[], RegExp]> = [
      [[], /missing command/],
      [['resize', '--model', 'mix'], /unknown command "resize"/],
      [['translate', '--input', input, '--output', '/tmp/x'], /--model is required/],
      [
        ['translate', '--model', 'mix', '--input', input, '--output', '/tmp/x', '--format', 'bmp'],
        /--format must be one of png, jpeg, webp/,
      ],
      [
        ['translate', '--model', 'mix', '--input', input, '--output', '/tmp/x', '--quality', '0'],
        /--quality must be a whole number from 1 to 100/,
      ],
      [['translate', '--model', 'mix', '--input', path.join(input, 'nope'), '--output', '/tmp/x'], /is not a folder/],
      [['translate', '--model', 'mix', '--input', input, '--output', '/tmp/x', '--labels', '1'], /--labels is not an option of translate/],
      [['translate', '--model', 'mix', '--input', input, '--output', '/tmp/x', '--server', 'ftp://x'], /must be an http or https URL/],
      [['translate', '--model', 'nosuch', '--input', input, '--output', '/tmp/x'], /no model "nosuch" in MODELS_DIR/],
      [['translate', '--model', 'digits', '--input', input, '--output', '/tmp/x'], /conditional-generation model: use generate/],
      [['generate', '--model', 'digits', '--count', '2', '--output', '/tmp/x'], /exactly one of --labels or --prompt/],
      [['generate', '--model', 'digits', '--labels', '0-10', '--count', '1', '--output', '/tmp/x'], /label 10 is out of range/],
      [['generate', '--model', 'digits', '--labels', '3', '--output', '/tmp/x'], /--count is required/],
      [['generate', '--model', 'words', '--prompt', 'zebra', '--count', '1', '--output', '/tmp/x'], /no word the model knows/],
      [['generate', '--model', 'words', '--labels', '1', '--count', '1', '--output', '/tmp/x'], /use --prompt/],
    ];
    for (const [argv, message] of cases) {
      const run = await runCli(argv, env);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr, argv.join(' ')).toMatch(message);
      expect(run.stderr).toContain('Usage:');
    }
    expect(existsSync('/tmp/x')).toBe(false);
    const help = await runCli(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('npm run batch -- translate');
  });
});

describe('batch generate', () => {
  it('writes OUTPUT/<label>/<seed>.png with the generator pixels, the same bytes on every run', async () => {
    const first = tempDir('gen');
    const run = await runCli(
      ['generate', '--model', 'digits', '--labels', '0-2,7', '--count', '3', '--seed', '40', '--output', first],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const expected = ['0', '1', '2', '7'].flatMap((label) => [40, 41, 42].map((seed) => `${label}/${seed}.png`));
    expect(outputImages(first)).toEqual(expected.sort());
    for (const [label, seed] of [
      [0, 40],
      [7, 42],
      [2, 41],
    ] as const) {
      const file = path.join(first, `${DIGIT_CLASSES[label]}/${seed}.png`);
      expect((await sharp(file).metadata()).channels).toBe(1);
      const grey = await sharp(file).extractChannel(0).raw().toBuffer();
      expect(grey).toEqual(Buffer.from(expectedLabelImage(seed, label)));
    }
    expect(readReport(first).files[0]).toMatchObject({ name: '0/40', label: 0, class: '0', seed: 40, status: 'converted' });

    // Another run, a different order of work (one at a time), a subset of seeds: identical files.
    const second = tempDir('gen');
    await runCli(
      ['generate', '--model', 'digits', '--labels', '7', '--count', '2', '--seed', '41', '--output', second, '--concurrency', '1'],
      env,
    );
    for (const file of ['7/41.png', '7/42.png'])
      expect(readFileSync(path.join(second, file))).toEqual(readFileSync(path.join(first, file)));

    const prompt = await runCli(
      ['generate', '--model', 'words', '--prompt', 'A bold SEVEN!', '--count', '2', '--seed', '5', '--output', first],
      env,
    );
    expect(prompt.code, prompt.stderr).toBe(0);
    expect(outputImages(first)).toEqual(expect.arrayContaining(['a-bold-seven/5.png', 'a-bold-seven/6.png']));
  });
});
