/**
 * The one prompt tokenizer, shared by training (which builds the vocabulary and encodes captions)
 * and serving (which encodes prompts). Both sides must agree token for token, so it lives in one
 * dependency-free module that both import.
 *
 * Rules: lower-case, split on anything that is not a letter or a digit (Unicode-aware), look each
 * word up in the vocabulary. Id 0 is padding; vocabulary word i (0-based) has id i + 1. Unknown words
 * are dropped and reported, never mapped to a catch-all id.
 *
 * Vocabulary file (vocab.json in the model folder): a JSON array of distinct lower-case words,
 * e.g. `["a", "bold", "seven", ...]`.
 */
import { readFile } from 'node:fs/promises';

/** Id used to pad token rows to `maxTokens`. */
export const PADDING_ID = 0;

/** Splits text into lower-case words, the unit both the vocabulary and prompts are made of. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

export class Vocabulary {
  private readonly ids: Map<string, number>;

  /** Words in id order: `words[i]` has id i + 1. */
  private constructor(readonly words: readonly string[]) {
    this.ids = new Map(words.map((word, i) => [word, i + 1]));
  }

  /** Builds a vocabulary from words; order is kept, so training fixes the ids it exports. */
  static fromWords(list: Iterable<string>): Vocabulary {
    const seen = new Set<string>();
    for (const word of list) {
      const normalised = words(word);
      if (normalised.length !== 1 || normalised[0] !== word) {
        throw new Error(`vocabulary entry ${JSON.stringify(word)} is not a single lower-case word`);
      }
      seen.add(word);
    }
    if (seen.size === 0) throw new Error('vocabulary is empty');
    return new Vocabulary([...seen]);
  }

  /** Parses the contents of a vocabulary file (already JSON-decoded). */
  static fromJson(raw: unknown): Vocabulary {
    if (!Array.isArray(raw) || !raw.every((w): w is string => typeof w === 'string')) {
      throw new Error('vocabulary must be a JSON array of strings');
    }
    if (new Set(raw).size !== raw.length) throw new Error('vocabulary has duplicate words');
    return Vocabulary.fromWords(raw);
  }

  static async load(path: string): Promise<Vocabulary> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read vocabulary ${path}: ${(error as Error).message}`);
    }
    return Vocabulary.fromJson(parsed);
  }

  /** The vocabulary file contents. */
  toJson(): string {
    return JSON.stringify(this.words);
  }

  /** Id of a (normalised) word, or undefined when unknown. */
  idOf(word: string): number | undefined {
    return this.ids.get(word);
  }

  get size(): number {
    return this.words.length;
  }
}

export interface Tokenized {
  /** `maxTokens` ids, known words first in prompt order, then padding. */
  ids: BigInt64Array;
  /** Known words that were encoded. */
  known: string[];
  /** Words not in the vocabulary, in prompt order (repeats kept once). */
  ignored: string[];
  /** Known words dropped because the prompt had more than `maxTokens` of them. */
  truncated: string[];
}

/** Encodes a prompt into a fixed-length row of token ids. */
export function tokenize(text: string, vocabulary: Vocabulary, maxTokens: number): Tokenized {
  const ids = new BigInt64Array(maxTokens).fill(BigInt(PADDING_ID));
  const known: string[] = [];
  const ignored: string[] = [];
  const truncated: string[] = [];
  for (const word of words(text)) {
    const id = vocabulary.idOf(word);
    if (id === undefined) {
      if (!ignored.includes(word)) ignored.push(word);
    } else if (known.length < maxTokens) {
      ids[known.length] = BigInt(id);
      known.push(word);
    } else {
      truncated.push(word);
    }
  }
  return { ids, known, ignored, truncated };
}
