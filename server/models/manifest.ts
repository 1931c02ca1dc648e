/**
 * The model.json schema: the one contract between training (which writes it) and serving (which
 * reads it). People also hand-write it for models exported elsewhere (PyTorch CycleGAN, AnimeGAN),
 * so field names are plain and every mistake is reported with its path.
 */
import { z } from 'zod';

export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Value ranges a tensor may use for pixels. */
export const PixelRange = z.union([
  z.tuple([z.literal(-1), z.literal(1)]),
  z.tuple([z.literal(0), z.literal(1)]),
  z.tuple([z.literal(0), z.literal(255)]),
]);
export type PixelRange = z.infer<typeof PixelRange>;

export const Layout = z.enum(['NCHW', 'NHWC']);
export type Layout = z.infer<typeof Layout>;

/** A file name inside the model folder: no absolute paths, no `..`, no path separators tricks. */
const RelativeFile = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').includes('..'), {
    message: 'must be a path inside the model folder',
  });

const ImageInput = z.object({
  name: z.string().min(1),
  layout: Layout,
  channels: z.union([z.literal(1), z.literal(3)]),
  range: PixelRange,
  multipleOf: z.number().int().min(1).max(256).default(1),
  maxSide: z.number().int().min(8).max(16384).default(1024),
  /** Side used to warm the session at load (so the first request does not pay for it). */
  warmupSide: z.number().int().min(1).optional(),
  /**
   * The one size the graph takes (an export without dynamic axes, e.g. a PyTorch CycleGAN traced
   * at 256×256). Read from the graph when it is static and this is left out. Images are scaled to
   * fit inside it (aspect kept), reflect-padded to it, and the output is scaled back.
   */
  size: z.object({ width: z.number().int().min(1).max(16384), height: z.number().int().min(1).max(16384) }).optional(),
});

const ImageOutput = z.object({
  name: z.string().min(1),
  layout: Layout,
  range: PixelRange,
  channels: z.union([z.literal(1), z.literal(3)]).optional(),
});

/** Dynamic batching (Triton's max_batch_size / max_queue_delay). Env vars may override. */
const Batching = z.object({
  maxBatch: z.number().int().min(1).max(1024).default(32),
  maxWaitMs: z.number().min(0).max(1000).default(0),
  maxQueue: z.number().int().min(1).max(100000).optional(),
});

/** How a model was made: recipe, data, steps, date and evaluation figures. */
const Provenance = z.looseObject({
  recipe: z.string().optional(),
  steps: z.number().int().nonnegative().optional(),
  epochs: z.number().nonnegative().optional(),
  dataset: z.unknown().optional(),
  date: z.string().optional(),
  eval: z.record(z.string(), z.unknown()).optional(),
});

const Common = {
  name: z.string().regex(MODEL_NAME_PATTERN, 'must match [a-z0-9][a-z0-9._-]{0,63}'),
  onnx: RelativeFile,
  description: z.string().default(''),
  batching: Batching.optional(),
  provenance: Provenance.optional(),
};

export const ImageToImageManifest = z.looseObject({
  ...Common,
  task: z.literal('image-to-image'),
  input: ImageInput,
  output: ImageOutput,
});

export const ConditionalGenerationManifest = z
  .looseObject({
    ...Common,
    task: z.literal('conditional-generation'),
    noise: z.object({
      name: z.string().min(1),
      dim: z.number().int().min(1).max(65536),
      distribution: z.enum(['normal', 'uniform']),
    }),
    label: z
      .object({
        name: z.string().min(1),
        classes: z.array(z.string().min(1)).min(1),
      })
      .optional(),
    text: z
      .object({
        name: z.string().min(1),
        maxTokens: z.number().int().min(1).max(4096),
        vocab: RelativeFile,
      })
      .optional(),
    output: ImageOutput.extend({
      width: z.number().int().min(1).optional(),
      height: z.number().int().min(1).optional(),
    }),
  })
  .refine((m) => m.label !== undefined || m.text !== undefined, {
    message: 'a conditional-generation model needs a "label" or a "text" input',
  });

export const Manifest = z.discriminatedUnion('task', [ImageToImageManifest, ConditionalGenerationManifest]);
export type Manifest = z.infer<typeof Manifest>;
export type ImageToImageManifest = z.infer<typeof ImageToImageManifest>;
export type ConditionalGenerationManifest = z.infer<typeof ConditionalGenerationManifest>;

/** Parses a manifest; throws an Error whose message lists each problem with its field path. */
export function parseManifest(raw: unknown): Manifest {
  const result = Manifest.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid model.json: ${problems.join('; ')}`);
  }
  return result.data;
}
