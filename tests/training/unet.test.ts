/**
 * The pix2pix nets: the U-Net keeps any multiple-of-2^depth size and exports to ONNX with tfjs's
 * numbers; the conditional PatchGAN scores (condition, image) pairs.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { conditionalPatchDiscriminator } from '../../training/nets/conditional-patchgan.ts';
import { levelWidth, unetGenerator } from '../../training/nets/unet.ts';
import { checkParity, randomizeWeights, useCpuBackend } from './export-harness.ts';

beforeAll(useCpuBackend);

describe('U-Net generator', () => {
  it('maps any multiple of 2^depth to the same size, with the output channels, in [-1, 1]', () => {
    const net = unetGenerator({ inputChannels: 1, outputChannels: 2, filters: 4, depth: 3, seed: 1 });
    for (const [height, width] of [
      [16, 16],
      [24, 40],
    ] as const) {
      const out = tf.tidy(() => net.predict(tf.randomUniform([2, height, width, 1], -1, 1, 'float32', 3)) as tf.Tensor);
      expect(out.shape).toEqual([2, height, width, 2]);
      expect(Math.max(...out.dataSync().map(Math.abs))).toBeLessThanOrEqual(1);
      out.dispose();
    }
    net.dispose();
  });

  it('widths double per level up to 8× the first', () => {
    expect([1, 2, 3, 4, 5, 6].map((level) => levelWidth(32, level))).toEqual([32, 64, 128, 256, 256, 256]);
  });

  it('skips carry every encoder level: each decoder concatenation has twice its width', () => {
    const net = unetGenerator({ inputChannels: 3, outputChannels: 3, filters: 4, depth: 4 });
    const skips = net.layers.filter((l) => l.getClassName() === 'Concatenate');
    expect(skips.map((l) => (l.outputShape as number[])[3])).toEqual([32, 16, 8]);
    net.dispose();
  });

  it('is reproducible from its seed', () => {
    const [a, b] = [
      unetGenerator({ inputChannels: 1, outputChannels: 2, filters: 4, depth: 2, seed: 9 }),
      unetGenerator({ inputChannels: 1, outputChannels: 2, filters: 4, depth: 2, seed: 9 }),
    ];
    expect(a.getWeights()[0]!.dataSync()).toEqual(b.getWeights()[0]!.dataSync());
    a.dispose();
    b.dispose();
  });

  it('exports to ONNX matching tfjs within 1e-4, NCHW and NHWC, at a size it was not built for', async () => {
    const net = unetGenerator({ inputChannels: 3, outputChannels: 3, filters: 4, depth: 3, seed: 2 });
    randomizeWeights(net, 4);
    for (const imageLayout of ['NCHW', 'NHWC'] as const) {
      const { maxAbsDiff } = await checkParity(net, [tf.randomNormal([1, 24, 32, 3], 0, 1, 'float32', 5)], { imageLayout });
      expect(maxAbsDiff, imageLayout).toBeLessThanOrEqual(1e-4);
    }
    net.dispose();
  });
});

describe('conditional PatchGAN', () => {
  it('scores a (condition, image) pair on a grid 2^layers smaller', () => {
    const net = conditionalPatchDiscriminator({ conditionChannels: 1, imageChannels: 2, filters: 4, layers: 3, seed: 1 });
    const out = tf.tidy(() => net.predict([tf.zeros([2, 64, 48, 1]), tf.zeros([2, 64, 48, 2])]) as tf.Tensor);
    expect(out.shape).toEqual([2, 8, 6, 1]);
    out.dispose();
    net.dispose();
  });

  it('depends on the condition, not only on the image', () => {
    const net = conditionalPatchDiscriminator({ conditionChannels: 1, imageChannels: 2, filters: 4, layers: 2, seed: 2 });
    const image = tf.randomNormal([1, 16, 16, 2], 0, 1, 'float32', 1);
    const [a, b] = [tf.randomNormal([1, 16, 16, 1], 0, 1, 'float32', 2), tf.randomNormal([1, 16, 16, 1], 0, 1, 'float32', 3)].map(
      (condition) => (net.predict([condition, image]) as tf.Tensor).dataSync(),
    );
    expect(Array.from(a!)).not.toEqual(Array.from(b!));
    net.dispose();
  });
});
