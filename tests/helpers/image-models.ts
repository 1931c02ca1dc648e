/**
 * Image-to-image ONNX models built in code with OnnxGraph, plus the model folders the server
 * reads. The per-pixel colour models have known weights, so tests can compute the exact expected
 * output themselves; the convolutional ones only keep the CPU busy.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImageToImageManifest, Layout, PixelRange } from '../../server/models/manifest.ts';
import { OnnxGraph } from '../../training/export/onnx-graph.ts';

/** out[c] = Σ_i weights[c][i] · in[i] + bias[c], per pixel, in model units. */
export interface ColourMix {
  weights: [number[], number[], number[]];
  bias: [number, number, number];
}

/**
 * Channel rotation with one channel inverted: out = (g, b, −r + k). Asymmetric, so a swapped
 * channel order or layout shows up; exact in float32, so round-trips can be compared bit for bit.
 */
export function rotateAndInvert(range: PixelRange): ColourMix {
  const k = range[0] + range[1]; // −r + (low + high) mirrors r inside the range
  return {
    weights: [
      [0, 1, 0],
      [0, 0, 1],
      [-1, 0, 0],
    ],
    bias: [0, 0, k],
  };
}

/**
 * A per-pixel colour mix as a 1×1 Conv (NCHW) or MatMul + Add over the channel axis (NHWC). With
 * `fixed`, the graph's input and output take only that size (like an export without dynamic axes).
 */
export function colourMixModel(
  layout: Layout,
  mix: ColourMix,
  names = { input: 'input', output: 'output' },
  fixed?: { width: number; height: number },
): Uint8Array {
  const g = new OnnxGraph('colour_mix');
  const [h, w] = fixed ? [fixed.height, fixed.width] : ['H', 'W'];
  const dims = layout === 'NCHW' ? [fixed ? 1 : 'N', 3, h, w] : [fixed ? 1 : 'N', h, w, 3];
  const x = g.input(names.input, 'float', dims);
  const bias = g.initializer('bias', Float32Array.from(mix.bias), [3]);
  if (layout === 'NCHW') {
    const weights = g.initializer('weights', Float32Array.from(mix.weights.flat()), [3, 3, 1, 1]);
    g.op('Conv', [x, weights, bias], {}, names.output);
  } else {
    // MatMul takes [in, out]: the transpose of weights[out][in].
    const transposed = [0, 1, 2].flatMap((i) => [0, 1, 2].map((o) => mix.weights[o]![i]!));
    const weights = g.initializer('weights', Float32Array.from(transposed), [3, 3]);
    g.op('Add', [g.op('MatMul', [x, weights]), bias], {}, names.output);
  }
  g.output(names.output, 'float', dims);
  return g.toBytes();
}

/** Expected output bytes of colourMixModel for RGB bytes, computed independently of the server. */
export function applyColourMix(rgb: Uint8Array, mix: ColourMix, inRange: PixelRange, outRange: PixelRange): Uint8Array {
  const inScale = (inRange[1] - inRange[0]) / 255;
  const outScale = (outRange[1] - outRange[0]) / 255;
  const out = new Uint8Array(rgb.length);
  for (let p = 0; p < rgb.length; p += 3) {
    const input = [0, 1, 2].map((i) => Math.fround(rgb[p + i]! * inScale + inRange[0]));
    for (let c = 0; c < 3; c++) {
      const value = mix.weights[c]!.reduce((sum, w, i) => sum + w * input[i]!, mix.bias[c]);
      out[p + c] = Math.min(255, Math.max(0, Math.round((value - outRange[0]) / outScale)));
    }
  }
  return out;
}

/**
 * A small convolutional net (3×3 conv → ReLU → 3×3 conv → Tanh), NCHW, range [-1, 1]: enough
 * arithmetic that a 1024² image keeps a core busy for a while.
 */
export function busyConvModel(hidden = 16, seed = 1): Uint8Array {
  const g = new OnnxGraph('busy_conv');
  const random = mulberry32(seed);
  const weights = (n: number, fanIn: number) => Float32Array.from({ length: n }, () => (random() * 2 - 1) / Math.sqrt(fanIn));
  const x = g.input('input', 'float', ['N', 3, 'H', 'W']);
  const w1 = g.initializer('w1', weights(hidden * 3 * 9, 27), [hidden, 3, 3, 3]);
  const w2 = g.initializer('w2', weights(3 * hidden * 9, hidden * 9), [3, hidden, 3, 3]);
  const h = g.op('Relu', [g.op('Conv', [x, w1], { pads: [1, 1, 1, 1] })]);
  g.op('Tanh', [g.op('Conv', [h, w2], { pads: [1, 1, 1, 1] })], {}, 'output');
  g.output('output', 'float', ['N', 3, 'H', 'W']);
  return g.toBytes();
}

/**
 * The CycleGAN ResNet generator's shape (c7s1-ngf, two stride-2 downs, residual blocks, two
 * transposed-conv ups, c7s1-3, tanh) with reflect padding and instance norm, random weights.
 * ngf = 64 and 9 blocks is the published size; benchmarks scale it down for small machines.
 */
export function cycleGanGeneratorModel(ngf = 64, blocks = 9, seed = 7): Uint8Array {
  const g = new OnnxGraph('cyclegan_resnet_generator');
  const random = mulberry32(seed);
  const conv = (x: string, cin: number, cout: number, k: number, stride = 1, pad = 0): string => {
    const w = g.initializer(
      g.fresh('w'),
      Float32Array.from({ length: cout * cin * k * k }, () => (random() * 2 - 1) / Math.sqrt(cin * k * k)),
      [cout, cin, k, k],
    );
    const b = g.initializer(g.fresh('b'), new Float32Array(cout), [cout]);
    return g.op('Conv', [x, w, b], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] });
  };
  const reflect = (x: string, p: number) => g.op('Pad', [x, g.int64s('pads', [0, 0, p, p, 0, 0, p, p])], { mode: 'reflect' });
  const norm = (x: string, c: number) =>
    g.op(
      'InstanceNormalization',
      [x, g.initializer(g.fresh('gamma'), new Float32Array(c).fill(1), [c]), g.initializer(g.fresh('beta'), new Float32Array(c), [c])],
      { epsilon: { float: 1e-5 } },
    );
  const relu = (x: string) => g.op('Relu', [x]);

  let x = g.input('input', 'float', ['N', 3, 'H', 'W']);
  x = relu(norm(conv(reflect(x, 3), 3, ngf, 7), ngf));
  x = relu(norm(conv(x, ngf, ngf * 2, 3, 2, 1), ngf * 2));
  x = relu(norm(conv(x, ngf * 2, ngf * 4, 3, 2, 1), ngf * 4));
  for (let i = 0; i < blocks; i++) {
    const c = ngf * 4;
    const y = norm(conv(reflect(relu(norm(conv(reflect(x, 1), c, c, 3), c)), 1), c, c, 3), c);
    x = g.op('Add', [x, y]);
  }
  for (const [cin, cout] of [
    [ngf * 4, ngf * 2],
    [ngf * 2, ngf],
  ] as const) {
    const w = g.initializer(
      g.fresh('wt'),
      Float32Array.from({ length: cin * cout * 9 }, () => (random() * 2 - 1) / Math.sqrt(cin * 9)),
      [cin, cout, 3, 3],
    );
    x = relu(norm(g.op('ConvTranspose', [x, w], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), cout));
  }
  g.op('Tanh', [conv(reflect(x, 3), ngf, 3, 7)], {}, 'output');
  g.output('output', 'float', ['N', 3, 'H', 'W']);
  return g.toBytes();
}

/** The manifest for an image-to-image model in folder `name`, with overridable parts. */
export function imageManifest(
  name: string,
  options: { layout?: Layout; inRange?: PixelRange; outRange?: PixelRange; multipleOf?: number; maxSide?: number } = {},
): ImageToImageManifest {
  const layout = options.layout ?? 'NCHW';
  return {
    name,
    task: 'image-to-image',
    onnx: 'model.onnx',
    description: `test model ${name}`,
    input: {
      name: 'input',
      layout,
      channels: 3,
      range: options.inRange ?? [-1, 1],
      multipleOf: options.multipleOf ?? 4,
      maxSide: options.maxSide ?? 2048,
    },
    output: { name: 'output', layout, range: options.outRange ?? options.inRange ?? [-1, 1] },
  };
}

/** A fresh temporary MODELS_DIR. */
export function tempModelsDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ganserve-models-'));
}

/** Writes `<modelsDir>/<folder>/model.json` (object or raw text) and, if given, the ONNX bytes. */
export function writeModel(modelsDir: string, folder: string, manifest: object | string, onnx?: Uint8Array | string): string {
  const dir = path.join(modelsDir, folder);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 2));
  if (onnx !== undefined) writeFileSync(path.join(dir, 'model.onnx'), onnx);
  return dir;
}

/** Small deterministic PRNG for weights. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Photo-like RGB pixels, width × height × 3: smooth waves plus mild noise, so that JPEG sizes and
 * codec times resemble a real photo's. `wave` sets the red and green wavelengths (in pixels) and
 * the red phase; `random` draws the noise.
 */
export function photoLikePixels(width: number, height: number, random: () => number, wave = { x: 40, y: 55, phase: 0 }): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (128 + 100 * Math.sin(x / wave.x + wave.phase) + random() * 20) & 255;
      pixels[i + 1] = (128 + 100 * Math.cos(y / wave.y) + random() * 20) & 255;
      pixels[i + 2] = ((x + y) / 8 + random() * 20) & 255;
    }
  }
  return pixels;
}
