/**
 * The generate request: one zod schema for the POST JSON body and the GET query string, so both
 * forms have the same semantics. The query form is first mapped onto the JSON shape (integers from
 * digit strings, `labels` from a comma list or repeated parameters) and then validated by the same
 * schema. Model-dependent checks (label range, text input present) happen later, against the
 * manifest.
 */
import { z } from 'zod';
import { MAX_SEED } from './noise.ts';

export const MAX_COUNT = 64;
export const MAX_SCALE = 8;
export const MAX_PROMPT_LENGTH = 1000;

export const ImageFormat = z.enum(['png', 'jpeg', 'webp']);
export type ImageFormat = z.infer<typeof ImageFormat>;

/** A label: a class index (number) or a class name (string, also tried as an index). */
const LabelValue = z.union([z.number().int().min(0), z.string().min(1).max(100)], {
  error: 'must be a class index (an integer ≥ 0) or a class name',
});
export type LabelValue = z.infer<typeof LabelValue>;

export const GenerateBody = z
  .strictObject({
    label: LabelValue.optional(),
    labels: z.array(LabelValue).min(1, 'must not be empty').max(MAX_COUNT, `at most ${MAX_COUNT} labels`).optional(),
    prompt: z.string().max(MAX_PROMPT_LENGTH, `at most ${MAX_PROMPT_LENGTH} characters`).optional(),
    count: z
      .number({ error: 'must be an integer' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(MAX_COUNT, `must be at most ${MAX_COUNT}`)
      .optional(),
    seed: z
      .number({ error: `must be an integer 0..${MAX_SEED}` })
      .int(`must be an integer 0..${MAX_SEED}`)
      .min(0, `must be an integer 0..${MAX_SEED}`)
      .max(MAX_SEED, `must be an integer 0..${MAX_SEED}`)
      .optional(),
    format: ImageFormat.default('png'),
    scale: z
      .number({ error: 'must be an integer' })
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(MAX_SCALE, `must be at most ${MAX_SCALE}`)
      .default(1),
  })
  .superRefine((body, ctx) => {
    const given = (['label', 'labels', 'prompt'] as const).filter((key) => body[key] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({ code: 'custom', message: `give only one of label, labels or prompt (got ${given.join(' and ')})` });
    } else if (given.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'give a label, labels or a prompt' });
    }
    if (body.labels !== undefined && body.count !== undefined && body.count !== body.labels.length) {
      ctx.addIssue({ code: 'custom', path: ['count'], message: `must equal the number of labels (${body.labels.length})` });
    }
  });

export type Conditioning = { kind: 'labels'; labels: LabelValue[] } | { kind: 'prompt'; prompt: string };

export interface GenerateRequest {
  conditioning: Conditioning;
  count: number;
  /** Absent when the client gave none; the route then draws one from crypto. */
  seed: number | undefined;
  format: ImageFormat;
  scale: number;
}

export type ParseResult = { ok: true; request: GenerateRequest } | { ok: false; problems: string[] };

/** Validates a decoded JSON body. */
export function parseGenerateBody(body: unknown): ParseResult {
  const result = GenerateBody.safeParse(body);
  if (!result.success) {
    return { ok: false, problems: result.error.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`) };
  }
  const { label, labels, prompt, count, seed, format, scale } = result.data;
  const imageCount = labels?.length ?? count ?? 1;
  const conditioning: Conditioning =
    prompt !== undefined
      ? { kind: 'prompt', prompt }
      : { kind: 'labels', labels: labels ?? Array.from({ length: imageCount }, () => label as LabelValue) };
  return { ok: true, request: { conditioning, count: imageCount, seed, format, scale } };
}

const INTEGER_TEXT = /^-?\d+$/;
const NUMERIC_KEYS = new Set(['count', 'seed', 'scale']);

/**
 * Validates a GET query (as parsed by Express: values are strings, or arrays when repeated).
 * `labels` may be `labels=1,2,3` or `labels=1&labels=2`; numeric fields must be plain integers.
 */
export function parseGenerateQuery(query: Record<string, unknown>): ParseResult {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    if (key === 'labels') {
      const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
      body.labels = parts.map((part) => part.trim());
    } else if (Array.isArray(value)) {
      return { ok: false, problems: [`${key}: given more than once`] };
    } else if (NUMERIC_KEYS.has(key) && typeof value === 'string' && INTEGER_TEXT.test(value)) {
      body[key] = Number(value);
    } else {
      body[key] = value;
    }
  }
  return parseGenerateBody(body);
}
