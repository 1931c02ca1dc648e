/**
 * Digit "generators" built in ONNX from real MNIST training digits, for the digits evals' end-to-end
 * tests: image = table[label × perLabel + argmax(noise[0 : perLabel])], in the range [0, 1] and
 * NHWC layout so the evals' conversions are exercised. The label comes from a label input, or from
 * the digit's token in a prompt.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DIGIT_WORDS } from '../../training/data/captions.ts';
import { MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE, digitsOfClass, splitMnist } from '../../training/data/mnist.ts';
import { OnnxGraph } from '../../training/export/onnx-graph.ts';

export const TABLE_NOISE_DIM = 16;
export const TEXT_MAX_TOKENS = 12;

/** perLabel training digits of class (label + shift) for each label, in [0, 1]. */
function digitTable(perLabel: number, shift: number): Float32Array {
  const { train } = splitMnist();
  const table = new Float32Array(MNIST_CLASSES * perLabel * MNIST_PIXELS);
  for (let label = 0; label < MNIST_CLASSES; label++) {
    const digits = digitsOfClass(train, (label + shift) % MNIST_CLASSES);
    for (let k = 0; k < perLabel; k++) {
      for (let p = 0; p < MNIST_PIXELS; p++)
        table[(label * perLabel + k) * MNIST_PIXELS + p] = (digits.images[k * MNIST_PIXELS + p]! + 1) / 2;
    }
  }
  return table;
}

/** Adds the table lookup for int64 [N] `label` and the "image" output. */
function addTableLookup(g: OnnxGraph, noise: string, label: string, perLabel: number, shift: number): void {
  const head = g.op('Slice', [noise, g.int64s('start', [0]), g.int64s('end', [perLabel]), g.int64s('axes', [1])]);
  const pick = g.op('ArgMax', [head], { axis: 1, keepdims: 0 });
  const row = g.op('Add', [g.op('Mul', [label, g.initializer('per_label', [perLabel], [], 'int64')]), pick]);
  const table = g.initializer('table', digitTable(perLabel, shift), [MNIST_CLASSES * perLabel, MNIST_SIDE, MNIST_SIDE, 1]);
  const images = g.op('Gather', [table, row], { axis: 0 }, 'image');
  g.output(images, 'float', ['N', MNIST_SIDE, MNIST_SIDE, 1]);
}

/** A label-conditioned generator of `perLabel` distinct digits per label; `shift` draws class (label + shift). */
export function labelTableGenerator(perLabel: number, shift = 0): Uint8Array {
  const g = new OnnxGraph('table_generator');
  const noise = g.input('noise', 'float', ['N', TABLE_NOISE_DIM]);
  addTableLookup(g, noise, g.input('label', 'int64', ['N']), perLabel, shift);
  return g.toBytes();
}

/** Vocabulary of the text generator: the digit words, then the numerals (ids 1–10, 11–20). */
export const TABLE_VOCABULARY: readonly string[] = [...DIGIT_WORDS, ...Array.from({ length: MNIST_CLASSES }, (_, d) => String(d))];

/**
 * A prompt-conditioned generator: the digit named by the prompt's digit token (numeral or word), the
 * other tokens ignored. With `wordsAs`, every digit word draws that one digit; numerals stay right.
 */
export function textTableGenerator(perLabel: number, wordsAs?: number): Uint8Array {
  const g = new OnnxGraph('text_table_generator');
  const noise = g.input('noise', 'float', ['N', TABLE_NOISE_DIM]);
  const text = g.input('text', 'int64', ['N', TEXT_MAX_TOKENS]);
  // Token id → 1 + digit (padding 0); the row's maximum minus 1 is the digit.
  const digitOfToken = [0, ...DIGIT_WORDS.map((_, d) => 1 + (wordsAs ?? d)), ...Array.from({ length: MNIST_CLASSES }, (_, d) => 1 + d)];
  const perToken = g.op(
    'Gather',
    [g.initializer('digit_of_token', BigInt64Array.from(digitOfToken, BigInt), [digitOfToken.length], 'int64'), text],
    { axis: 0 },
  );
  const label = g.op('Sub', [g.op('ReduceMax', [perToken], { axes: [1], keepdims: 0 }), g.initializer('one', [1], [], 'int64')]);
  addTableLookup(g, noise, label, perLabel, 0);
  return g.toBytes();
}

/** Writes model.onnx, model.json (and vocab.json for a text model) under root/name; returns the folder. */
export async function writeTableGenerator(root: string, name: string, onnx: Uint8Array, kind: 'label' | 'text' = 'label'): Promise<string> {
  const folder = join(root, name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'model.onnx'), onnx);
  const condition =
    kind === 'label'
      ? { label: { name: 'label', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] } }
      : { text: { name: 'text', maxTokens: TEXT_MAX_TOKENS, vocab: 'vocab.json' } };
  if (kind === 'text') await writeFile(join(folder, 'vocab.json'), JSON.stringify(TABLE_VOCABULARY));
  const manifest = {
    name,
    task: 'conditional-generation',
    onnx: 'model.onnx',
    noise: { name: 'noise', dim: TABLE_NOISE_DIM, distribution: 'normal' },
    ...condition,
    output: { name: 'image', layout: 'NHWC', range: [0, 1], channels: 1, width: 28, height: 28 },
  };
  await writeFile(join(folder, 'model.json'), JSON.stringify(manifest));
  return folder;
}
