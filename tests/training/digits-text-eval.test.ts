/**
 * The digits-text eval's pieces on known inputs: held-out prompts carry the asked-for words and no
 * others, and the summary turns per-digit measurements into ratios, counts and the target verdict.
 * End to end on prompt "generators" built from real digits: the realism figures of plain held-out
 * prompts and bare digit words differ only where the generator treats the prompts differently.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { words } from '../../server/generation/tokenizer.ts';
import { TRAINING_TEMPLATES } from '../../training/data/captions.ts';
import { seededRandom } from '../../training/data/random.ts';
import {
  type DigitMeasurements,
  evalTextDigits,
  formatDigitsTextTable,
  heldOutPrompts,
  PROMPT_KINDS,
  type PromptKind,
  summarise,
} from '../../training/eval/digits-text.ts';
import { TABLE_NOISE_DIM, textTableGenerator, writeTableGenerator } from './digit-table-generators.ts';

const STYLE: Record<PromptKind, string[]> = {
  thin: ['thin', 'light'],
  thick: ['thick', 'bold'],
  upright: ['upright', 'straight'],
  slanted: ['slanted', 'italic'],
  plain: [],
};
const ALL_STYLE_WORDS = Object.values(STYLE).flat();

describe('heldOutPrompts', () => {
  it('names the digit and exactly the asked-for style, never with a training template', () => {
    const random = seededRandom(1);
    const trainingShapes = new Set(TRAINING_TEMPLATES.map((t) => words(t.replace(/\{[a-z]+\}/g, ' ')).join(' ')));
    for (const kind of PROMPT_KINDS) {
      for (const prompt of heldOutPrompts(6, kind, 40, random)) {
        const found = words(prompt);
        expect(found.filter((w) => w === '6' || w === 'six')).toHaveLength(1);
        const styleWords = found.filter((w) => ALL_STYLE_WORDS.includes(w));
        expect(styleWords).toHaveLength(kind === 'plain' ? 0 : 1);
        if (kind !== 'plain') expect(STYLE[kind]).toContain(styleWords[0]);
        const fillers = found.filter((w) => w !== '6' && w !== 'six' && !ALL_STYLE_WORDS.includes(w)).join(' ');
        expect(trainingShapes.has(fillers), prompt).toBe(false);
      }
    }
  });
});

/** A digit whose thick/thin ink ratio, slant order and spread are given. */
function digit(label: number, inkRatio: number, slantedAboveUpright: boolean, spreadRatio: number, accuracy = 1): DigitMeasurements {
  const ink = { thin: 0.1, thick: 0.1 * inkRatio, upright: 0.12, slanted: 0.12, plain: 0.12 };
  const slant = { thin: 0, thick: 0, upright: 0.05, slanted: slantedAboveUpright ? 0.3 : 0.02, plain: 0.1 };
  return { label, meanInk: ink, meanSlant: slant, accuracy, generatedSpread: 2 * spreadRatio, realSpread: 2 };
}

describe('summarise', () => {
  it('counts digits meeting stroke (≥ 1.3×) and slant control and averages the diversity ratios', () => {
    const digits = Array.from({ length: 10 }, (_, d) => digit(d, d === 0 ? 1.2 : 1.5, d !== 9, d < 5 ? 0.5 : 0.9));
    const summary = summarise(digits, 0.97);
    expect(summary.strokeDigits).toBe(9);
    expect(summary.slantDigits).toBe(9);
    expect(summary.digits[0]!.inkRatio).toBeCloseTo(1.2, 10);
    expect(summary.digits[0]!.strokeMet).toBe(false);
    expect(summary.digits[9]!.slantMet).toBe(false);
    expect(summary.diversityRatio).toBeCloseTo(0.7, 10);
    expect(summary.targetsMet).toBe(true);
  });

  it('fails the verdict on any one missed target', () => {
    const good = () => Array.from({ length: 10 }, (_, d) => digit(d, 1.5, true, 0.8));
    expect(summarise(good(), 0.95).targetsMet).toBe(true);
    expect(summarise(good(), 0.94).targetsMet).toBe(false);
    expect(
      summarise(
        good().map((d, i) => (i < 2 ? digit(i, 1.29, true, 0.8) : d)),
        0.99,
      ).targetsMet,
    ).toBe(false);
    expect(
      summarise(
        good().map((d, i) => (i < 2 ? digit(i, 1.5, false, 0.8) : d)),
        0.99,
      ).targetsMet,
    ).toBe(false);
    expect(
      summarise(
        good().map((d) => ({ ...d, generatedSpread: 1.1 })),
        0.99,
      ).targetsMet,
    ).toBe(false);
  });
});

describe('evalTextDigits realism', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'digits-text-eval-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('gives a generator that reads numerals and words alike the same figures for plain prompts and bare words', async () => {
    const folder = await writeTableGenerator(root, 'reads-both', textTableGenerator(TABLE_NOISE_DIM), 'text');
    const result = await evalTextDigits(folder, { perPrompt: 4, fidSamples: 100 });
    expect(result.accuracy).toBeGreaterThan(0.95);
    // Same digits from the same noise: the two prompt sets give identical images.
    expect(result.realism.bareWords).toEqual(result.realism.plainPrompts);
    expect(result.realism.plainPrompts.samples).toBe(100);
    expect(result.realism.plainPrompts.precision).toBeGreaterThan(0.8);
    const report = formatDigitsTextTable(result).join('\n');
    expect(report).toMatch(/held-out prompts without style words: FID \d+\.\d\d .*target ≤ 3\.5: (met|MISSED)/);
    expect(report).toMatch(/bare digit words \("seven"\): +FID/);
  });

  it('scores bare words worse than plain prompts when every word draws a 1', async () => {
    const folder = await writeTableGenerator(root, 'words-as-one', textTableGenerator(TABLE_NOISE_DIM, 1), 'text');
    const { realism, realismTargetsMet } = await evalTextDigits(folder, { perPrompt: 4, fidSamples: 100 });
    // FID ignores which digit was asked for, but sees the whole set collapse onto ones; plain
    // prompts name about half their digits as numerals, so they collapse only half-way.
    expect(realism.bareWords.fid).toBeGreaterThan(2 * realism.plainPrompts.fid);
    expect(realism.bareWords.recall).toBeLessThan(realism.plainPrompts.recall);
    expect(realismTargetsMet).toBe(false);
  });
});
