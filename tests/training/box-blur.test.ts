/**
 * BoxBlur (training/nets/box-blur.ts): the border-clipped window mean against a direct float64
 * computation, its ONNX export, and the photo2anime generator's blurred input skip: the output
 * layer sees the blurred photo, and the whole generator exports with parity.
 */
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { BoxBlur } from '../../training/nets/box-blur.ts';
import { resnetGenerator } from '../../training/nets/cyclegan.ts';
import { checkParity, randomInput, randomizeWeights, singleLayerModel } from './export-harness.ts';

type Shape4 = [number, number, number, number];

function referenceBoxMean(values: Float32Array, [n, h, w, c]: Shape4, r: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          let [sum, count] = [0, 0];
          for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++)
            for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
              sum += values[((b * h + yy) * w + xx) * c + k]!;
              count++;
            }
          out[((b * h + y) * w + x) * c + k] = sum / count;
        }
  return out;
}

describe('BoxBlur', () => {
  it.each([
    { shape: [1, 9, 11, 3] as Shape4, radius: 2 },
    // Windows wider than the image: every window is clipped.
    { shape: [2, 5, 7, 2] as Shape4, radius: 4 },
  ])('is the mean over the in-image part of each window: $shape, r = $radius', ({ shape, radius }) => {
    const input = randomInput(shape, 7);
    const values = input.dataSync() as Float32Array;
    const blurred = new BoxBlur({ radius }).apply(input) as tf.Tensor;
    const expected = referenceBoxMean(values, shape, radius);
    const got = blurred.dataSync();
    expect(Math.max(...expected.map((e, i) => Math.abs(e - got[i]!)))).toBeLessThanOrEqual(1e-5);
    tf.dispose([input, blurred]);
  });

  it('refuses a radius that is not a positive integer', () => {
    expect(() => new BoxBlur({ radius: 0 })).toThrow(/positive integer/);
    expect(() => new BoxBlur({ radius: 1.5 })).toThrow(/positive integer/);
  });

  it('exports to one AveragePool with parity', async () => {
    const model = singleLayerModel([null, null, 3], new BoxBlur({ radius: 3 }));
    const { maxAbsDiff, onnx } = await checkParity(model, [randomInput([1, 10, 13, 3], 3)]);
    expect(maxAbsDiff).toBeLessThanOrEqual(1e-5);
    const ops = (onnxProto.onnx.ModelProto.decode(onnx).graph?.node ?? []).map((node) => node.opType);
    expect(ops.filter((op) => op === 'AveragePool')).toHaveLength(1);
  });
});

describe('the generator with a blurred input skip', () => {
  const options = { filters: 4, blocks: 1, upsampling: 'resize', inputSkip: true, inputSkipBlur: 2 } as const;

  it('feeds the output layer the blurred photo, not the photo', () => {
    const layers = resnetGenerator(options).layers;
    const blur = layers.find((layer) => layer instanceof BoxBlur);
    expect(blur?.getConfig().radius).toBe(2);
    const skip = layers.find((layer) => layer.name.endsWith('_input_skip'))!;
    expect(skip.inboundNodes[0]!.inboundLayers).toContain(blur);
    expect(resnetGenerator({ ...options, inputSkipBlur: 0 }).layers.some((layer) => layer instanceof BoxBlur)).toBe(false);
  });

  it('exports with parity at sizes that are not square', async () => {
    const model = resnetGenerator(options);
    randomizeWeights(model, 5);
    for (const [h, w] of [
      [16, 16],
      [20, 12],
    ] as const) {
      const { maxAbsDiff } = await checkParity(model, [randomInput([1, h, w, 3], h * w)]);
      expect(maxAbsDiff, `${h}x${w}`).toBeLessThanOrEqual(1e-4);
    }
  });
});
