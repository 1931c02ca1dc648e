import { describe, expect, it } from 'vitest';
import { imageSeed, noiseBatch, noiseVector, seededGenerator, xoshiro128ss } from '../../server/generation/noise.ts';
import { tokenize, Vocabulary, words } from '../../server/generation/tokenizer.ts';
import { parseGenerateBody, parseGenerateQuery } from '../../server/generation/request.ts';

describe('noise', () => {
  it('xoshiro128** matches the reference C implementation', () => {
    // First outputs of Blackman & Vigna's xoshiro128starstar.c from state {1, 2, 3, 4}.
    const next = xoshiro128ss([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, next)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('is a pure function of the seed, and neighbouring seeds are unrelated', () => {
    expect(noiseVector(42, 100, 'normal')).toEqual(noiseVector(42, 100, 'normal'));
    const a = noiseVector(42, 1000, 'normal');
    const b = noiseVector(43, 1000, 'normal');
    let dot = 0;
    for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
    expect(Math.abs(dot / a.length)).toBeLessThan(0.1);
  });

  it('normal noise has mean 0 and variance 1; uniform lies in [-1, 1] with variance 1/3', () => {
    const normal = noiseVector(7, 20_000, 'normal');
    const uniform = noiseVector(7, 20_000, 'uniform');
    const stats = (v: Float32Array) => {
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      return { mean, variance: v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length };
    };
    expect(stats(normal).mean).toBeCloseTo(0, 1);
    expect(stats(normal).variance).toBeCloseTo(1, 1);
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...uniform)).toBeLessThanOrEqual(1);
    expect(stats(uniform).variance).toBeCloseTo(1 / 3, 1);
    expect(normal.every(Number.isFinite)).toBe(true);
  });

  it('image i of a batch seeded s uses seed s + i, wrapping at 2^32', () => {
    const batch = noiseBatch(4_294_967_295, 3, 16, 'normal');
    expect(batch.subarray(0, 16)).toEqual(noiseVector(4_294_967_295, 16, 'normal'));
    expect(batch.subarray(16, 32)).toEqual(noiseVector(0, 16, 'normal'));
    expect(batch.subarray(32, 48)).toEqual(noiseVector(1, 16, 'normal'));
    expect(imageSeed(10, 5)).toBe(15);
    expect(seededGenerator(0)()).not.toBe(seededGenerator(1)());
  });
});

describe('tokenizer', () => {
  const vocabulary = Vocabulary.fromJson(['a', 'thick', 'slanted', 'seven', '7']);

  it('lower-cases and splits on anything but letters and digits', () => {
    expect(words('A thick,  SLANTED-seven!! (7)')).toEqual(['a', 'thick', 'slanted', 'seven', '7']);
    expect(words('  ')).toEqual([]);
    expect(words('Éclair über')).toEqual(['éclair', 'über']);
  });

  it('maps words to ids 1.. in vocabulary order, pads with 0 and reports unknown words', () => {
    const result = tokenize('Draw a THICK seven, please please', vocabulary, 6);
    expect(Array.from(result.ids, Number)).toEqual([1, 2, 4, 0, 0, 0]);
    expect(result.known).toEqual(['a', 'thick', 'seven']);
    expect(result.ignored).toEqual(['draw', 'please']);
    expect(result.truncated).toEqual([]);
  });

  it('drops known words beyond maxTokens and says so', () => {
    const result = tokenize('a thick slanted seven', vocabulary, 2);
    expect(Array.from(result.ids, Number)).toEqual([1, 2]);
    expect(result.truncated).toEqual(['slanted', 'seven']);
  });

  it('round-trips through its file format and rejects bad files', () => {
    expect(Vocabulary.fromJson(JSON.parse(vocabulary.toJson())).words).toEqual(vocabulary.words);
    expect(() => Vocabulary.fromJson({ a: 1 })).toThrow(/array of strings/);
    expect(() => Vocabulary.fromJson(['a', 'a'])).toThrow(/duplicate/);
    expect(() => Vocabulary.fromJson(['Seven'])).toThrow(/single lower-case word/);
    expect(() => Vocabulary.fromJson(['two words'])).toThrow(/single lower-case word/);
    expect(() => Vocabulary.fromJson([])).toThrow(/empty/);
  });
});

describe('generate request', () => {
  it('fills defaults and repeats a single label count times', () => {
    expect(parseGenerateBody({ label: 7, count: 3 })).toEqual({
      ok: true,
      request: { conditioning: { kind: 'labels', labels: [7, 7, 7] }, count: 3, seed: undefined, format: 'png', scale: 1 },
    });
    expect(parseGenerateBody({ labels: ['1', 2], seed: 0 })).toMatchObject({ ok: true, request: { count: 2, seed: 0 } });
    expect(parseGenerateBody({ prompt: 'a seven', format: 'webp', scale: 8, seed: 4294967295 })).toMatchObject({
      ok: true,
      request: { conditioning: { kind: 'prompt', prompt: 'a seven' }, count: 1, format: 'webp', scale: 8 },
    });
  });

  it.each([
    [{ label: 1, prompt: 'x' }, /only one of label, labels or prompt/],
    [{ count: 2 }, /give a label, labels or a prompt/],
    [{ label: 1, count: 65 }, /count: must be at most 64/],
    [{ label: 1, count: 0 }, /count: must be at least 1/],
    [{ label: 1, seed: 1.5 }, /seed: must be an integer/],
    [{ label: 1, seed: -1 }, /seed: must be an integer/],
    [{ label: 1, seed: 4294967296 }, /seed: must be an integer/],
    [{ label: 1, seed: '42' }, /seed: must be an integer/],
    [{ label: 1, scale: 9 }, /scale: must be at most 8/],
    [{ label: 1.5 }, /label: must be a class index/],
    [{ labels: [] }, /labels: must not be empty/],
    [{ labels: [1, 2], count: 3 }, /count: must equal the number of labels/],
    [{ label: 1, format: 'gif' }, /format/],
    [{ label: 1, colour: 'red' }, /colour/],
    [[1, 2], /expected object/],
  ])('rejects %j', (body, message) => {
    const result = parseGenerateBody(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join('; ')).toMatch(message);
  });

  it('reads the GET form with the same meaning', () => {
    expect(parseGenerateQuery({ label: '7', seed: '42', count: '2', format: 'jpeg', scale: '4' })).toEqual({
      ok: true,
      request: { conditioning: { kind: 'labels', labels: ['7', '7'] }, count: 2, seed: 42, format: 'jpeg', scale: 4 },
    });
    expect(parseGenerateQuery({ labels: ['1,2', '3'] })).toMatchObject({
      ok: true,
      request: { conditioning: { labels: ['1', '2', '3'] }, count: 3 },
    });
    expect(parseGenerateQuery({ label: '1', seed: '4.2' })).toMatchObject({ ok: false });
    expect(parseGenerateQuery({ label: '1', seed: 'abc' })).toMatchObject({ ok: false });
    expect(parseGenerateQuery({ label: ['1', '2'] })).toEqual({ ok: false, problems: ['label: given more than once'] });
  });
});
