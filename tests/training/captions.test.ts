/**
 * The digits-text caption builder: style words from measured ink and slant (per-class terciles),
 * captions that always name the digit and exactly the attributes asked for, a vocabulary that
 * covers every training caption, disjoint training and held-out templates, and mismatched styles
 * that really contradict the original.
 */
import { describe, expect, it } from 'vitest';
import { tokenize, words } from '../../server/generation/tokenizer.ts';
import {
  caption,
  captionTokens,
  captionVocabulary,
  DIGIT_WORDS,
  type DigitStyle,
  digitStyles,
  HELD_OUT_TEMPLATES,
  mismatchedStyle,
  renderTemplate,
  StyleFreeCaptions,
  SLANT_WORDS,
  TRAINING_TEMPLATES,
  WEIGHT_WORDS,
} from '../../training/data/captions.ts';
import type { DigitSet } from '../../training/data/mnist.ts';
import { seededRandom } from '../../training/data/random.ts';

const SIDE = 28;

/** A white bar `width` pixels wide, rows 4–23, shifted right by `shear` pixels per row going up. */
function bar(width: number, shear = 0): Float32Array {
  const image = new Float32Array(SIDE * SIDE).fill(-1);
  for (let y = 4; y < 24; y++) {
    const left = Math.round(12 + (14 - y) * shear);
    for (let x = left; x < left + width; x++) image[y * SIDE + x] = 1;
  }
  return image;
}

function digitSet(images: Float32Array[], labels: number[]): DigitSet {
  const packed = new Float32Array(images.length * SIDE * SIDE);
  images.forEach((image, i) => packed.set(image, i * SIDE * SIDE));
  return { images: packed, labels: Int32Array.from(labels), count: images.length };
}

const STYLE_WORDS = new Set([...Object.values(WEIGHT_WORDS).flat(), ...Object.values(SLANT_WORDS).flat()]);
const styleWordsOf = (text: string) => words(text).filter((w) => STYLE_WORDS.has(w));

describe('digitStyles', () => {
  it('labels the heaviest third of a class thick and the lightest third thin, the middle nothing', () => {
    // Class 3: bar widths 1…6 (ink grows with width); class 5: the same widths in reverse order.
    const widths = [1, 2, 3, 4, 5, 6];
    const set = digitSet(
      [...widths.map((w) => bar(w)), ...[...widths].reverse().map((w) => bar(w))],
      [...widths.map(() => 3), ...widths.map(() => 5)],
    );
    const weights = digitStyles(set).map((s) => s.weight);
    expect(weights).toEqual(['thin', 'thin', null, null, 'thick', 'thick', 'thick', 'thick', null, null, 'thin', 'thin']);
  });

  it('labels clearly right-leaning digits slanted and the most vertical third upright, within each class', () => {
    const shears = [0, 0, 0, 0.2, 0.3, 0.4];
    const styles = digitStyles(
      digitSet(
        shears.map((s) => bar(2, s)),
        shears.map(() => 1),
      ),
    );
    expect(styles.map((s) => s.slant)).toEqual(['upright', 'upright', 'upright', null, 'slanted', 'slanted']);
    // A left-leaning digit is never "slanted", and a class with no clear lean has no slanted digits.
    const leaning = digitStyles(
      digitSet(
        [-0.3, -0.2, 0, 0.01, 0.02, 0.03].map((s) => bar(2, s)),
        [7, 7, 7, 7, 7, 7],
      ),
    );
    expect(leaning.some((s) => s.slant === 'slanted')).toBe(false);
  });
});

describe('caption', () => {
  const random = seededRandom(42);
  const style: DigitStyle = { label: 7, weight: 'thick', slant: 'slanted' };

  it('always names the digit, as a numeral or a word, and uses both forms', () => {
    const forms = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const digitWords = words(caption(style, random)).filter((w) => w === '7' || w === 'seven');
      expect(digitWords).toHaveLength(1);
      forms.add(digitWords[0]!);
    }
    expect(forms).toEqual(new Set(['7', 'seven']));
  });

  it('mentions exactly the style the digit has, with both synonyms, in varied orders', () => {
    const styled = { templates: TRAINING_TEMPLATES.filter((t) => t !== '{digit}') };
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const found = styleWordsOf(caption(style, random, styled));
      expect(found).toHaveLength(2);
      expect(WEIGHT_WORDS.thick).toContain(found.find((w) => !SLANT_WORDS.slanted.includes(w)));
      expect(SLANT_WORDS.slanted).toContain(found.find((w) => !WEIGHT_WORDS.thick.includes(w)));
      seen.add(found.join(' '));
    }
    expect(seen.size).toBe(8); // 2 weight synonyms × 2 slant synonyms × 2 orders
    for (let i = 0; i < 50; i++) expect(styleWordsOf(caption({ label: 2, weight: null, slant: null }, random))).toEqual([]);
    for (let i = 0; i < 50; i++) expect(styleWordsOf(caption({ label: 2, weight: 'thin', slant: null }, random, styled)).length).toBe(1);
  });

  it('drops style words with probability 1 − keepAttribute (and in the bare-digit template)', () => {
    const kept = Array.from({ length: 4000 }, () => styleWordsOf(caption(style, random, { keepAttribute: 0.7 })).length);
    const rate = kept.reduce((a, b) => a + b, 0) / (2 * kept.length);
    const expected = 0.7 * (1 - 1 / TRAINING_TEMPLATES.length);
    expect(Math.abs(rate - expected)).toBeLessThan(0.03);
    for (let i = 0; i < 50; i++) expect(styleWordsOf(caption(style, random, { keepAttribute: 0 }))).toEqual([]);
  });

  it('uses many templates, and renders empty slots without leftover punctuation', () => {
    const captions = new Set(Array.from({ length: 500 }, () => caption({ label: 3, weight: null, slant: null }, random)));
    expect(captions.size).toBeGreaterThan(20);
    for (const text of captions) expect(text).not.toMatch(/^[ ,]|[ ,]$|\s,|,,|\s\s/);
    expect(renderTemplate('{digit}, {weight}, {slant}', { digit: 'three', weight: '', slant: '', style: '' })).toBe('three');
    expect(renderTemplate('draw me a {style} {digit} please', { digit: '3', weight: 'bold', slant: 'italic', style: 'bold italic' })).toBe(
      'draw me a bold italic 3 please',
    );
  });
});

describe('templates and vocabulary', () => {
  it('keeps training and held-out templates disjoint', () => {
    expect(HELD_OUT_TEMPLATES.filter((t) => TRAINING_TEMPLATES.includes(t))).toEqual([]);
    expect(HELD_OUT_TEMPLATES.length).toBeGreaterThanOrEqual(5);
    expect(TRAINING_TEMPLATES.length).toBeGreaterThanOrEqual(12);
  });

  it('covers every word of every training caption, and every digit and style word of held-out prompts', () => {
    const vocabulary = captionVocabulary();
    const random = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const style: DigitStyle = {
        label: i % 10,
        weight: (['thick', 'thin', null] as const)[i % 3]!,
        slant: (['slanted', 'upright', null] as const)[(i % 4) % 3]!,
      };
      expect(tokenize(caption(style, random), vocabulary, 32).ignored).toEqual([]);
      const heldOut = tokenize(caption(style, random, { templates: HELD_OUT_TEMPLATES }), vocabulary, 32);
      expect(heldOut.known.filter((w) => DIGIT_WORDS.includes(w as never) || /^\d$/.test(w) || STYLE_WORDS.has(w)).length).toBe(
        1 + (style.weight ? 1 : 0) + (style.slant ? 1 : 0),
      );
    }
  });

  it('encodes captions through the shared tokenizer as int32 rows padded with 0', () => {
    const vocabulary = captionVocabulary();
    const ids = captionTokens(['a bold 7', 'Seven, thin!', 'unknown words only'], vocabulary, 5);
    const id = (w: string) => vocabulary.idOf(w)!;
    expect([...ids]).toEqual([id('a'), id('bold'), id('7'), 0, 0, id('seven'), id('thin'), 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('without filler words, knows only digits and style words, so every template gives the bag of words it names', () => {
    const vocabulary = captionVocabulary({ fillerWords: false });
    expect(vocabulary.size).toBe(10 + 10 + STYLE_WORDS.size);
    const random = seededRandom(11);
    const style: DigitStyle = { label: 7, weight: 'thick', slant: null };
    const bags = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const known = tokenize(caption(style, random), vocabulary, 32).known;
      bags.add(
        known
          .map((w) => (w === '7' ? 'seven' : w === 'bold' ? 'thick' : w))
          .sort()
          .join(' '),
      );
    }
    // The bare '{digit}' template names no style; every other one names exactly the style.
    expect([...bags].sort()).toEqual(['seven', 'seven thick']);
  });
});

describe('mismatchedStyle', () => {
  it('always contradicts the original: another digit, or the same digit with an attribute flipped', () => {
    const random = seededRandom(3);
    const originals: DigitStyle[] = [
      { label: 4, weight: 'thick', slant: 'upright' },
      { label: 0, weight: null, slant: 'slanted' },
      { label: 9, weight: null, slant: null },
    ];
    let flipped = 0;
    for (let i = 0; i < 600; i++) {
      const original = originals[i % 3]!;
      const wrong = mismatchedStyle(original, random);
      if (wrong.label !== original.label) continue;
      flipped += 1;
      const contradicts =
        (wrong.weight !== null && original.weight !== null && wrong.weight !== original.weight) ||
        (wrong.slant !== null && original.slant !== null && wrong.slant !== original.slant);
      expect(contradicts).toBe(true);
    }
    expect(flipped).toBeGreaterThan(100);
  });
});

describe('StyleFreeCaptions', () => {
  // One class: 20 digits without style words, 40 thick and slanted, 40 thin only.
  const styles: DigitStyle[] = [
    ...Array.from({ length: 20 }, () => ({ label: 3, weight: null, slant: null })),
    ...Array.from({ length: 40 }, () => ({ label: 3, weight: 'thick' as const, slant: 'slanted' as const })),
    ...Array.from({ length: 40 }, () => ({ label: 3, weight: 'thin' as const, slant: null })),
  ];
  const styleLess = (i: number) => i < 20;
  /** Share of style-less digits among the digits that got a digit-only caption. */
  function styleLessShareOfPlain(draw: (i: number) => { index: number; caption: string }): number {
    let plain = 0;
    let plainStyleLess = 0;
    for (let n = 0; n < 40_000; n++) {
      const { index, caption: text } = draw(n % styles.length);
      if (styleWordsOf(text).length > 0) continue;
      plain += 1;
      if (styleLess(index)) plainStyleLess += 1;
    }
    return plainStyleLess / plain;
  }

  it('gives digit-only captions to digits in proportion to the data, where dropping words alone does not', () => {
    const random = seededRandom(5);
    const captions = new StyleFreeCaptions(styles, 0.5, 0.7);
    // The data's share is 0.2; the swap leaves p + (1 − p)·q against p·(1 + (1 − p)·q): ≈ 0.21.
    const share = styleLessShareOfPlain((i) => captions.draw(i, random));
    expect(share).toBeGreaterThan(0.17);
    expect(share).toBeLessThan(0.24);
    // keepAttribute alone: a style-less digit is always digit-only, a thick slanted one 9 % of the time.
    const older = styleLessShareOfPlain((i) => ({ index: i, caption: caption(styles[i]!, random, { keepAttribute: 0.7 }) }));
    expect(older).toBeGreaterThan(0.45);
  });

  it('keeps the caption true to the digit drawn, with one or both style words when it has two', () => {
    const random = seededRandom(6);
    const captions = new StyleFreeCaptions(styles, 0.5, 0.7);
    const counts = new Set<number>();
    for (let n = 0; n < 2000; n++) {
      const { index, caption: text } = captions.draw(n % styles.length, random);
      const found = styleWordsOf(text);
      const style = styles[index]!;
      for (const word of found) {
        const weight = Object.entries(WEIGHT_WORDS).find(([, synonyms]) => synonyms.includes(word))?.[0];
        const slant = Object.entries(SLANT_WORDS).find(([, synonyms]) => synonyms.includes(word))?.[0];
        expect(weight === undefined || weight === style.weight).toBe(true);
        expect(slant === undefined || slant === style.slant).toBe(true);
      }
      if (style.weight === 'thick') counts.add(found.length);
    }
    expect(counts).toEqual(new Set([0, 1, 2]));
  });

  it('never swaps a digit at plainCaption 1, and refuses a probability outside [0, 1]', () => {
    const random = seededRandom(7);
    const captions = new StyleFreeCaptions(styles, 1, 0.7);
    for (let i = 0; i < 100; i++) {
      const { index, caption: text } = captions.draw(i, random);
      expect(index).toBe(i);
      expect(styleWordsOf(text)).toEqual([]);
    }
    expect(() => new StyleFreeCaptions(styles, 1.5, 0.7)).toThrow(/plainCaption must be in \[0, 1\]/);
  });
});
