/**
 * Captions for MNIST digits, for the text-conditioned recipe `digits-text`.
 *
 * Each training digit gets style attributes measured from its pixels (training/eval/measures.ts, the
 * same measures the eval uses):
 * - stroke weight from ink mass, by terciles within its class (a heavy 1 and a heavy 8 differ in
 *   ink): the heaviest third is "thick"/"bold", the lightest third "thin"/"light", the middle third
 *   gets no weight word;
 * - slant from second-order moments, also within its class: the most right-leaning third, if it
 *   leans clearly (slant ≥ MIN_SLANTED), is "slanted"/"italic"; the third closest to vertical
 *   (|slant| smallest) is "upright"/"straight"; the rest get no slant word.
 *
 * A caption is drawn afresh every time a digit is used: a random template, synonym, numeral or
 * word for the digit, and each attribute word kept with probability `keepAttribute`. A prompt with
 * a style word covers the digits that have that style; a prompt with only the digit covers the
 * class, weighted towards digits with fewer style words (they lose all their words more often;
 * StyleFreeCaptions removes that lean). Training and eval use disjoint template sets, so the eval
 * measures whether the model understands the words, not the sentences it saw.
 *
 * Templates are strings with slots: {digit}, {style} (the attribute words present, in random
 * order), {weight} and {slant}. Empty slots collapse and the leftover punctuation is tidied;
 * punctuation never reaches the model anyway (the shared tokenizer splits on it).
 */
import { tokenize, Vocabulary, words } from '../../server/shared.ts';
import { inkMass, slant } from '../eval/measures.ts';
import { type DigitSet, MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE } from './mnist.ts';

export type Weight = 'thick' | 'thin';
export type Slant = 'slanted' | 'upright';

/** The style a caption may mention for one digit; null = no word for it. */
export interface DigitStyle {
  label: number;
  weight: Weight | null;
  slant: Slant | null;
}

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;
export const WEIGHT_WORDS: Record<Weight, readonly string[]> = { thick: ['thick', 'bold'], thin: ['thin', 'light'] };
export const SLANT_WORDS: Record<Slant, readonly string[]> = { slanted: ['slanted', 'italic'], upright: ['upright', 'straight'] };

/** A right-leaning digit must shear at least this much (horizontal pixels per row) to be "slanted". */
export const MIN_SLANTED = 0.1;

/** Templates the model trains on. The bare '{digit}' names only the digit, whatever its style. */
export const TRAINING_TEMPLATES: readonly string[] = [
  '{digit}',
  '{style} {digit}',
  'a {style} {digit}',
  'the digit {digit}, {style}',
  '{digit}, {weight}, {slant}',
  'draw me a {style} {digit} please',
  'write a {style} {digit}',
  '{style} handwritten {digit}',
  'an image of a {style} {digit}',
  'show {digit} in a {style} style',
  '{digit} please, {style}',
  'give me the number {digit}, {style}',
  '{style} digit {digit}',
  'number {digit} {weight} {slant}',
  '{weight} {slant} {digit}, handwritten',
  'handwriting of {digit}, {slant} {weight}',
];

/**
 * Templates for the eval only: none appears in TRAINING_TEMPLATES, and most of their filler words
 * are not in the vocabulary (the tokenizer drops them, as the server does for any prompt).
 */
export const HELD_OUT_TEMPLATES: readonly string[] = [
  'could you sketch some {style} {digit}',
  '{digit} that looks {style}',
  'i would like a {style} {digit}',
  'generate {style} {digit} now',
  'my favourite is the {style} {digit}',
  '{style} {digit} on black paper',
];

/**
 * The vocabulary of the training captions: digits (numerals and words) and style words, and with
 * `fillerWords` every other word of the training templates too. Without them the tokenizer drops
 * the filler as it drops any unknown word, so "draw me a 7 please" and "7" become the same tokens
 * and a prompt's code depends only on the words that carry meaning.
 */
export function captionVocabulary({ fillerWords = true }: { fillerWords?: boolean } = {}): Vocabulary {
  const all = [
    ...DIGIT_WORDS,
    ...Array.from({ length: MNIST_CLASSES }, (_, d) => String(d)),
    ...Object.values(WEIGHT_WORDS).flat(),
    ...Object.values(SLANT_WORDS).flat(),
    ...(fillerWords ? TRAINING_TEMPLATES.flatMap((template) => words(template.replace(/\{[a-z]+\}/g, ' '))) : []),
  ];
  return Vocabulary.fromWords(all);
}

/** Value at quantile q (0..1) of sorted values, by linear interpolation. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

/** Measures every digit and assigns its weight and slant words by per-class terciles (see the module comment). */
export function digitStyles(set: DigitSet): DigitStyle[] {
  const ink = new Float64Array(set.count);
  const slants = new Float64Array(set.count);
  for (let i = 0; i < set.count; i++) {
    const image = set.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
    ink[i] = inkMass(image);
    slants[i] = slant(image, MNIST_SIDE);
  }
  const styles: DigitStyle[] = Array.from(set.labels, (label) => ({ label, weight: null, slant: null }));
  for (let label = 0; label < MNIST_CLASSES; label++) {
    const members = styles.flatMap((_, i) => (set.labels[i] === label ? [i] : []));
    if (members.length === 0) continue;
    const sortedInk = members.map((i) => ink[i]!).sort((a, b) => a - b);
    const sortedSlant = members.map((i) => slants[i]!).sort((a, b) => a - b);
    const sortedTilt = members.map((i) => Math.abs(slants[i]!)).sort((a, b) => a - b);
    const [thinBelow, thickAbove] = [quantile(sortedInk, 1 / 3), quantile(sortedInk, 2 / 3)];
    const slantedAbove = Math.max(MIN_SLANTED, quantile(sortedSlant, 2 / 3));
    const uprightBelow = quantile(sortedTilt, 1 / 3);
    for (const i of members) {
      const style = styles[i]!;
      if (ink[i]! > thickAbove) style.weight = 'thick';
      else if (ink[i]! < thinBelow) style.weight = 'thin';
      if (slants[i]! >= slantedAbove) style.slant = 'slanted';
      else if (Math.abs(slants[i]!) <= uprightBelow) style.slant = 'upright';
    }
  }
  return styles;
}

/**
 * Token ids of captions as the model's int32 [count, maxTokens] input, through the shared tokenizer
 * (the server encodes prompts with the same `tokenize`, so the ids agree).
 */
export function captionTokens(captions: readonly string[], vocabulary: Vocabulary, maxTokens: number): Int32Array {
  const ids = new Int32Array(captions.length * maxTokens);
  captions.forEach((text, row) => {
    const encoded = tokenize(text, vocabulary, maxTokens).ids;
    for (let t = 0; t < maxTokens; t++) ids[row * maxTokens + t] = Number(encoded[t]);
  });
  return ids;
}

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!;

/** Fills a template's slots and tidies what empty slots leave behind. */
export function renderTemplate(template: string, slots: { digit: string; weight: string; slant: string; style: string }): string {
  return template
    .replace(/\{(digit|weight|slant|style)\}/g, (_, slot: keyof typeof slots) => slots[slot])
    .replace(/\s+/g, ' ')
    .replace(/\s+,/g, ',')
    .replace(/,(\s*,)+/g, ',')
    .replace(/^[\s,]+|[\s,]+$/g, '');
}

export interface CaptionOptions {
  /** The templates to draw from (default TRAINING_TEMPLATES). */
  templates?: readonly string[];
  /** Probability of mentioning each attribute the digit has (default 1). */
  keepAttribute?: number;
}

/** One caption for a digit of style `style`, drawn with `random`. */
export function caption(style: DigitStyle, random: () => number, options: CaptionOptions = {}): string {
  const templates = options.templates ?? TRAINING_TEMPLATES;
  const keep = options.keepAttribute ?? 1;
  const template = pick(templates, random);
  const digit = random() < 0.5 ? String(style.label) : DIGIT_WORDS[style.label]!;
  const weight = style.weight !== null && random() < keep ? pick(WEIGHT_WORDS[style.weight], random) : '';
  const slantWord = style.slant !== null && random() < keep ? pick(SLANT_WORDS[style.slant], random) : '';
  const present = [weight, slantWord].filter((w) => w !== '');
  if (present.length === 2 && random() < 0.5) present.reverse();
  return renderTemplate(template, { digit, weight, slant: slantWord, style: present.join(' ') });
}

/**
 * Draws (digit, caption) pairs in which a digit-only caption does not depend on the digit's style,
 * so a prompt of just "seven" learns every seven, not mostly the plain ones.
 *
 * With `keepAttribute` alone, a digit without style words always gets a digit-only caption and a
 * digit with two gets one 9 % of the time (at 0.7), so digit-only prompts lean to the middle of
 * each class. Here each caption is digit-only with probability `plainCaption` for every digit;
 * otherwise it keeps each of the digit's style words with probability `keepAttribute` but at
 * least one. A digit with no style word can only ever be captioned digit-only, so it is drawn at
 * the same rate as the others only `plainCaption` of the time; otherwise it is swapped for a random
 * digit of its class. Its share of digit-only captions is then p + (1 − p)·q against p·(1 + (1 −
 * p)·q) for the others (p = `plainCaption`, q: its class's share of style-less digits): at p = 0.5
 * within 10 % for q ≤ 0.2, where `keepAttribute` alone gives a factor of 11.
 */
export class StyleFreeCaptions {
  private readonly classMembers: number[][];

  constructor(
    private readonly styles: readonly DigitStyle[],
    private readonly plainCaption: number,
    private readonly keepAttribute: number,
  ) {
    if (!(plainCaption >= 0 && plainCaption <= 1)) throw new Error(`plainCaption must be in [0, 1], got ${plainCaption}`);
    this.classMembers = Array.from({ length: MNIST_CLASSES }, () => []);
    styles.forEach((style, i) => this.classMembers[style.label]!.push(i));
  }

  /** The digit to use in place of `index` (itself, or a swap for a style-less one) and its caption. */
  draw(index: number, random: () => number): { index: number; caption: string } {
    let chosen = index;
    if (this.hasNoStyle(chosen) && random() >= this.plainCaption) {
      const members = this.classMembers[this.styles[chosen]!.label]!;
      chosen = members[Math.floor(random() * members.length)]!;
    }
    const style = this.styles[chosen]!;
    if (random() < this.plainCaption) return { index: chosen, caption: caption({ label: style.label, weight: null, slant: null }, random) };
    let weight = style.weight !== null && random() < this.keepAttribute ? style.weight : null;
    let slant = style.slant !== null && random() < this.keepAttribute ? style.slant : null;
    if (weight === null && slant === null && !this.hasNoStyle(chosen)) {
      if (style.weight !== null && (style.slant === null || random() < 0.5)) weight = style.weight;
      else slant = style.slant;
    }
    return { index: chosen, caption: caption({ label: style.label, weight, slant }, random) };
  }

  private hasNoStyle(index: number): boolean {
    const style = this.styles[index]!;
    return style.weight === null && style.slant === null;
  }
}

/**
 * A style that contradicts `style`, for GAN-CLS's mismatched pairs: half the time another digit
 * (with a random style), otherwise the same digit with an attribute flipped to its opposite
 * (thick ↔ thin, slanted ↔ upright); a digit without attributes gets another digit.
 */
export function mismatchedStyle(style: DigitStyle, random: () => number): DigitStyle {
  const flippable = [style.weight !== null ? 'weight' : null, style.slant !== null ? 'slant' : null].filter((a) => a !== null);
  if (flippable.length === 0 || random() < 0.5) {
    const label = (style.label + 1 + Math.floor(random() * (MNIST_CLASSES - 1))) % MNIST_CLASSES;
    const weights: (Weight | null)[] = ['thick', 'thin', null];
    const slants: (Slant | null)[] = ['slanted', 'upright', null];
    return { label, weight: pick(weights, random), slant: pick(slants, random) };
  }
  const flip = pick(flippable, random);
  return flip === 'weight'
    ? { label: style.label, weight: style.weight === 'thick' ? 'thin' : 'thick', slant: null }
    : { label: style.label, weight: null, slant: style.slant === 'slanted' ? 'upright' : 'slanted' };
}
