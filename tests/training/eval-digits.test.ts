/**
 * The digits eval end to end on generators built in code from real MNIST digits, so the expected
 * figures are known: a collapsed generator (one digit per class) is accurate with diversity near 0;
 * a generator that picks among many real digits per class is accurate with diversity near 1; a
 * generator that draws the wrong class scores near 0.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE, digitsOfClass, splitMnist } from '../../training/data/mnist.ts';
import { OnnxGraph } from '../../training/export/onnx-graph.ts';
import { evalConditionalDigits, formatDigitsTable, resolveModelFolder, runDigitsEval, toClassifierRange } from '../../training/eval/digits.ts';

const NOISE_DIM = 16;

/**
 * A generator that outputs table[label × perLabel + argmax(noise[0 : perLabel])], in the range
 * [0, 1] and NHWC layout so the eval's conversions are exercised. `shift` draws class (label + shift).
 */
function tableGenerator(perLabel: number, shift = 0): Uint8Array {
  const { train } = splitMnist();
  const table = new Float32Array(MNIST_CLASSES * perLabel * MNIST_PIXELS);
  for (let label = 0; label < MNIST_CLASSES; label++) {
    const digits = digitsOfClass(train, (label + shift) % MNIST_CLASSES);
    for (let k = 0; k < perLabel; k++) {
      for (let p = 0; p < MNIST_PIXELS; p++) table[(label * perLabel + k) * MNIST_PIXELS + p] = (digits.images[k * MNIST_PIXELS + p]! + 1) / 2;
    }
  }
  const g = new OnnxGraph('table_generator');
  const noise = g.input('noise', 'float', ['N', NOISE_DIM]);
  const label = g.input('label', 'int64', ['N']);
  const head = g.op('Slice', [noise, g.int64s('start', [0]), g.int64s('end', [perLabel]), g.int64s('axes', [1])]);
  const pick = g.op('ArgMax', [head], { axis: 1, keepdims: 0 });
  const row = g.op('Add', [g.op('Mul', [label, g.initializer('per_label', [perLabel], [], 'int64')]), pick]);
  const images = g.op('Gather', [g.initializer('table', table, [MNIST_CLASSES * perLabel, MNIST_SIDE, MNIST_SIDE, 1]), row], { axis: 0 }, 'image');
  g.output(images, 'float', ['N', MNIST_SIDE, MNIST_SIDE, 1]);
  return g.toBytes();
}

async function writeGenerator(root: string, name: string, onnx: Uint8Array): Promise<string> {
  const folder = join(root, name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'model.onnx'), onnx);
  const manifest = {
    name,
    task: 'conditional-generation',
    onnx: 'model.onnx',
    noise: { name: 'noise', dim: NOISE_DIM, distribution: 'normal' },
    label: { name: 'label', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
    output: { name: 'image', layout: 'NHWC', range: [0, 1], channels: 1, width: 28, height: 28 },
  };
  await writeFile(join(folder, 'model.json'), JSON.stringify(manifest));
  return folder;
}

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'digits-eval-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('digits eval', () => {
  it('rates a generator of varied real digits accurate and diverse, and writes a 10×10 grid', async () => {
    const folder = await writeGenerator(root, 'varied', tableGenerator(NOISE_DIM));
    const lines: string[] = [];
    const result = await runDigitsEval(folder, { perClass: 60, seed: 3, log: (line) => lines.push(line) });
    expect(result.accuracy).toBeGreaterThan(0.95);
    expect(result.classes).toHaveLength(10);
    // 16 distinct real digits per class cover most of a class's real feature spread.
    expect(result.diversityRatio).toBeGreaterThan(0.7);
    expect(result.diversityRatio).toBeLessThan(1.3);
    expect(lines.join('\n')).toMatch(/all\s+\d+\.\d %/);
    const grid = await sharp(await readFile(result.grid)).metadata();
    expect(grid.width).toBe(10 * 28 * 2);
    expect(grid.height).toBe(10 * 28 * 2);
  });

  it('rates a collapsed generator near zero diversity', async () => {
    const folder = await writeGenerator(root, 'collapsed', tableGenerator(1));
    const result = await evalConditionalDigits(folder, { perClass: 20, out: join(root, 'collapsed.png') });
    expect(result.diversityRatio).toBe(0);
    expect(result.targetsMet).toBe(false);
    expect(result.grid).toBe(join(root, 'collapsed.png'));
  });

  it('rates a generator that draws the wrong class near zero accuracy', async () => {
    const folder = await writeGenerator(root, 'shifted', tableGenerator(NOISE_DIM, 1));
    const result = await evalConditionalDigits(folder, { perClass: 20 });
    expect(result.accuracy).toBeLessThan(0.1);
    expect(formatDigitsTable(result).join('\n')).toContain('NOT met');
  });

  it('is deterministic for a seed', async () => {
    const folder = join(root, 'varied');
    const first = await evalConditionalDigits(folder, { perClass: 20, seed: 5 });
    const again = await evalConditionalDigits(folder, { perClass: 20, seed: 5 });
    expect(again.classes).toEqual(first.classes);
  });

  it('resolves a bare name under the models folder and rejects a missing one', async () => {
    expect(await resolveModelFolder('varied', root)).toBe(join(root, 'varied'));
    await expect(resolveModelFolder('nope', root)).rejects.toThrow(/no model.json/);
  });

  it('rejects a model that is not a 0–9 label generator', async () => {
    const folder = await writeGenerator(root, 'letters', tableGenerator(1));
    const manifest = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8'));
    manifest.label.classes = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    await writeFile(join(folder, 'model.json'), JSON.stringify(manifest));
    await expect(evalConditionalDigits(folder, { perClass: 2 })).rejects.toThrow(/"0" … "9"/);
  });
});

describe('toClassifierRange', () => {
  it('maps each manifest range onto [-1, 1] and clamps', () => {
    expect(Array.from(toClassifierRange(Float32Array.from([0, 0.5, 1, 2]), [0, 1]))).toEqual([-1, 0, 1, 1]);
    expect(Array.from(toClassifierRange(Float32Array.from([0, 255]), [0, 255]))).toEqual([-1, 1]);
    expect(Array.from(toClassifierRange(Float32Array.from([-1, 0.25]), [-1, 1]))).toEqual([-1, 0.25]);
  });
});
