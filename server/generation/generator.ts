/**
 * One conditional generator as the endpoint sees it: request conditioning → model feeds (labels
 * resolved against the manifest's classes, prompts tokenized with the model's vocabulary, noise
 * from the seed), one run through the model's dynamic batcher, rows → images.
 *
 * Model-dependent mistakes are domain errors (server/errors.ts): InvalidRequestError for a label
 * out of range or the wrong kind of conditioning for this model, NoKnownWordError for a prompt
 * without a single known word.
 */
import path from 'node:path';
import type { ConditionalGenerationManifest } from '../models/manifest.ts';
import type { BatchTiming, DynamicBatcher } from '../inference/batcher.ts';
import type { InputTensor } from '../inference/contract.ts';
import type { RawImage } from '../imaging/grid.ts';
import { InvalidRequestError, NoKnownWordError } from '../errors.ts';
import { imageSeed, noiseBatch } from './noise.ts';
import { tokenize, Vocabulary } from './tokenizer.ts';
import type { Conditioning, LabelValue } from './request.ts';
import { outputRowToImage } from '../imaging/rows.ts';

/** How many vocabulary words a 422 lists as a hint. */
const VOCABULARY_HINT_SIZE = 40;

/** One generated image: its pixels, or, when the worker encoded it (see GenerateOptions.pngScale), its PNG. */
export type GeneratedImage = ({ image: RawImage; png?: undefined } | { image?: undefined; png: Buffer }) & {
  seed: number;
  /** Class index and name, for label-conditioned images. */
  label?: number;
  className?: string;
};

export interface GenerateOptions {
  /** Aborting drops the work if the client leaves before it runs. */
  signal?: AbortSignal;
  /**
   * Ask the inference worker for each image as a PNG upscaled by this factor (off the event loop).
   * Images come back as `png` where the worker made one, as pixels otherwise.
   */
  pngScale?: number;
}

export interface Generation {
  images: GeneratedImage[];
  /** Batching wait, onnxruntime time and batch size behind these images. */
  timing: BatchTiming;
  /** Prompt words not in the vocabulary (prompt requests only). */
  ignoredWords?: string[];
  /** Known prompt words beyond the model's maxTokens, dropped (prompt requests only). */
  truncatedWords?: string[];
}

export class Generator {
  private constructor(
    readonly manifest: ConditionalGenerationManifest,
    private readonly vocabulary: Vocabulary | null,
    private readonly batcher: DynamicBatcher,
  ) {}

  /** Builds the generator of a loaded model, reading its vocabulary file when it has a text input. */
  static async create(manifest: ConditionalGenerationManifest, modelDir: string, batcher: DynamicBatcher): Promise<Generator> {
    const vocabulary = manifest.text ? await Vocabulary.load(path.resolve(modelDir, manifest.text.vocab)) : null;
    return new Generator(manifest, vocabulary, batcher);
  }

  /** Generates `count` images seeded s, s + 1, …. */
  async generate(conditioning: Conditioning, count: number, seed: number, { signal, pngScale }: GenerateOptions = {}): Promise<Generation> {
    const { manifest } = this;
    const feeds: Record<string, InputTensor> = {
      [manifest.noise.name]: {
        type: 'float32',
        data: noiseBatch(seed, count, manifest.noise.dim, manifest.noise.distribution),
        dims: [count, manifest.noise.dim],
      },
    };
    let labels: number[] | undefined;
    let words: { ignored: string[]; truncated: string[] } | undefined;
    if (conditioning.kind === 'labels') {
      if (!manifest.label) {
        throw new InvalidRequestError(`model "${manifest.name}" is conditioned on text: send a "prompt", not a label`);
      }
      labels = conditioning.labels.map((value) => this.resolveLabel(value));
      feeds[manifest.label.name] = { type: 'int64', data: BigInt64Array.from(labels, BigInt), dims: [count] };
      if (manifest.text) {
        // A model with both inputs gets all-padding tokens (no text) for a label request.
        feeds[manifest.text.name] = {
          type: 'int64',
          data: new BigInt64Array(count * manifest.text.maxTokens),
          dims: [count, manifest.text.maxTokens],
        };
      }
    } else {
      if (!manifest.text || !this.vocabulary) {
        throw new InvalidRequestError(
          `model "${manifest.name}" has no text input: send a "label" (one of ${manifest.label!.classes.join(', ')}), not a prompt`,
        );
      }
      if (manifest.label) {
        throw new InvalidRequestError(
          `model "${manifest.name}" also needs a class label, and a request cannot give both a label and a prompt`,
        );
      }
      const tokenized = tokenize(conditioning.prompt, this.vocabulary, manifest.text.maxTokens);
      if (tokenized.known.length === 0) throw this.noKnownWord(tokenized.ignored);
      words = { ignored: tokenized.ignored, truncated: tokenized.truncated };
      const tokens = new BigInt64Array(count * manifest.text.maxTokens);
      for (let i = 0; i < count; i += 1) tokens.set(tokenized.ids, i * manifest.text.maxTokens);
      feeds[manifest.text.name] = { type: 'int64', data: tokens, dims: [count, manifest.text.maxTokens] };
    }
    const output = await this.batcher.run(feeds, { signal, ...(pngScale === undefined ? {} : { pngScale }) });
    const images = Array.from({ length: count }, (_, i): GeneratedImage => {
      const png = output.pngs?.[i];
      return {
        ...(png ? { png } : { image: outputRowToImage(output, i, manifest.output.layout, manifest.output.range) }),
        seed: imageSeed(seed, i),
        ...(labels === undefined ? {} : { label: labels[i], className: manifest.label!.classes[labels[i]!] }),
      };
    });
    const { timing } = output;
    return words === undefined ? { images, timing } : { images, timing, ignoredWords: words.ignored, truncatedWords: words.truncated };
  }

  /** A class name, or a class index (number, or a string of digits that is not a class name). */
  private resolveLabel(value: LabelValue): number {
    const classes = this.manifest.label!.classes;
    const byName = typeof value === 'string' ? classes.indexOf(value) : -1;
    if (byName >= 0) return byName;
    const index = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : NaN;
    if (Number.isInteger(index) && index >= 0 && index < classes.length) return index;
    const what = Number.isNaN(index) ? `unknown label ${JSON.stringify(value)}` : `label ${index} is out of range`;
    throw new InvalidRequestError(`${what}: model "${this.manifest.name}" has classes 0..${classes.length - 1} (${classes.join(', ')})`, {
      classes,
    });
  }

  private noKnownWord(ignored: string[]): NoKnownWordError {
    const vocabulary = this.vocabulary!.words;
    const hint = vocabulary.slice(0, VOCABULARY_HINT_SIZE);
    const more = vocabulary.length > hint.length ? `, … (${vocabulary.length} words)` : '';
    return new NoKnownWordError(
      `none of the prompt's words (${ignored.join(', ') || 'none'}) is in the vocabulary of model "${this.manifest.name}"; known words include: ${hint.join(', ')}${more}`,
      ignored,
      hint,
      vocabulary.length,
    );
  }
}
