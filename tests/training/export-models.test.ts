/**
 * Whole-model parity of the ONNX exporter (a label-conditioned generator, the digits recipe's own in
 * both upsamplings, and a CycleGAN-style ResNet generator), graph layout checks, model nesting, and
 * the refusal of unsupported layers.
 */
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportModel, exportToOnnx, UnsupportedLayerError } from '../../training/export/onnx.ts';
import { buildConditionalGenerator } from '../../training/nets/cgan.ts';
import { instanceNormalization, reflectionPadding2D } from '../../training/nets/layers.ts';
import { digitsRecipe } from '../../training/recipes/digits.ts';
import {
  checkParity,
  DIGIT_GENERATOR_UPSAMPLING,
  randomInput,
  randomizeWeights,
  servedContract,
  upsamplingNodes,
  useCpuBackend,
} from './export-harness.ts';

const TOLERANCE = 1e-4;

beforeAll(useCpuBackend);

function opTypes(onnx: Uint8Array): string[] {
  return (onnxProto.onnx.ModelProto.decode(onnx).graph?.node ?? []).map((n) => n.opType ?? '');
}

/** noise + label → Embedding → concat → Dense → BN → Reshape → ConvT ×2 → tanh, 28×28×1. */
function labelConditionedGenerator(): tf.LayersModel {
  const noise = tf.input({ shape: [8], name: 'noise' });
  const label = tf.input({ shape: [1], dtype: 'int32', name: 'label' });
  const embedded = tf.layers.flatten().apply(tf.layers.embedding({ inputDim: 10, outputDim: 4 }).apply(label)) as tf.SymbolicTensor;
  let x = tf.layers.concatenate().apply([noise, embedded]) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 7 * 7 * 8, useBias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reshape({ targetShape: [7, 7, 8] }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2dTranspose({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', useBias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as tf.SymbolicTensor;
  const image = tf.layers
    .conv2dTranspose({ filters: 1, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh' })
    .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [noise, label], outputs: image });
  randomizeWeights(model, 21);
  return model;
}

/** ReflectionPad → Conv 7×7 → IN → ReLU → 2 stride-2 convs → 2 residual blocks → 2 ConvT → Conv 7×7 → tanh. */
function resnetGenerator(): tf.LayersModel {
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
  const convNormRelu = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number, padding: 'same' | 'valid') =>
    apply(
      tf.layers.reLU(),
      apply(instanceNormalization(), apply(tf.layers.conv2d({ filters, kernelSize, strides, padding, useBias: false }), x)),
    );
  const input = tf.input({ shape: [null, null, 3] });
  let x = convNormRelu(apply(reflectionPadding2D({ padding: 3 }), input), 4, 7, 1, 'valid');
  x = convNormRelu(x, 8, 3, 2, 'same');
  x = convNormRelu(x, 16, 3, 2, 'same');
  for (let i = 0; i < 2; i += 1) {
    let y = convNormRelu(apply(reflectionPadding2D({ padding: 1 }), x), 16, 3, 1, 'valid');
    y = apply(
      instanceNormalization(),
      apply(tf.layers.conv2d({ filters: 16, kernelSize: 3, useBias: false }), apply(reflectionPadding2D({ padding: 1 }), y)),
    );
    x = apply(tf.layers.add(), [x, y]);
  }
  for (const filters of [8, 4]) {
    const up = apply(tf.layers.conv2dTranspose({ filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x);
    x = apply(tf.layers.reLU(), apply(instanceNormalization(), up));
  }
  x = apply(tf.layers.conv2d({ filters: 3, kernelSize: 7 }), apply(reflectionPadding2D({ padding: 3 }), x));
  const model = tf.model({ inputs: input, outputs: apply(tf.layers.activation({ activation: 'tanh' }), x) });
  randomizeWeights(model, 33);
  return model;
}

describe('label-conditioned generator', () => {
  it('matches tfjs with noise [N, dim] float32 and labels [N] int64', async () => {
    const model = labelConditionedGenerator();
    const noise = randomInput([5, 8], 1);
    const labels = tf.tensor2d([[0], [3], [9], [3], [7]]);
    const options = { inputs: [{ name: 'noise' }, { name: 'label', shape: [] }] };
    const { maxAbsDiff, shapes } = await checkParity(model, [noise, labels], options);
    expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    expect(shapes[0]).toEqual([5, 28, 28, 1]);
    const exported = exportModel(model, options);
    expect(exported.inputs).toEqual([
      { name: 'noise', dtype: 'float32', dims: ['N', 8] },
      { name: 'label', dtype: 'int64', dims: ['N'] },
    ]);
    expect(exported.outputs).toEqual([{ name: 'output', dtype: 'float32', dims: ['N', 28, 28, 1], layout: 'NHWC' }]);
  });

  it('exports NCHW output without a final transpose', async () => {
    const model = labelConditionedGenerator();
    const options = { imageLayout: 'NCHW' as const, inputs: [{}, { shape: [] }] };
    const { maxAbsDiff, onnx, shapes } = await checkParity(model, [randomInput([2, 8], 2), tf.tensor2d([[1], [2]])], options);
    expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    expect(shapes[0]).toEqual([2, 1, 28, 28]);
    // One transpose only: the Reshape output (tfjs NHWC) into the conv chain.
    expect(opTypes(onnx).filter((op) => op === 'Transpose')).toHaveLength(1);
  });
});

describe('digits generator (training/nets/cgan.ts)', () => {
  it.each(['transpose', 'resize'] as const)('matches tfjs with %s upsampling, exported as the recipe exports it', async (upsampling) => {
    // Width 5: the 'resize' trunk's last hidden layer has ⌈5/2⌉ = 3 channels.
    const model = buildConditionalGenerator({
      noiseDim: 8,
      classes: 10,
      generatorWidth: 5,
      discriminatorWidth: 4,
      labelEmbeddingDim: 4,
      minibatchStddev: false,
      upsampling,
      seed: 3,
    });
    // The builder's N(0, 0.02) weights give images of about 1e-4, where a 1e-4 tolerance says
    // nothing; random ones can kill every ReLU (a constant image), hence the spread check.
    randomizeWeights(model, 25);
    const feeds = [randomInput([5, 8], 1), tf.tensor2d([[0], [3], [9], [3], [7]])];
    const images = model.predict(feeds) as tf.Tensor;
    expect(Math.sqrt(tf.moments(images).variance.dataSync()[0]!)).toBeGreaterThan(0.1);
    const { maxAbsDiff, onnx, shapes } = await checkParity(model, feeds, {
      inputs: [{ name: 'noise' }, { name: 'label', dtype: 'int64', shape: [] }],
      outputs: [{ name: 'image' }],
    });
    expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    expect(shapes).toEqual([[5, 28, 28, 1]]);
    expect(upsamplingNodes(onnx)).toEqual(DIGIT_GENERATOR_UPSAMPLING[upsampling]);
    tf.dispose([...feeds, images]);
    model.dispose();
  });

  it('serves the same contract with --upsampling resize (manifest, ONNX inputs and outputs) and refuses other values', async () => {
    // The default τ = 0.5 keeps the truncated export (training/nets/truncation.ts) in the comparison.
    const options = { ...digitsRecipe.options, generatorWidth: 4, discriminatorWidth: 4, subset: 64 };
    const transpose = await servedContract(digitsRecipe, options);
    const resize = await servedContract(digitsRecipe, { ...options, upsampling: 'resize' });
    expect(resize).toEqual(transpose);
    expect(resize.inputs).toEqual([
      { name: 'noise', dtype: 'float32', dims: ['N', 64] },
      { name: 'label', dtype: 'int64', dims: ['N'] },
    ]);
    expect(resize.outputs).toEqual([{ name: 'image', dtype: 'float32', dims: ['N', 28, 28, 1], layout: 'NHWC' }]);
    await expect(servedContract(digitsRecipe, { ...options, upsampling: 'bilinear' })).rejects.toThrow(
      /--upsampling must be transpose or resize, got bilinear/,
    );
  });
});

describe('CycleGAN-style ResNet generator', () => {
  const model = resnetGenerator();

  it('matches tfjs at several sizes in both external layouts', async () => {
    for (const imageLayout of ['NHWC', 'NCHW'] as const) {
      for (const [h, w] of [
        [16, 16],
        [20, 12],
      ] as const) {
        const { maxAbsDiff, shapes } = await checkParity(model, [randomInput([1, h, w, 3], h * w)], { imageLayout });
        expect(maxAbsDiff, `${imageLayout} ${h}x${w}`).toBeLessThanOrEqual(TOLERANCE);
        expect(shapes[0]).toEqual(imageLayout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3]);
      }
    }
  });

  it('runs NCHW end to end: no transposes in the NCHW export, two at the boundary in NHWC', () => {
    expect(opTypes(exportToOnnx(model, { imageLayout: 'NCHW' })).filter((op) => op === 'Transpose')).toHaveLength(0);
    expect(opTypes(exportToOnnx(model)).filter((op) => op === 'Transpose')).toHaveLength(2);
  });

  it('loads and matches at opsets 13 and 17', async () => {
    for (const opset of [13, 17]) {
      const { maxAbsDiff } = await checkParity(model, [randomInput([1, 8, 8, 3], opset)], { opset });
      expect(maxAbsDiff, `opset ${opset}`).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('declares static height and width with dynamicSpatial false', () => {
    const input = tf.input({ shape: [12, 10, 3] });
    const fixed = tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(input) as tf.SymbolicTensor });
    const { inputs, outputs } = exportModel(fixed, { dynamicSpatial: false });
    expect(inputs[0]!.dims).toEqual(['N', 12, 10, 3]);
    expect(outputs[0]!.dims).toEqual(['N', 10, 8, 2]);
  });

  it('declares dynamic height and width', () => {
    const { inputs, outputs } = exportModel(model, { imageLayout: 'NCHW', inputs: [{ name: 'image' }] });
    expect(inputs[0]).toEqual({ name: 'image', dtype: 'float32', dims: ['N', 3, 'height', 'width'], layout: 'NCHW' });
    expect(outputs[0]!.dims).toEqual(['N', 3, 'output_height', 'output_width']);
  });
});

describe('model structure', () => {
  it('exports Sequential models', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.3 }),
        tf.layers.dense({ units: 4, activation: 'sigmoid' }),
      ],
    });
    randomizeWeights(model, 5);
    const { maxAbsDiff } = await checkParity(model, [randomInput([3, 6, 6, 2], 4)]);
    expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('inlines a model used as a layer of another model', async () => {
    const inner = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'tanh' })] });
    const input = tf.input({ shape: [4] });
    const twice = tf.layers
      .add()
      .apply([inner.apply(input) as tf.SymbolicTensor, tf.layers.dense({ units: 3 }).apply(input) as tf.SymbolicTensor]);
    const outer = tf.model({ inputs: input, outputs: twice as tf.SymbolicTensor });
    randomizeWeights(outer, 6);
    randomizeWeights(inner, 7);
    const { maxAbsDiff } = await checkParity(outer, [randomInput([2, 4], 3)]);
    expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('casts an int64 input that feeds a float layer', async () => {
    const label = tf.input({ shape: [1], dtype: 'int32' });
    const model = tf.model({ inputs: label, outputs: tf.layers.dense({ units: 2 }).apply(label) as tf.SymbolicTensor });
    randomizeWeights(model, 8);
    const { maxAbsDiff, onnx } = await checkParity(model, [tf.tensor2d([[3], [1]])]);
    expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    expect(opTypes(onnx)).toContain('Cast');
  });

  it('rejects input or output specs that do not match the model', () => {
    const input = tf.input({ shape: [3] });
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
    expect(() => exportModel(model, { inputs: [{}, {}] })).toThrow(/2 entries for a model with 1 inputs/);
    expect(() => exportModel(model, { inputs: [{ shape: [4] }] })).toThrow(/does not hold/);
  });

  it('stores the weights of a layer shared by two calls once', async () => {
    const a = tf.input({ shape: [4] });
    const b = tf.input({ shape: [4] });
    const shared = tf.layers.dense({ units: 3 });
    const model = tf.model({
      inputs: [a, b],
      outputs: tf.layers.add().apply([shared.apply(a), shared.apply(b)] as tf.SymbolicTensor[]) as tf.SymbolicTensor,
    });
    randomizeWeights(model, 9);
    const { maxAbsDiff, onnx } = await checkParity(model, [randomInput([2, 4], 1), randomInput([2, 4], 2)]);
    expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    expect(onnxProto.onnx.ModelProto.decode(onnx).graph?.initializer).toHaveLength(2);
  });

  it('names several outputs after their layers', () => {
    const input = tf.input({ shape: [3] });
    const a = tf.layers.dense({ units: 2, name: 'first' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 2, name: 'second' }).apply(input) as tf.SymbolicTensor;
    const { outputs } = exportModel(tf.model({ inputs: input, outputs: [a, b] }));
    expect(outputs.map((o) => o.name)).toEqual(['first', 'second']);
  });
});

describe('unsupported layers', () => {
  it('fails with the layer name and class for an unknown layer', () => {
    const input = tf.input({ shape: [6, 3] });
    const recurrent = tf.layers.lstm({ units: 2, name: 'my_lstm' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: recurrent });
    expect(() => exportToOnnx(model)).toThrow(UnsupportedLayerError);
    expect(() => exportToOnnx(model)).toThrow(/"my_lstm" \(LSTM\)/);
  });

  it('fails for a supported class with a setting it cannot reproduce', () => {
    const input = tf.input({ shape: [2, 8, 8] });
    const conv = tf.layers
      .conv2d({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst', name: 'cf_conv' })
      .apply(input) as tf.SymbolicTensor;
    expect(() => exportToOnnx(tf.model({ inputs: input, outputs: conv }))).toThrow(/"cf_conv" \(Conv2D\): dataFormat channelsFirst/);
  });

  it('fails for an unsupported activation', () => {
    const input = tf.input({ shape: [4] });
    const dense = tf.layers.dense({ units: 2, activation: 'mish', name: 'mish_dense' }).apply(input) as tf.SymbolicTensor;
    expect(() => exportToOnnx(tf.model({ inputs: input, outputs: dense }))).toThrow(/"mish_dense" \(Dense\): activation "mish"/);
  });

  it('rejects an opset outside 13 to 17', () => {
    const input = tf.input({ shape: [4] });
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
    expect(() => exportToOnnx(model, { opset: 11 })).toThrow(/opset/);
  });
});
