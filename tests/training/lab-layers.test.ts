/**
 * CIELAB in tensors and in the exported graph: the tensor functions against the eval's float64
 * conversion (color-transfer.ts), the layers' ONNX parity, and the property the colorize model is
 * built on: the exported graph returns the input's lightness, for grey and colour inputs alike.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { labToRgb as labToRgbBytes, rgbToLab as rgbToLabBytes } from '../../training/eval/color-transfer.ts';
import { exportModel } from '../../training/export/onnx.ts';
import { labToRgb, normalizedLightness, rgbToLab } from '../../training/nets/cielab.ts';
import { LabToRgb, RgbToLightness, rgbColorizer } from '../../training/nets/lab-layers.ts';
import { checkParity, randomizeWeights, useCpuBackend } from './export-harness.ts';

beforeAll(useCpuBackend);

/** Seeded RGB bytes, and the same image as an NHWC tensor in [-1, 1]. */
function randomImage(height: number, width: number, seed: number): { bytes: Uint8Array; tensor: tf.Tensor4D } {
  let state = seed;
  const bytes = Uint8Array.from({ length: height * width * 3 }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 24;
  });
  return {
    bytes,
    tensor: tf.tensor4d(
      Float32Array.from(bytes, (v) => v / 127.5 - 1),
      [1, height, width, 3],
    ),
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** A tiny colourisation net: 1 lightness channel in, 2 chroma channels out (tanh), random weights. */
function tinyChromaNet(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [null, null, 1] as unknown as number[] });
  const hidden = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  const chroma = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'tanh' }).apply(hidden) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: chroma, name: 'tiny_chroma' });
  randomizeWeights(net, seed);
  return net;
}

describe('CIELAB tensor functions', () => {
  it('rgbToLab matches the eval conversion', () => {
    const { bytes, tensor } = randomImage(9, 11, 1);
    const expected = rgbToLabBytes({ name: 'x', width: 11, height: 9, data: bytes });
    expect(maxAbsDiff(rgbToLab(tensor).dataSync(), expected)).toBeLessThan(2e-3);
  });

  it('normalizedLightness is L* / 50 − 1', () => {
    const { bytes, tensor } = randomImage(5, 7, 2);
    const lab = rgbToLabBytes({ name: 'x', width: 7, height: 5, data: bytes });
    const expected = Float32Array.from({ length: 35 }, (_, p) => lab[p * 3]! / 50 - 1);
    expect(maxAbsDiff(normalizedLightness(tensor).dataSync(), expected)).toBeLessThan(2e-5);
  });

  it('labToRgb inverts rgbToLab, and matches the eval conversion', () => {
    const { bytes, tensor } = randomImage(8, 8, 3);
    const lab = rgbToLab(tensor);
    const [lightness, a, b] = tf.split(lab, 3, 3);
    const chroma = tf.div(tf.concat([a!, b!], 3), 110) as tf.Tensor4D;
    const back = labToRgb(tf.sub(tf.div(lightness!, 50), 1) as tf.Tensor4D, chroma, 110);
    expect(maxAbsDiff(back.dataSync(), tensor.dataSync())).toBeLessThan(1e-4);
    const viaEval = labToRgbBytes(rgbToLabBytes({ name: 'x', width: 8, height: 8, data: bytes }), 8, 8).data;
    expect(maxAbsDiff(viaEval, bytes)).toBeLessThanOrEqual(1);
  });

  it('clips out-of-gamut colours instead of returning values outside [-1, 1]', () => {
    const lightness = tf.fill([1, 2, 2, 1], 0.9) as tf.Tensor4D;
    const chroma = tf.fill([1, 2, 2, 2], 1) as tf.Tensor4D;
    const rgb = labToRgb(lightness, chroma, 110).dataSync();
    expect(Math.max(...rgb)).toBeLessThanOrEqual(1);
    expect(Math.min(...rgb)).toBeGreaterThanOrEqual(-1);
    expect(rgb.every(Number.isFinite)).toBe(true);
  });
});

describe('Lab layers: ONNX export', () => {
  it('RgbToLightness alone matches tfjs in NCHW and NHWC, opsets 13 and 17, including out-of-range inputs', async () => {
    const input = tf.input({ shape: [null, null, 3] as unknown as number[], name: 'image' });
    const model = tf.model({ inputs: input, outputs: new RgbToLightness().apply(input) as tf.SymbolicTensor });
    const feed = tf.mul(randomImage(6, 10, 4).tensor, 1.2); // a little outside [-1, 1]: clamped
    for (const [imageLayout, opset] of [
      ['NCHW', 13],
      ['NCHW', 17],
      ['NHWC', 15],
    ] as const) {
      const { maxAbsDiff: diff } = await checkParity(model, [feed], { imageLayout, opset });
      expect(diff, `${imageLayout} opset ${opset}`).toBeLessThanOrEqual(1e-5);
    }
  });

  it('the RGB colouriser (lightness → net → LabToRgb) matches tfjs at two sizes', async () => {
    const model = rgbColorizer(tinyChromaNet(5), 110, 'colorize');
    for (const [height, width] of [
      [8, 12],
      [17, 9],
    ] as const) {
      const { maxAbsDiff: diff, shapes } = await checkParity(model, [randomImage(height, width, height * width).tensor], {
        imageLayout: 'NCHW',
        inputs: [{ name: 'image' }],
      });
      expect(shapes[0]).toEqual([1, 3, height, width]);
      expect(diff, `${height}×${width}`).toBeLessThanOrEqual(1e-4);
    }
  });

  it('keeps the input lightness in onnxruntime, for a grey and for a colour input', async () => {
    // A chroma scale of 20 keeps most predicted colours inside the gamut, where lightness must survive exactly.
    const model = rgbColorizer(tinyChromaNet(6), 20, 'colorize');
    const session = await ort.InferenceSession.create(exportModel(model, { imageLayout: 'NCHW', inputs: [{ name: 'image' }] }).onnx);
    try {
      const colour = randomImage(12, 16, 7).tensor;
      const grey = tf.tile(tf.slice(colour, [0, 0, 0, 1], [-1, -1, -1, 1]), [1, 1, 1, 3]) as tf.Tensor4D;
      for (const [label, image] of [
        ['grey', grey],
        ['colour', colour],
      ] as const) {
        const nchw = tf.transpose(image, [0, 3, 1, 2]);
        const result = await session.run({ image: new ort.Tensor('float32', nchw.dataSync() as Float32Array, [1, 3, 12, 16]) });
        const output = tf.transpose(tf.tensor4d(result.output!.data as Float32Array, [1, 3, 12, 16]), [0, 2, 3, 1]) as tf.Tensor4D;
        const before = rgbToLab(image).dataSync();
        const after = rgbToLab(output).dataSync();
        const rgb = output.dataSync();
        const inGamut = (p: number) => [0, 1, 2].every((c) => Math.abs(rgb[p * 3 + c]!) < 0.999);
        const pixels = Array.from({ length: 12 * 16 }, (_, p) => p).filter(inGamut);
        expect(pixels.length, `${label}: in-gamut pixels`).toBeGreaterThan(150);
        const worst = Math.max(...pixels.map((p) => Math.abs(after[p * 3]! - before[p * 3]!)));
        expect(worst, `${label}: largest |ΔL*|`).toBeLessThan(0.05);
        const chroma = Math.max(...pixels.map((p) => Math.hypot(after[p * 3 + 1]!, after[p * 3 + 2]!)));
        expect(chroma, `${label}: the net did colour it`).toBeGreaterThan(1);
      }
    } finally {
      await session.release();
    }
  });

  it('LabToRgb survives a save/load round trip with its chroma scale', async () => {
    const model = rgbColorizer(tinyChromaNet(8), 96, 'colorize');
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect((loaded.layers.find((l) => l instanceof LabToRgb) as LabToRgb).chromaScale).toBe(96);
    const x = randomImage(4, 4, 9).tensor;
    expect(maxAbsDiff((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync())).toBeLessThan(1e-6);
  });
});
