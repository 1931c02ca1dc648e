/**
 * Per-layer parity of the ONNX exporter: each supported layer alone, in many configurations,
 * through tfjs (cpu backend) and onnxruntime; max abs diff ≤ 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { InstanceNormalization, ReflectionPadding2D } from '../../training/nets/layers.ts';
import { checkParity, randomInput, randomizeWeights, singleLayerModel, useCpuBackend } from './export-harness.ts';

const TOLERANCE = 1e-4;

beforeAll(useCpuBackend);

async function expectLayerParity(inputShape: number[], makeLayer: () => tf.layers.Layer, imageLayouts: ('NHWC' | 'NCHW')[] = ['NHWC']) {
  for (const imageLayout of imageLayouts) {
    const model = singleLayerModel(inputShape, makeLayer());
    const { maxAbsDiff } = await checkParity(model, [randomInput([2, ...inputShape], 5)], { imageLayout });
    expect(maxAbsDiff, `layout ${imageLayout}`).toBeLessThanOrEqual(TOLERANCE);
  }
}

describe('Conv2D', () => {
  const cases: {
    size: [number, number];
    kernel: number | [number, number];
    strides: number | [number, number];
    padding: 'same' | 'valid';
    dilation?: number;
  }[] = [
    { size: [8, 8], kernel: 3, strides: 1, padding: 'same' },
    { size: [8, 8], kernel: 3, strides: 2, padding: 'same' },
    { size: [9, 7], kernel: 3, strides: 2, padding: 'same' },
    { size: [9, 7], kernel: 4, strides: 2, padding: 'same' },
    { size: [10, 11], kernel: 5, strides: 3, padding: 'same' },
    { size: [7, 7], kernel: 2, strides: 1, padding: 'same' },
    { size: [9, 7], kernel: 3, strides: 2, padding: 'valid' },
    { size: [8, 9], kernel: [1, 3], strides: [1, 2], padding: 'valid' },
    { size: [13, 13], kernel: 7, strides: 1, padding: 'valid' },
    { size: [11, 10], kernel: 3, strides: 1, padding: 'same', dilation: 2 },
    { size: [11, 10], kernel: 3, strides: 1, padding: 'valid', dilation: 2 },
  ];
  for (const c of cases) {
    it(`${c.size.join('x')} kernel ${c.kernel} stride ${c.strides} ${c.padding}${c.dilation ? ` dilation ${c.dilation}` : ''}`, async () => {
      await expectLayerParity(
        [...c.size, 3],
        () => tf.layers.conv2d({ filters: 4, kernelSize: c.kernel, strides: c.strides, padding: c.padding, dilationRate: c.dilation ?? 1 }),
        ['NHWC', 'NCHW'],
      );
    });
  }

  it('without bias, with relu', async () => {
    await expectLayerParity([6, 6, 2], () =>
      tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', useBias: false, activation: 'relu' }),
    );
  });

  it('stride 2 same at sizes other than the ones it was built for (dynamic spatial dims)', async () => {
    const model = singleLayerModel(
      [null, null, 3] as unknown as number[],
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
    );
    for (const [h, w] of [
      [8, 8],
      [9, 7],
      [5, 6],
    ] as const) {
      const { maxAbsDiff } = await checkParity(model, [randomInput([1, h, w, 3], h * w)]);
      expect(maxAbsDiff, `${h}x${w}`).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

describe('Conv2DTranspose', () => {
  const cases: {
    size: [number, number];
    kernel: number | [number, number];
    strides: number | [number, number];
    padding: 'same' | 'valid';
  }[] = [
    { size: [4, 4], kernel: 3, strides: 2, padding: 'same' },
    { size: [5, 3], kernel: 3, strides: 2, padding: 'same' },
    { size: [4, 5], kernel: 4, strides: 2, padding: 'same' },
    { size: [4, 5], kernel: 5, strides: 2, padding: 'same' },
    { size: [3, 4], kernel: 1, strides: 2, padding: 'same' },
    { size: [3, 4], kernel: 2, strides: 3, padding: 'same' },
    { size: [5, 5], kernel: 3, strides: 1, padding: 'same' },
    { size: [4, 4], kernel: 3, strides: 2, padding: 'valid' },
    { size: [3, 5], kernel: 2, strides: 3, padding: 'valid' },
    { size: [7, 7], kernel: [3, 5], strides: [1, 2], padding: 'same' },
  ];
  for (const c of cases) {
    it(`${c.size.join('x')} kernel ${c.kernel} stride ${c.strides} ${c.padding}`, async () => {
      await expectLayerParity(
        [...c.size, 3],
        () => tf.layers.conv2dTranspose({ filters: 2, kernelSize: c.kernel, strides: c.strides, padding: c.padding }),
        ['NHWC', 'NCHW'],
      );
    });
  }

  it('stride 2 same at several input sizes of one dynamic-size model', async () => {
    const model = singleLayerModel(
      [null, null, 2] as unknown as number[],
      tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
    );
    for (const [h, w] of [
      [4, 4],
      [5, 3],
      [1, 2],
    ] as const) {
      const { maxAbsDiff, shapes } = await checkParity(model, [randomInput([2, h, w, 2], h + w)]);
      expect(shapes[0]).toEqual([2, h * 2, w * 2, 3]);
      expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

describe('other convolutions', () => {
  it('DepthwiseConv2D with a depth multiplier, stride 1 and 2', async () => {
    await expectLayerParity([7, 6, 3], () => tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }), [
      'NHWC',
      'NCHW',
    ]);
    await expectLayerParity([7, 6, 3], () => tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
    await expectLayerParity([7, 6, 3], () => tf.layers.depthwiseConv2d({ kernelSize: [2, 3], padding: 'valid' }));
  });

  it('SeparableConv2D', async () => {
    await expectLayerParity([7, 6, 3], () => tf.layers.separableConv2d({ filters: 4, kernelSize: 3, depthMultiplier: 2, padding: 'same' }));
    await expectLayerParity([7, 6, 3], () => tf.layers.separableConv2d({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }));
  });

  it('Conv1D same, valid, strided and dilated', async () => {
    await expectLayerParity([9, 3], () => tf.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same' }));
    await expectLayerParity([9, 3], () => tf.layers.conv1d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }));
    await expectLayerParity([9, 3], () => tf.layers.conv1d({ filters: 4, kernelSize: 4, padding: 'valid' }));
    await expectLayerParity([9, 3], () => tf.layers.conv1d({ filters: 2, kernelSize: 3, padding: 'same', dilationRate: 2 }));
  });
});

describe('pooling', () => {
  const cases: { size: [number, number]; pool: number | [number, number]; strides?: number; padding: 'same' | 'valid' }[] = [
    { size: [8, 8], pool: 2, padding: 'valid' },
    { size: [9, 7], pool: 2, padding: 'same' },
    { size: [9, 7], pool: 3, strides: 2, padding: 'same' },
    { size: [9, 7], pool: 3, strides: 1, padding: 'same' },
    { size: [9, 8], pool: [3, 2], padding: 'valid' },
  ];
  for (const c of cases) {
    it(`max and average ${c.size.join('x')} pool ${c.pool} stride ${c.strides ?? 'pool'} ${c.padding}`, async () => {
      await expectLayerParity([...c.size, 2], () => tf.layers.maxPooling2d({ poolSize: c.pool, strides: c.strides, padding: c.padding }), [
        'NHWC',
        'NCHW',
      ]);
      await expectLayerParity([...c.size, 2], () =>
        tf.layers.averagePooling2d({ poolSize: c.pool, strides: c.strides, padding: c.padding }),
      );
    });
  }

  it('global average and max', async () => {
    await expectLayerParity([4, 5, 3], () => tf.layers.globalAveragePooling2d({}));
    await expectLayerParity([4, 5, 3], () => tf.layers.globalMaxPooling2d({}));
    await expectLayerParity([6, 3], () => tf.layers.globalAveragePooling1d());
  });
});

describe('Dense', () => {
  it('rank 2 with bias and each activation', async () => {
    for (const activation of [
      'linear',
      'relu',
      'tanh',
      'sigmoid',
      'softmax',
      'elu',
      'selu',
      'softplus',
      'softsign',
      'hardSigmoid',
      'relu6',
      'swish',
    ] as const) {
      const model = singleLayerModel([6], tf.layers.dense({ units: 5, activation }));
      const { maxAbsDiff } = await checkParity(model, [randomInput([3, 6], 2).mul(3)]);
      expect(maxAbsDiff, activation).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('rank 3 input, no bias', async () => {
    await expectLayerParity([4, 6], () => tf.layers.dense({ units: 3, useBias: false }));
  });
});

describe('Embedding', () => {
  it('label [N, 1] as int64 (default for an input that only feeds embeddings)', async () => {
    const model = singleLayerModel([1], tf.layers.embedding({ inputDim: 10, outputDim: 6 }));
    const labels = tf.tensor2d([[3], [0], [9], [4]]);
    const { maxAbsDiff } = await checkParity(model, [labels]);
    expect(maxAbsDiff).toBe(0);
  });

  it('labels declared as [N] int64 feed a tfjs [1]-shaped input', async () => {
    const model = singleLayerModel([1], tf.layers.embedding({ inputDim: 10, outputDim: 6 }));
    const { maxAbsDiff, shapes } = await checkParity(model, [tf.tensor2d([[7], [2]])], { inputs: [{ name: 'label', shape: [] }] });
    expect(maxAbsDiff).toBe(0);
    expect(shapes[0]).toEqual([2, 1, 6]);
  });

  it('token sequences [N, T] with float32 indices are cast', async () => {
    const model = singleLayerModel([5], tf.layers.embedding({ inputDim: 20, outputDim: 4 }));
    const tokens = tf.tensor2d([
      [1, 2, 3, 0, 0],
      [19, 18, 0, 0, 0],
    ]);
    const { maxAbsDiff } = await checkParity(model, [tokens], { inputs: [{ dtype: 'float32' }] });
    expect(maxAbsDiff).toBe(0);
  });
});

describe('normalization', () => {
  it('BatchNormalization on images (inference statistics)', async () => {
    await expectLayerParity([5, 6, 4], () => tf.layers.batchNormalization({ epsilon: 1e-3 }), ['NHWC', 'NCHW']);
  });

  it('BatchNormalization on vectors, without scale', async () => {
    await expectLayerParity([7], () => tf.layers.batchNormalization({ scale: false }));
  });

  it('LayerNormalization on vectors, sequences and images', async () => {
    await expectLayerParity([6], () => tf.layers.layerNormalization());
    await expectLayerParity([4, 6], () => tf.layers.layerNormalization({ epsilon: 1e-5 }));
    await expectLayerParity([4, 5, 3], () => tf.layers.layerNormalization({ center: false }), ['NHWC', 'NCHW']);
  });

  it('InstanceNormalization plain, affine and with its activations', async () => {
    await expectLayerParity([6, 5, 3], () => new InstanceNormalization(), ['NHWC', 'NCHW']);
    await expectLayerParity([6, 5, 3], () => new InstanceNormalization({ affine: true, epsilon: 1e-3 }));
    await expectLayerParity([6, 5, 3], () => new InstanceNormalization({ activation: 'relu' }));
    await expectLayerParity([6, 5, 3], () => new InstanceNormalization({ activation: 'leakyrelu', alpha: 0.3 }), ['NHWC', 'NCHW']);
  });
});

describe('padding and resizing', () => {
  it('ReflectionPadding2D symmetric and asymmetric', async () => {
    await expectLayerParity([6, 5, 2], () => new ReflectionPadding2D({ padding: 3 }), ['NHWC', 'NCHW']);
    await expectLayerParity(
      [6, 5, 2],
      () =>
        new ReflectionPadding2D({
          padding: [
            [1, 2],
            [0, 3],
          ],
        }),
    );
  });

  it('ZeroPadding2D', async () => {
    await expectLayerParity(
      [4, 5, 2],
      () =>
        tf.layers.zeroPadding2d({
          padding: [
            [1, 2],
            [3, 0],
          ],
        }),
      ['NHWC', 'NCHW'],
    );
  });

  it('UpSampling2D nearest and bilinear', async () => {
    await expectLayerParity([3, 4, 2], () => tf.layers.upSampling2d({ size: [2, 3] }));
    await expectLayerParity([3, 4, 2], () => tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }));
  });
});

describe('activation layers and reshaping', () => {
  it('Activation, LeakyReLU, ReLU, ELU, Softmax on images and vectors', async () => {
    const makers: (() => tf.layers.Layer)[] = [
      () => tf.layers.activation({ activation: 'tanh' }),
      () => tf.layers.activation({ activation: 'sigmoid' }),
      () => tf.layers.activation({ activation: 'softmax' }),
      () => tf.layers.leakyReLU({ alpha: 0.2 }),
      () => tf.layers.leakyReLU(),
      () => tf.layers.reLU(),
      () => tf.layers.reLU({ maxValue: 0.5 }),
      () => tf.layers.elu(),
      () => tf.layers.softmax({ axis: -1 }),
      () => tf.layers.prelu({ sharedAxes: [1, 2] }),
    ];
    for (const make of makers) {
      await expectLayerParity([3, 4, 5], make, ['NHWC', 'NCHW']);
      await expectLayerParity([5], make);
    }
  });

  it('PReLU with a slope per element', async () => {
    await expectLayerParity([3, 4, 2], () => tf.layers.prelu(), ['NHWC', 'NCHW']);
    await expectLayerParity([5], () => tf.layers.prelu());
  });

  it('Reshape, Flatten and Dropout keep tfjs element order after a conv', async () => {
    const input = tf.input({ shape: [4, 5, 3] });
    const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(tf.layers.dropout({ rate: 0.5 }).apply(conv)) as tf.SymbolicTensor;
    const reshaped = tf.layers.reshape({ targetShape: [10, -1] }).apply(flat) as tf.SymbolicTensor;
    const back = tf.layers.reshape({ targetShape: [5, 4, 2] }).apply(reshaped) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [flat, reshaped, back] });
    randomizeWeights(model, 3);
    for (const imageLayout of ['NHWC', 'NCHW'] as const) {
      const { maxAbsDiff } = await checkParity(model, [randomInput([2, 4, 5, 3], 8)], { imageLayout });
      expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

describe('merge layers', () => {
  it('Concatenate on the channel axis and others, Add, Multiply, Subtract, Average, Maximum, Minimum', async () => {
    const input = tf.input({ shape: [4, 4, 3] });
    const a = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
    const outputs = [
      tf.layers.concatenate().apply([a, b]),
      tf.layers.concatenate({ axis: 1 }).apply([a, input]),
      tf.layers.concatenate({ axis: 2 }).apply([input, b]),
      tf.layers.add().apply([a, b, input]),
      tf.layers.multiply().apply([a, b]),
      tf.layers.average().apply([a, b]),
      tf.layers.maximum().apply([a, b]),
      tf.layers.minimum().apply([a, input]),
    ] as tf.SymbolicTensor[];
    const model = tf.model({ inputs: input, outputs });
    randomizeWeights(model, 4);
    for (const imageLayout of ['NHWC', 'NCHW'] as const) {
      const { maxAbsDiff } = await checkParity(model, [randomInput([2, 4, 4, 3], 9)], { imageLayout });
      expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('merges of vectors', async () => {
    const x = tf.input({ shape: [5] });
    const y = tf.input({ shape: [5] });
    const model = tf.model({
      inputs: [x, y],
      outputs: [
        tf.layers.concatenate().apply([x, y]),
        tf.layers.multiply().apply([x, y]),
        tf.layers.add().apply([x, y]),
      ] as tf.SymbolicTensor[],
    });
    const { maxAbsDiff } = await checkParity(model, [randomInput([3, 5], 1), randomInput([3, 5], 2)]);
    expect(maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
  });
});
