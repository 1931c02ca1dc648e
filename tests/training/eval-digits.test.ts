/**
 * The digits eval end to end on generators built in code from real MNIST digits, so the expected
 * figures are known: a collapsed generator (one digit per class) is accurate with diversity near 0;
 * a generator that picks among many real digits per class is accurate with diversity near 1; a
 * generator that draws the wrong class scores near 0. Realism: the varied generator (16 real digits per
 * class) is precise and beats the collapsed one on FID and recall.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evalConditionalDigits,
  formatDigitsTable,
  resolveModelFolder,
  runDigitsEval,
  toClassifierRange,
} from '../../training/eval/digits.ts';
import { labelTableGenerator, TABLE_NOISE_DIM, writeTableGenerator } from './digit-table-generators.ts';

/** Few FID digits keep the tests fast; the figures' meaning does not depend on the size. */
const FID_SAMPLES = 200;

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'digits-eval-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('digits eval', () => {
  it('rates a generator of varied real digits accurate and diverse, and writes a 10×10 grid', async () => {
    const folder = await writeTableGenerator(root, 'varied', labelTableGenerator(TABLE_NOISE_DIM));
    const lines: string[] = [];
    const result = await runDigitsEval(folder, { perClass: 60, seed: 3, fidSamples: FID_SAMPLES, log: (line) => lines.push(line) });
    expect(result.accuracy).toBeGreaterThan(0.95);
    expect(result.classes).toHaveLength(10);
    // 16 distinct real digits per class cover most of a class's real feature spread.
    expect(result.diversityRatio).toBeGreaterThan(0.7);
    expect(result.diversityRatio).toBeLessThan(1.3);
    expect(lines.join('\n')).toMatch(/all\s+\d+\.\d %/);
    // Every generated digit is a real one, so nearly all lie inside the real digits' k-NN balls.
    expect(result.realism.precision).toBeGreaterThan(0.8);
    expect(result.realism.samples).toBe(FID_SAMPLES);
    expect(result.realism.realHeldOut).toBe(FID_SAMPLES);
    expect(result.realism.floor).toBeGreaterThan(0);
    expect(result.realism.fidRatio).toBeCloseTo(result.realism.fid / result.realism.floor, 10);
    expect(result.realismTargetsMet).toBe(result.realism.fidRatio <= 2.5);
    expect(lines.join('\n')).toMatch(
      /FID \d+\.\d\d \(real-vs-real floor \d+\.\d\d, ratio \d+\.\d\d; target ≤ 2\.5: (met|MISSED)\), precision 0\.\d{3}, recall 0\.\d{3}/,
    );
    const grid = await sharp(await readFile(result.grid)).metadata();
    expect(grid.width).toBe(10 * 28 * 2);
    expect(grid.height).toBe(10 * 28 * 2);
  });

  it('rates a collapsed generator near zero diversity', async () => {
    const folder = await writeTableGenerator(root, 'collapsed', labelTableGenerator(1));
    const result = await evalConditionalDigits(folder, { perClass: 20, fidSamples: FID_SAMPLES, out: join(root, 'collapsed.png') });
    expect(result.diversityRatio).toBe(0);
    // Ten distinct digits cover hardly any of the real ones, and FID sees the missing spread.
    expect(result.realism.recall).toBeLessThan(0.1);
    const varied = await evalConditionalDigits(join(root, 'varied'), { perClass: 20, fidSamples: FID_SAMPLES });
    expect(result.realism.fid).toBeGreaterThan(varied.realism.fid);
    expect(result.realism.recall).toBeLessThan(varied.realism.recall);
    expect(result.realismTargetsMet).toBe(false);
    expect(result.targetsMet).toBe(false);
    expect(result.grid).toBe(join(root, 'collapsed.png'));
  });

  it('rates a generator that draws the wrong class near zero accuracy', async () => {
    const folder = await writeTableGenerator(root, 'shifted', labelTableGenerator(TABLE_NOISE_DIM, 1));
    const result = await evalConditionalDigits(folder, { perClass: 20, fidSamples: FID_SAMPLES });
    expect(result.accuracy).toBeLessThan(0.1);
    expect(formatDigitsTable(result).join('\n')).toContain('NOT met');
  });

  it('is deterministic for a seed', async () => {
    const folder = join(root, 'varied');
    const first = await evalConditionalDigits(folder, { perClass: 20, seed: 5, fidSamples: FID_SAMPLES });
    const again = await evalConditionalDigits(folder, { perClass: 20, seed: 5, fidSamples: FID_SAMPLES });
    expect(again.classes).toEqual(first.classes);
    expect(again.realism).toEqual(first.realism);
  });

  it('generates extra digits for an FID set larger than perClass without moving the other figures', async () => {
    const folder = join(root, 'varied');
    const small = await evalConditionalDigits(folder, { perClass: 20, seed: 5, fidSamples: 100 });
    const large = await evalConditionalDigits(folder, { perClass: 20, seed: 5, fidSamples: 300 });
    expect(large.classes).toEqual(small.classes);
    expect(large.realism.samples).toBe(300);
    await expect(evalConditionalDigits(folder, { perClass: 2, fidSamples: 9 })).rejects.toThrow(/FID samples/);
  });

  it('resolves a bare name under the models folder and rejects a missing one', async () => {
    expect(await resolveModelFolder('varied', root)).toBe(join(root, 'varied'));
    await expect(resolveModelFolder('nope', root)).rejects.toThrow(/no model.json/);
  });

  it('rejects a model that is not a 0–9 label generator', async () => {
    const folder = await writeTableGenerator(root, 'letters', labelTableGenerator(1));
    const manifest = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8'));
    manifest.label.classes = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    await writeFile(join(folder, 'model.json'), JSON.stringify(manifest));
    await expect(evalConditionalDigits(folder, { perClass: 2 })).rejects.toThrow(/"0" … "9"/);
  });
});

describe('toClassifierRange', () => {
  it('maps each manifest range onto [-1, 1] and clamps', () => {
    expect(Array.from(toClassifierRange(Float32Array.from([0, 0.5, 1, 2]), [0, 1]))).toEqual([-1, 0, 1, 1]);
    expect(Array.from(toClassifierRange(Float32Array.from([0, 255]), [0, 255]))).toEqual([-1, 1]);
    expect(Array.from(toClassifierRange(Float32Array.from([-1, 0.25]), [-1, 1]))).toEqual([-1, 0.25]);
  });
});
