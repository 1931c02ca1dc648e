/**
 * TextureFlatten (training/nets/texture-flatten.ts): textured areas go into hard luma steps with
 * their hue kept, smooth ramps of any slope stay as they are, and the layer exports with parity
 * (also on a generator through withTextureFlatten).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { resnetGenerator } from '../../training/nets/cyclegan.ts';
import { LUMA_WEIGHTS, TextureFlatten, withTextureFlatten } from '../../training/nets/texture-flatten.ts';
import { checkParity, maxAbsDiff, randomizeWeights } from './export-harness.ts';

const CONFIG = { levels: 6, low: 0.002, high: 0.006 };
const [HEIGHT, WIDTH] = [24, 32];
/** Pixels at least this far from every border, where the steps apply in full. */
const MARGIN = 8;

function image(value: (y: number, x: number, channel: number) => number): tf.Tensor4D {
  const data = new Float32Array(HEIGHT * WIDTH * 3);
  for (let y = 0; y < HEIGHT; y++)
    for (let x = 0; x < WIDTH; x++) for (let c = 0; c < 3; c++) data[(y * WIDTH + x) * 3 + c] = value(y, x, c);
  return tf.tensor4d(data, [1, HEIGHT, WIDTH, 3]);
}

function interior(): number[] {
  const pixels: number[] = [];
  for (let y = MARGIN; y < HEIGHT - MARGIN; y++) for (let x = MARGIN; x < WIDTH - MARGIN; x++) pixels.push(y * WIDTH + x);
  return pixels;
}

const flatten = (input: tf.Tensor4D) => new TextureFlatten(CONFIG).apply(input) as tf.Tensor;

describe('TextureFlatten', () => {
  it.each([0.01, 0.04])('leaves a smooth ramp (slope %f per pixel) alone, up to the border', (slope) => {
    const ramp = image((y, x, c) => -0.7 + slope * (x + 0.25 * y) + 0.05 * c);
    const [before, after] = [ramp.dataSync(), flatten(ramp).dataSync()];
    expect(maxAbsDiff(after, before)).toBeLessThanOrEqual(1e-5);
  });

  it('puts a textured area into hard luma steps, shifting r, g and b alike', () => {
    let seed = 7;
    const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.4;
    const values = Array.from({ length: HEIGHT * WIDTH }, noise);
    const textured = image((y, x, c) => values[y * WIDTH + x]! + [0.1, 0, -0.1][c]!);
    const [before, after] = [textured.dataSync(), flatten(textured).dataSync()];
    const centres = Array.from({ length: CONFIG.levels }, (_, i) => (i + 0.5) / CONFIG.levels);
    for (const p of interior()) {
      const luma = 0.5 * LUMA_WEIGHTS.reduce((sum, w, c) => sum + w * after[p * 3 + c]!, 0) + 0.5;
      expect(Math.min(...centres.map((centre) => Math.abs(centre - luma)))).toBeLessThanOrEqual(1e-5);
      const shifts = [0, 1, 2].map((c) => after[p * 3 + c]! - before[p * 3 + c]!);
      expect(Math.max(...shifts) - Math.min(...shifts)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('refuses fewer than two levels or thresholds out of order', () => {
    expect(() => new TextureFlatten({ ...CONFIG, levels: 1 })).toThrow(/levels/);
    expect(() => new TextureFlatten({ ...CONFIG, low: 0.01, high: 0.005 })).toThrow(/low < high/);
  });

  it('exports with parity on a generator, NCHW at sizes that are not square', async () => {
    const generator = resnetGenerator({ filters: 4, blocks: 1, head: 'colour-transform' });
    randomizeWeights(generator, 3);
    const model = withTextureFlatten(generator, CONFIG);
    for (const [h, w] of [
      [24, 32],
      [20, 12],
    ] as const) {
      const input = tf.randomUniform([1, h, w, 3], -1, 1, 'float32', h * w);
      // Floor can land on the other side of a step where tfjs's and onnxruntime's luma differ in the last bit.
      const { maxAbsDiff: diff } = await checkParity(model, [input], { imageLayout: 'NCHW' });
      expect(diff, `${h}x${w}`).toBeLessThanOrEqual(1e-4);
    }
  });
});
