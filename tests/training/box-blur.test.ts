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
import { type Shape4, referenceBox } from './box-reference.ts';
import { checkParity, randomInput, randomizeWeights, singleLayerModel } from './export-harness.ts';

describe('BoxBlur', () => {
  it.each([
    { shape: [1, 9, 11, 3] as Shape4, radius: 2 },
    // Windows wider than the image: every window is clipped.
    { shape: [2, 5, 7, 2] as Shape4, radius: 4 },
  ])('is the mean over the in-image part of each window: $shape, r = $radius', ({ shape, radius }) => {
    const input = randomInput(shape, 7);
    const blurred = new BoxBlur({ radius }).apply(input) as tf.Tensor;
    const expected = referenceBox(input.dataSync(), shape, radius);
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
