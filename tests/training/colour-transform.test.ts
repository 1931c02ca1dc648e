/**
 * LocalColourTransform (training/nets/colour-transform.ts) against a direct per-pixel computation,
 * its ONNX export, and the CycleGAN generator's 'colour-transform' head: untrained it returns its
 * input, trained or not its output is the input recoloured by a smooth field, and it exports with
 * parity.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { COLOUR_TRANSFORM_CHANNELS, LocalColourTransform } from '../../training/nets/colour-transform.ts';
import { resnetGenerator } from '../../training/nets/cyclegan.ts';
import { checkParity, maxAbsDiff, randomInput, randomizeWeights } from './export-harness.ts';

function transformModel(): tf.LayersModel {
  const coefficients = tf.input({ shape: [null, null, COLOUR_TRANSFORM_CHANNELS] as unknown as number[], name: 'coefficients' });
  const image = tf.input({ shape: [null, null, 3] as unknown as number[], name: 'image' });
  const output = new LocalColourTransform().apply([coefficients, image]) as tf.SymbolicTensor;
  return tf.model({ inputs: [coefficients, image], outputs: output });
}

/** out_c = clip(x_c + Σ_k x_k·C[3k + c] + C[9 + c]) in float64, pixel by pixel. */
function reference(coefficients: Float32Array, image: Float32Array): Float64Array {
  const pixels = image.length / 3;
  const out = new Float64Array(image.length);
  for (let p = 0; p < pixels; p++) {
    const c = coefficients.subarray(p * 12, p * 12 + 12);
    const x = image.subarray(p * 3, p * 3 + 3);
    for (let channel = 0; channel < 3; channel++) {
      const value = x[channel]! + x[0]! * c[channel]! + x[1]! * c[3 + channel]! + x[2]! * c[6 + channel]! + c[9 + channel]!;
      out[p * 3 + channel] = Math.min(1, Math.max(-1, value));
    }
  }
  return out;
}

/** An image in [-1, 1], where the transform's clip leaves it alone. */
const randomImage = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

describe('LocalColourTransform', () => {
  it('applies each pixel its own affine colour transform, clipped to [-1, 1]', () => {
    const coefficients = tf.mul(randomInput([2, 5, 6, COLOUR_TRANSFORM_CHANNELS], 1), 0.8);
    const image = randomImage([2, 5, 6, 3], 2);
    const out = transformModel().predict([coefficients, image]) as tf.Tensor;
    const expected = reference(coefficients.dataSync() as Float32Array, image.dataSync() as Float32Array);
    expect(expected.some((v) => Math.abs(v) === 1)).toBe(true);
    expect(maxAbsDiff(out.dataSync(), expected)).toBeLessThanOrEqual(1e-6);
    tf.dispose([coefficients, image, out]);
  });

  it('swaps red and blue with the matching coefficients, and is the identity at zero', () => {
    const image = randomImage([1, 3, 4, 3], 3);
    const swap = new Float32Array(3 * 4 * COLOUR_TRANSFORM_CHANNELS);
    for (let p = 0; p < 12; p++) swap.set([-1, 0, 1, 0, 0, 0, 1, 0, -1, 0, 0, 0], p * COLOUR_TRANSFORM_CHANNELS);
    const model = transformModel();
    const swapped = (model.predict([tf.tensor4d(swap, [1, 3, 4, COLOUR_TRANSFORM_CHANNELS]), image]) as tf.Tensor).dataSync();
    const same = (model.predict([tf.zeros([1, 3, 4, COLOUR_TRANSFORM_CHANNELS]), image]) as tf.Tensor).dataSync();
    const x = image.dataSync();
    const expected = Array.from(x, (_, i) => x[i - (i % 3) + 2 - (i % 3)]!);
    expect(maxAbsDiff(swapped, expected)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(same, x)).toBe(0);
  });

  it('refuses inputs of the wrong channel counts or sizes', () => {
    const image = tf.input({ shape: [8, 8, 3] });
    expect(() => new LocalColourTransform().apply([tf.input({ shape: [8, 8, 9] }), image])).toThrow(/12 coefficient channels/);
    const layer = new LocalColourTransform();
    expect(() => layer.apply([tf.zeros([1, 4, 4, 12]), tf.zeros([1, 4, 5, 3])])).toThrow(/differ in size/);
  });

  it('exports with parity, NCHW and NHWC', async () => {
    const feeds = [tf.mul(randomInput([1, 7, 9, COLOUR_TRANSFORM_CHANNELS], 4), 0.5), randomImage([1, 7, 9, 3], 5)];
    for (const imageLayout of ['NCHW', 'NHWC'] as const) {
      const { maxAbsDiff: diff } = await checkParity(transformModel(), feeds, { imageLayout });
      expect(diff, imageLayout).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe("the generator's colour-transform head", () => {
  const options = { filters: 4, blocks: 1, head: 'colour-transform' } as const;

  it('returns its input untrained, and has no decoder', () => {
    const generator = resnetGenerator(options);
    const image = randomImage([1, 16, 20, 3], 6);
    const out = generator.predict(image) as tf.Tensor;
    expect(maxAbsDiff(out.dataSync(), image.dataSync())).toBe(0);
    expect(generator.layers.some((layer) => layer.name.includes('_up'))).toBe(false);
    expect(() => resnetGenerator({ ...options, head: 'paint' as never })).toThrow(/pixels or colour-transform/);
  });

  it('blends the upsampled coefficient blocks: neighbours differ by at most a ninth of the blocks’ range', () => {
    const generator = resnetGenerator(options);
    randomizeWeights(generator, 8);
    const fields = tf.model({
      inputs: generator.inputs,
      outputs: ['generator_coef_resize', 'generator_coef_blend'].map((name) => generator.getLayer(name).output as tf.SymbolicTensor),
    });
    const [blocks, blended] = (fields.predict(randomImage([1, 32, 32, 3], 7)) as tf.Tensor[]).map((t) => t.arraySync() as number[][][][]);
    for (let channel = 0; channel < COLOUR_TRANSFORM_CHANNELS; channel++) {
      const plane = blended![0]!.map((row) => row.map((pixel) => pixel[channel]!));
      const all = blocks![0]!.flat().map((pixel) => pixel[channel]!);
      // The 9×9 box over 4×4 blocks: one pixel's move swaps one column (or row) of 9 block values.
      const range = Math.max(...all) - Math.min(...all);
      // Away from the borders, where the window is whole (at a border it is clipped to fewer columns).
      let step = 0;
      for (let y = 4; y < 27; y++)
        for (let x = 4; x < 27; x++) {
          step = Math.max(step, Math.abs(plane[y]![x + 1]! - plane[y]![x]!), Math.abs(plane[y + 1]![x]! - plane[y]![x]!));
        }
      expect(range, `channel ${channel}`).toBeGreaterThan(0);
      expect(step, `channel ${channel}`).toBeLessThanOrEqual(range / 9 + 1e-6);
    }
  });

  it('pads its stride-2 convs by reflection on all four sides, where the pixel head keeps tfjs "same"', () => {
    const strided = (generator: tf.LayersModel) =>
      generator.layers.filter((layer) => layer.getClassName() === 'Conv2D' && (layer.getConfig().strides as number[])[0] === 2);
    const head = strided(resnetGenerator(options));
    expect(head).toHaveLength(2);
    for (const conv of head) {
      expect(conv.getConfig().padding).toBe('valid');
      expect(conv.inboundNodes[0]!.inboundLayers[0]!.getClassName()).toBe('ReflectionPadding2D');
    }
    expect(strided(resnetGenerator({ ...options, head: 'pixels' })).map((conv) => conv.getConfig().padding)).toEqual(['same', 'same']);
  });

  it('exports with parity at sizes that are not square', async () => {
    const generator = resnetGenerator(options);
    randomizeWeights(generator, 9);
    for (const [h, w] of [
      [16, 16],
      [20, 12],
    ] as const) {
      const { maxAbsDiff: diff } = await checkParity(generator, [randomInput([1, h, w, 3], h * w)]);
      expect(diff, `${h}x${w}`).toBeLessThanOrEqual(1e-4);
    }
  });
});
