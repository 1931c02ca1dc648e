import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../training/backend/select.ts';
import { MNIST_PIXELS, splitMnist, subsetOf } from '../../training/data/mnist.ts';
import { DigitClassifier, readClassifierInfo } from '../../training/eval/classifier.ts';
import { FEATURE_DIM, buildClassifierNet, classifierToOnnx } from '../../training/eval/classifier-net.ts';
import { accuracy } from '../../training/eval/metrics.ts';
import { shiftImage, trainClassifier } from '../../training/eval/train-classifier.ts';

beforeAll(async () => {
  await selectBackend('wasm-ort', { log: () => {} });
});

describe('shiftImage', () => {
  it('moves pixels by whole steps and fills the uncovered edge with black', () => {
    const source = new Float32Array(MNIST_PIXELS).fill(-1);
    source[10 * 28 + 10] = 1;
    const target = new Float32Array(MNIST_PIXELS);
    shiftImage(source, target, 2, -1);
    expect(target[9 * 28 + 12]).toBe(1);
    expect(target.filter((v) => v === 1)).toHaveLength(1);
    shiftImage(source, target, 0, 0);
    expect(Array.from(target)).toEqual(Array.from(source));
  });
});

describe('classifier ONNX export', () => {
  it('computes the same logits and features as the tfjs net', async () => {
    const net = buildClassifierNet(11);
    const digits = subsetOf(splitMnist().heldOut, [0, 200, 400, 600, 800, 1000, 1200, 1400]);
    const [logits, features] = net.predict(tf.tensor4d(digits.images, [digits.count, 28, 28, 1])) as tf.Tensor[];
    const classifier = await DigitClassifier.fromBytes(classifierToOnnx(net));
    const onnx = await classifier.classify(digits.images);
    await classifier.release();
    const expectedLogits = await logits!.data();
    const expectedFeatures = await features!.data();
    expect(onnx.features).toHaveLength(digits.count * FEATURE_DIM);
    onnx.logits.forEach((v, i) => expect(v).toBeCloseTo(expectedLogits[i]!, 4));
    onnx.features.forEach((v, i) => expect(v).toBeCloseTo(expectedFeatures[i]!, 4));
    tf.dispose([logits!, features!]);
    net.dispose();
  });
});

describe('classifier training', () => {
  it('runs a short seeded training and reports held-out accuracy of the exported model', async () => {
    const { onnx, info } = await trainClassifier({ epochs: 1, limit: 256, batchSize: 64, log: () => {} });
    expect(info.steps).toBe(4);
    expect(info.trainCount).toBe(256);
    expect(info.heldOutCount).toBe(1500);
    expect(info.heldOutPerClassAccuracy).toHaveLength(10);
    expect(onnx.byteLength).toBeGreaterThan(100_000);
  });
});

describe('committed classifier', () => {
  it('scores at least 98 % on the 1,500 held-out real digits, as its provenance says', async () => {
    const { heldOut } = splitMnist();
    const classifier = await DigitClassifier.load();
    const { predictions } = await classifier.classify(heldOut.images);
    await classifier.release();
    const info = await readClassifierInfo();
    expect(accuracy(predictions, heldOut.labels)).toBeGreaterThanOrEqual(0.98);
    expect(accuracy(predictions, heldOut.labels)).toBeCloseTo(info.heldOutAccuracy, 10);
  });
});
