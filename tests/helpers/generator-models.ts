/**
 * Conditional generator models for tests and the generation benchmark, built in code with
 * OnnxGraph (no binary fixtures). The "exact" generators are simple element-wise functions whose
 * pixels a test can compute by hand (float32 arithmetic mirrored with Math.fround); the conv
 * generator is a DCGAN-like net of realistic size and shape for batching and benchmark runs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OnnxGraph } from '../../training/export/onnx-graph.ts';
import { noiseVector } from '../../server/generation/noise.ts';
import type { PixelRange } from '../../server/models/manifest.ts';

export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Writes models/<name>/model.json + model.onnx (+ extra files such as vocab.json). */
export async function writeModelFolder(
  modelsDir: string,
  manifest: { name: string } & Record<string, unknown>,
  onnx: Uint8Array,
  extraFiles: Record<string, string> = {},
): Promise<string> {
  const folder = path.join(modelsDir, manifest.name);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'model.onnx'), onnx);
  await writeFile(path.join(folder, 'model.json'), JSON.stringify(manifest, null, 2));
  for (const [file, contents] of Object.entries(extraFiles)) await writeFile(path.join(folder, file), contents);
  return folder;
}

export interface ExactGeneratorOptions {
  name: string;
  /** Image side; the noise dimension is side². */
  side?: number;
  classes?: string[];
  range?: PixelRange;
  distribution?: 'normal' | 'uniform';
  batching?: { maxBatch?: number; maxWaitMs?: number; maxQueue?: number };
}

/** Per-class pixel offset of the exact label generator: a dyadic value in [-1, 1]. */
export function labelOffset(label: number, pixel: number): number {
  return ((label * 7 + pixel * 3) % 17) / 8 - 1;
}

/** Per-token pixel contribution of the exact text generator; row 0 (padding) is zero. */
export function tokenEmbedding(tokenId: number, pixel: number): number {
  return tokenId === 0 ? 0 : (((tokenId * 5 + pixel) % 9) - 4) / 16;
}

/** Maps the [-1, 1] pre-activation onto the manifest's output range, in float32 like the graph. */
function toRange(v: number, range: PixelRange): number {
  if (range[1] === 1 && range[0] === -1) return v;
  const shifted = Math.fround(v + 1);
  return range[1] === 1 ? Math.fround(shifted * 0.5) : Math.fround(shifted * 127.5);
}

function appendRangeOps(g: OnnxGraph, value: string, range: PixelRange): string {
  if (range[0] === -1) return value;
  const shifted = g.op('Add', [value, g.initializer(g.fresh('one'), [1], [])]);
  return g.op('Mul', [shifted, g.initializer(g.fresh('gain'), [range[1] === 1 ? 0.5 : 127.5], [])]);
}

/** Exact generator, label-conditioned: pixel p = clip(z_p / 4 + labelOffset(label, p), -1, 1) → range. */
export function exactLabelGenerator(options: ExactGeneratorOptions): {
  manifest: Record<string, unknown> & { name: string };
  onnx: Uint8Array;
} {
  const side = options.side ?? 6;
  const classes = options.classes ?? DIGIT_CLASSES;
  const range = options.range ?? [-1, 1];
  const dim = side * side;
  const g = new OnnxGraph(options.name);
  const noise = g.input('noise', 'float', ['N', dim]);
  const label = g.input('label', 'int64', ['N']);
  const table = Float32Array.from({ length: classes.length * dim }, (_, i) => labelOffset(Math.floor(i / dim), i % dim));
  const offsets = g.op('Gather', [g.initializer('offsets', table, [classes.length, dim]), label], { axis: 0 });
  const scaled = g.op('Mul', [noise, g.initializer('quarter', [0.25], [])]);
  const clipped = g.op('Clip', [g.op('Add', [scaled, offsets]), g.initializer('lo', [-1], []), g.initializer('hi', [1], [])]);
  const ranged = appendRangeOps(g, clipped, range);
  g.op('Reshape', [ranged, g.int64s('shape', [-1, 1, side, side])], {}, 'image');
  g.output('image', 'float', ['N', 1, side, side]);
  return {
    manifest: {
      name: options.name,
      task: 'conditional-generation',
      onnx: 'model.onnx',
      description: 'test generator with hand-computable pixels',
      noise: { name: 'noise', dim, distribution: options.distribution ?? 'normal' },
      label: { name: 'label', classes },
      output: { name: 'image', layout: 'NCHW', range, channels: 1, width: side, height: side },
      ...(options.batching === undefined ? {} : { batching: options.batching }),
    },
    onnx: g.toBytes(),
  };
}

/** Expected uint8 pixels (row-major, one channel) of the exact label generator for one image. */
export function expectedLabelImage(
  seed: number,
  label: number,
  options: Pick<ExactGeneratorOptions, 'side' | 'range' | 'distribution'> = {},
): Uint8Array {
  const side = options.side ?? 6;
  const range = options.range ?? [-1, 1];
  const z = noiseVector(seed, side * side, options.distribution ?? 'normal');
  return Uint8Array.from(z, (zp, p) => {
    const v = Math.min(1, Math.max(-1, Math.fround(Math.fround(zp * 0.25) + labelOffset(label, p))));
    return toUint8(toRange(v, range), range);
  });
}

/** Reference conversion of an output value to uint8, written independently of the server's code. */
function toUint8(value: number, range: PixelRange): number {
  const unit = (value - range[0]) / (range[1] - range[0]);
  return Math.min(255, Math.max(0, Math.round(unit * 255)));
}

export interface ExactTextGeneratorOptions {
  name: string;
  side?: number;
  vocabulary: string[];
  maxTokens?: number;
}

/** Exact generator, text-conditioned: pixel p = clip(z_p / 4 + Σ_tokens tokenEmbedding(t, p), -1, 1). */
export function exactTextGenerator(options: ExactTextGeneratorOptions): {
  manifest: Record<string, unknown> & { name: string };
  onnx: Uint8Array;
  files: Record<string, string>;
} {
  const side = options.side ?? 6;
  const maxTokens = options.maxTokens ?? 8;
  const dim = side * side;
  const rows = options.vocabulary.length + 1;
  const g = new OnnxGraph(options.name);
  const noise = g.input('noise', 'float', ['N', dim]);
  const tokens = g.input('tokens', 'int64', ['N', maxTokens]);
  const table = Float32Array.from({ length: rows * dim }, (_, i) => tokenEmbedding(Math.floor(i / dim), i % dim));
  const embedded = g.op('Gather', [g.initializer('embedding', table, [rows, dim]), tokens], { axis: 0 });
  const pooled = g.op('ReduceSum', [embedded, g.int64s('axes', [1])], { keepdims: 0 });
  const scaled = g.op('Mul', [noise, g.initializer('quarter', [0.25], [])]);
  const clipped = g.op('Clip', [g.op('Add', [scaled, pooled]), g.initializer('lo', [-1], []), g.initializer('hi', [1], [])]);
  g.op('Reshape', [clipped, g.int64s('shape', [-1, 1, side, side])], {}, 'image');
  g.output('image', 'float', ['N', 1, side, side]);
  return {
    manifest: {
      name: options.name,
      task: 'conditional-generation',
      onnx: 'model.onnx',
      description: 'test text generator with hand-computable pixels',
      noise: { name: 'noise', dim, distribution: 'normal' },
      text: { name: 'tokens', maxTokens, vocab: 'vocab.json' },
      output: { name: 'image', layout: 'NCHW', range: [-1, 1], channels: 1, width: side, height: side },
    },
    onnx: g.toBytes(),
    files: { 'vocab.json': JSON.stringify(options.vocabulary) },
  };
}

/** Expected pixels of the exact text generator for one image, given its token ids. */
export function expectedTextImage(seed: number, tokenIds: number[], side = 6): Uint8Array {
  const z = noiseVector(seed, side * side, 'normal');
  return Uint8Array.from(z, (zp, p) => {
    const pooled = tokenIds.reduce((sum, id) => sum + tokenEmbedding(id, p), 0);
    const v = Math.min(1, Math.max(-1, Math.fround(Math.fround(zp * 0.25) + pooled)));
    return toUint8(v, [-1, 1]);
  });
}

/**
 * DCGAN-like label-conditioned generator producing 28×28 digits-sized images, shaped like the
 * `digits` recipe's generator: [noise | label embedding] → Gemm → 96×7×7 → ConvTranspose
 * (48×14×14) → ConvTranspose (1×28×28) → Tanh. Weights come from a seeded PRNG, so the model is the
 * same on every build. About 4 M multiply-adds per image.
 */
export function convLabelGenerator(options: { name: string; noiseDim?: number; batching?: ExactGeneratorOptions['batching'] }): {
  manifest: Record<string, unknown> & { name: string };
  onnx: Uint8Array;
} {
  const dim = options.noiseDim ?? 64;
  const embeddingDim = 16;
  const wide = 96;
  const narrow = 48;
  const classes = DIGIT_CLASSES;
  let weightSeed = 1000;
  const weights = (count: number, std: number) => {
    weightSeed += 1;
    return Float32Array.from(noiseVector(weightSeed, count, 'normal'), (v) => v * std);
  };
  const upsample = { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] };
  const g = new OnnxGraph(options.name);
  const noise = g.input('noise', 'float', ['N', dim]);
  const label = g.input('label', 'int64', ['N']);
  const embedded = g.op(
    'Gather',
    [g.initializer('label_embedding', weights(classes.length * embeddingDim, 1), [classes.length, embeddingDim]), label],
    { axis: 0 },
  );
  const conditioned = g.op('Concat', [noise, embedded], { axis: 1 });
  const inputs = dim + embeddingDim;
  const projected = g.op(
    'Gemm',
    [
      conditioned,
      g.initializer('fc_w', weights(wide * 49 * inputs, 1 / Math.sqrt(inputs)), [wide * 49, inputs]),
      g.initializer('fc_b', weights(wide * 49, 0.1), [wide * 49]),
    ],
    { transB: 1 },
  );
  const map7 = g.op('Relu', [g.op('Reshape', [projected, g.int64s('shape', [-1, wide, 7, 7])])]);
  const up14 = g.op(
    'ConvTranspose',
    [
      map7,
      g.initializer('up1_w', weights(wide * narrow * 16, 1 / Math.sqrt(wide * 4)), [wide, narrow, 4, 4]),
      g.initializer('up1_b', weights(narrow, 0.1), [narrow]),
    ],
    upsample,
  );
  const up28 = g.op(
    'ConvTranspose',
    [
      g.op('Relu', [up14]),
      g.initializer('up2_w', weights(narrow * 16, 1 / Math.sqrt(narrow * 4)), [narrow, 1, 4, 4]),
      g.initializer('up2_b', [0], [1]),
    ],
    upsample,
  );
  g.op('Tanh', [up28], {}, 'image');
  g.output('image', 'float', ['N', 1, 28, 28]);
  return {
    manifest: {
      name: options.name,
      task: 'conditional-generation',
      onnx: 'model.onnx',
      description: 'DCGAN-like 28×28 generator with seeded random weights (benchmark and batching tests)',
      noise: { name: 'noise', dim, distribution: 'normal' },
      label: { name: 'label', classes },
      output: { name: 'image', layout: 'NCHW', range: [-1, 1], channels: 1, width: 28, height: 28 },
      ...(options.batching === undefined ? {} : { batching: options.batching }),
    },
    onnx: g.toBytes(),
  };
}
