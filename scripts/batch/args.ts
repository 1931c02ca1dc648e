/**
 * Command line → one validated BatchCommand. Every mistake is a UsageError with a message that
 * names the option, so the CLI can print it with the usage text and exit 2 before touching a file.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_SEED, OUTPUT_FORMATS, type OutputFormat } from '../../server/shared.ts';

export const USAGE = `Usage:
  npm run batch -- translate --model NAME --input DIR --output DIR [--format png|jpeg|webp]
                   [--quality Q] [--max-side N] [--concurrency N] [--server URL]... [--overwrite]
  npm run batch -- generate --model NAME (--labels SPEC | --prompt TEXT) --count N [--seed S]
                   --output DIR [--concurrency N] [--server URL]... [--overwrite]

  translate  converts every image under --input (recursively) into --output, mirroring paths.
  generate   writes OUTPUT/<label>/<seed>.png for seeds S..S+N-1 of every label
             (a prompt's images go to OUTPUT/<prompt-slug>/<seed>.png).

  --labels SPEC   class indices or names: 0-9, 3, 1,4,7, 0-2,7, cat,dog
  --server URL    run on these servers (repeat it to spread the work); in-process otherwise,
                  using MODELS_DIR (default ./models) and the server's worker pool settings
  --overwrite     replace existing outputs (by default they are kept, so a re-run resumes)

Exit status: 0 every file converted (or already there), 1 some failed, 2 usage error,
             130 stopped by Ctrl-C (files in flight finish; re-run to resume).`;

/** A command-line mistake: printed with the usage text, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A label as given: a class index (from a digit or a range) or a class name. */
export type LabelToken = number | string;

interface CommonCommand {
  model: string;
  output: string;
  /** Files in flight at once; the runner's own default when absent. */
  concurrency?: number;
  /** Server base URLs without a trailing slash; empty = in-process. */
  servers: string[];
  overwrite: boolean;
}

export interface TranslateCommand extends CommonCommand {
  kind: 'translate';
  input: string;
  format: OutputFormat;
  quality?: number;
  maxSide?: number;
}

export interface GenerateCommand extends CommonCommand {
  kind: 'generate';
  conditioning: { kind: 'labels'; labels: LabelToken[] } | { kind: 'prompt'; prompt: string };
  /** Images per label (or for the prompt). */
  count: number;
  seed: number;
}

export type BatchCommand = TranslateCommand | GenerateCommand;

export type ParsedArgs = { kind: 'help' } | { kind: 'command'; command: BatchCommand };

const OPTIONS = {
  model: { type: 'string' },
  input: { type: 'string' },
  output: { type: 'string' },
  format: { type: 'string' },
  quality: { type: 'string' },
  'max-side': { type: 'string' },
  concurrency: { type: 'string' },
  server: { type: 'string', multiple: true },
  overwrite: { type: 'boolean' },
  labels: { type: 'string' },
  prompt: { type: 'string' },
  count: { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const TRANSLATE_ONLY = ['input', 'format', 'quality', 'max-side'] as const;
const GENERATE_ONLY = ['labels', 'prompt', 'count', 'seed'] as const;

/** Most images one generate run may ask for (labels × count). */
export const MAX_GENERATE_IMAGES = 1_000_000;

export function parseBatchArgs(argv: string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length === 0) throw new UsageError('missing command: translate or generate');
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const kind = positionals[0];
  if (kind !== 'translate' && kind !== 'generate') throw new UsageError(`unknown command "${kind}": use translate or generate`);

  const misplaced = (kind === 'translate' ? GENERATE_ONLY : TRANSLATE_ONLY).filter((name) => values[name] !== undefined);
  if (misplaced.length > 0) throw new UsageError(`--${misplaced[0]} is not an option of ${kind}`);

  const common: CommonCommand = {
    model: required(values.model, 'model'),
    output: path.resolve(required(values.output, 'output')),
    concurrency: optionalInt(values.concurrency, 'concurrency', 1, 1024),
    servers: (values.server ?? []).map(serverUrl),
    overwrite: values.overwrite ?? false,
  };

  if (kind === 'translate') {
    const input = path.resolve(required(values.input, 'input'));
    const format = values.format ?? 'png';
    if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')} (got "${format}")`);
    }
    if (common.output === input) throw new UsageError('--output must differ from --input');
    return {
      kind: 'command',
      command: {
        kind,
        ...common,
        input,
        format: format as OutputFormat,
        quality: optionalInt(values.quality, 'quality', 1, 100),
        maxSide: optionalInt(values['max-side'], 'max-side', 1, 16384),
      },
    };
  }

  if ((values.labels === undefined) === (values.prompt === undefined)) {
    throw new UsageError('generate needs exactly one of --labels or --prompt');
  }
  const conditioning =
    values.labels !== undefined
      ? { kind: 'labels' as const, labels: parseLabelSpec(values.labels) }
      : { kind: 'prompt' as const, prompt: nonEmpty(values.prompt!, 'prompt') };
  const count = requiredInt(values.count, 'count', 1, MAX_GENERATE_IMAGES);
  const perCount = conditioning.kind === 'labels' ? conditioning.labels.length : 1;
  if (perCount * count > MAX_GENERATE_IMAGES)
    throw new UsageError(`at most ${MAX_GENERATE_IMAGES} images per run (asked for ${perCount * count})`);
  return {
    kind: 'command',
    command: { kind, ...common, conditioning, count, seed: optionalInt(values.seed, 'seed', 0, MAX_SEED) ?? 0 },
  };
}

/**
 * `0-9`, `3`, `1,4,7`, `0-2,7`, `cat,dog` → label tokens in order, duplicates removed. Digit
 * ranges expand to indices; anything else is kept as a class name (checked against the model later).
 */
export function parseLabelSpec(spec: string): LabelToken[] {
  const tokens: LabelToken[] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') throw new UsageError(`--labels "${spec}" has an empty entry`);
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (from > to) throw new UsageError(`--labels range "${part}" runs backwards`);
      if (to - from >= 100_000) throw new UsageError(`--labels range "${part}" is too long`);
      for (let label = from; label <= to; label += 1) tokens.push(label);
    } else {
      tokens.push(/^\d+$/.test(part) ? Number(part) : part);
    }
  }
  return [...new Set(tokens)];
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return nonEmpty(value, name);
}

function nonEmpty(value: string, name: string): string {
  if (value.trim() === '') throw new UsageError(`--${name} must not be empty`);
  return value;
}

function requiredInt(value: string | undefined, name: string, min: number, max: number): number {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return optionalInt(value, name, min, max)!;
}

function optionalInt(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${value}")`);
  }
  return number;
}

function serverUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--server "${value}" is not a URL (e.g. http://10.0.0.5:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server "${value}" must be an http or https URL`);
  if (url.search || url.hash) throw new UsageError(`--server "${value}" must not have a query or fragment`);
  return url.href.replace(/\/+$/, '');
}
