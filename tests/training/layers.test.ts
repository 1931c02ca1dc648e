import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { InstanceNormalization, ReflectionPadding2D } from '../../training/nets/layers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i += 1) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Round-trips a model through save/load in memory, as a checkpoint would. */
async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return tf.loadLayersModel(tf.io.fromMemory(artifacts!));
}

describe('InstanceNormalization', () => {
  it('matches a hand computation per sample and channel', () => {
    const [n, h, w, c] = [2, 3, 5, 4];
    const data = Float32Array.from({ length: n * h * w * c }, (_, i) => Math.sin(i * 1.7) * 3 + (i % c));
    const epsilon = 1e-5;
    const layer = new InstanceNormalization({ epsilon });
    const output = layer.apply(tf.tensor4d(data, [n, h, w, c])) as tf.Tensor;
    const actual = output.dataSync();

    const expected = new Float32Array(data.length);
    for (let b = 0; b < n; b += 1) {
      for (let ch = 0; ch < c; ch += 1) {
        const indices: number[] = [];
        for (let p = 0; p < h * w; p += 1) indices.push(b * h * w * c + p * c + ch);
        const mean = indices.reduce((s, i) => s + data[i]!, 0) / indices.length;
        const variance = indices.reduce((s, i) => s + (data[i]! - mean) ** 2, 0) / indices.length;
        for (const i of indices) expected[i] = (data[i]! - mean) / Math.sqrt(variance + epsilon);
      }
    }
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4);
  });

  it('applies gamma and beta when affine', () => {
    const layer = new InstanceNormalization({ affine: true });
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 7);
    layer.apply(x);
    layer.setWeights([tf.tensor1d([2, 3]), tf.tensor1d([0.5, -1])]);
    const plain = new InstanceNormalization().apply(x) as tf.Tensor;
    const expected = tf.add(tf.mul(plain, tf.tensor1d([2, 3])), tf.tensor1d([0.5, -1]));
    expect(maxAbsDiff((layer.apply(x) as tf.Tensor).dataSync(), expected.dataSync())).toBeLessThan(1e-5);
  });

  it('has gradients that match finite differences', () => {
    const layer = new InstanceNormalization({ affine: true });
    const x = tf.randomNormal([1, 3, 3, 2], 0, 1, 'float32', 5);
    const weights = tf.randomNormal([1, 3, 3, 2], 0, 1, 'float32', 6);
    const loss = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, weights)) as tf.Scalar;
    const analytic = tf.grad(loss)(x).dataSync();
    const data = x.dataSync();
    const step = 1e-2;
    for (const i of [0, 5, 11, 17]) {
      const shifted = (delta: number) => {
        const copy = Float32Array.from(data);
        copy[i]! += delta;
        return loss(tf.tensor4d(copy, [1, 3, 3, 2])).dataSync()[0]!;
      };
      const numeric = (shifted(step) - shifted(-step)) / (2 * step);
      expect(Math.abs(numeric - analytic[i]!)).toBeLessThan(2e-2);
    }
  });

  it('applies its activation after the norm, and after gamma and beta when affine', () => {
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 8);
    const plain = new InstanceNormalization().apply(x) as tf.Tensor;
    const relu = new InstanceNormalization({ activation: 'relu' }).apply(x) as tf.Tensor;
    const leaky = new InstanceNormalization({ activation: 'leakyrelu', alpha: 0.3 }).apply(x) as tf.Tensor;
    expect(maxAbsDiff(relu.dataSync(), tf.relu(plain).dataSync())).toBe(0);
    expect(maxAbsDiff(leaky.dataSync(), tf.leakyRelu(plain, 0.3).dataSync())).toBe(0);
    const affine = new InstanceNormalization({ affine: true, activation: 'relu' });
    affine.apply(x);
    affine.setWeights([tf.tensor1d([2, 3]), tf.tensor1d([0.5, -1])]);
    const expected = tf.relu(tf.add(tf.mul(plain, tf.tensor1d([2, 3])), tf.tensor1d([0.5, -1])));
    expect(maxAbsDiff((affine.apply(x) as tf.Tensor).dataSync(), expected.dataSync())).toBeLessThan(1e-5);
    expect(() => new InstanceNormalization({ activation: 'tanh' as 'relu' })).toThrow(/activation/);
  });

  it('survives save and load with its weights and config', async () => {
    const input = tf.input({ shape: [6, 6, 3] });
    const output = new InstanceNormalization({ affine: true, epsilon: 1e-3, activation: 'leakyrelu', alpha: 0.1 }).apply(
      input,
    ) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    model.layers[1]!.setWeights([tf.tensor1d([1, 2, 3]), tf.tensor1d([0, 1, 0])]);
    const loaded = await roundTrip(model);
    const layer = loaded.layers[1] as InstanceNormalization;
    expect(layer).toBeInstanceOf(InstanceNormalization);
    expect(layer.epsilon).toBe(1e-3);
    expect(layer.affine).toBe(true);
    expect([layer.activation, layer.alpha]).toEqual(['leakyrelu', 0.1]);
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 3);
    const diff = maxAbsDiff((model.predict(x) as tf.Tensor).dataSync(), (loaded.predict(x) as tf.Tensor).dataSync());
    expect(diff).toBe(0);
  });
});

describe('ReflectionPadding2D', () => {
  it('matches tf.mirrorPad reflect with asymmetric pads', () => {
    const x = tf.randomNormal([2, 5, 4, 3], 0, 1, 'float32', 11);
    const layer = new ReflectionPadding2D({
      padding: [
        [1, 3],
        [2, 0],
      ],
    });
    const output = layer.apply(x) as tf.Tensor;
    const expected = tf.mirrorPad(
      x,
      [
        [0, 0],
        [1, 3],
        [2, 0],
        [0, 0],
      ],
      'reflect',
    );
    expect(output.shape).toEqual([2, 9, 6, 3]);
    expect(maxAbsDiff(output.dataSync(), expected.dataSync())).toBe(0);
  });

  it('accepts a single size and reports its output shape', () => {
    const layer = new ReflectionPadding2D({ padding: 3 });
    expect(layer.computeOutputShape([null, 10, null, 3])).toEqual([null, 16, null, 3]);
    expect(layer.padding).toEqual([
      [3, 3],
      [3, 3],
    ]);
  });

  it('survives save and load', async () => {
    const input = tf.input({ shape: [null, null, 2] });
    const output = new ReflectionPadding2D({ padding: [2, 1] }).apply(input) as tf.SymbolicTensor;
    const loaded = await roundTrip(tf.model({ inputs: input, outputs: output }));
    const layer = loaded.layers[1] as ReflectionPadding2D;
    expect(layer).toBeInstanceOf(ReflectionPadding2D);
    expect(layer.padding).toEqual([
      [2, 2],
      [1, 1],
    ]);
    const y = loaded.predict(tf.ones([1, 4, 4, 2])) as tf.Tensor;
    expect(y.shape).toEqual([1, 8, 6, 2]);
  });

  it('rejects negative pads', () => {
    expect(() => new ReflectionPadding2D({ padding: -1 })).toThrow(/non-negative/);
  });
});
