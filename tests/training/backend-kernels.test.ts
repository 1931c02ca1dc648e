/**
 * Parity of every kernel the 'wasm-ort' backend serves itself (onnxruntime graphs or heap JS)
 * against tfjs's pure-JS 'cpu' reference, on seeded random inputs. Each case also asserts that the
 * delegated path really ran, not the wasm fallback.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend_util } from '@tensorflow/tfjs';
import {
  filterGradFormulation,
  forwardConvFormulation,
  inputGradFormulation,
  inputGradLayout,
} from '../../training/backend/conv-kernels.ts';
import { nchwcBlockSize, useNchwc } from '../../training/backend/nchwc.ts';
import { compareWithCpu, randomValues, relativeError, runOn, TOLERANCE, use } from './backend-parity.ts';

type Pad = 'same' | 'valid';
type Shape4 = [number, number, number, number];

const tensor4 = (shape: Shape4, seed: number) =>
  tf.tensor4d(
    randomValues(
      shape.reduce((a, b) => a * b),
      seed,
    ),
    shape,
  );

interface ConvCase {
  x: Shape4;
  kernel: number;
  outChannels: number;
  stride: number;
  pad: Pad;
  dilation?: number;
}

const convCases: ConvCase[] = [
  { x: [2, 9, 11, 3], kernel: 3, outChannels: 5, stride: 1, pad: 'same' },
  { x: [2, 9, 11, 3], kernel: 3, outChannels: 5, stride: 1, pad: 'valid' },
  { x: [2, 9, 11, 4], kernel: 3, outChannels: 6, stride: 2, pad: 'same' },
  { x: [2, 9, 11, 4], kernel: 3, outChannels: 6, stride: 2, pad: 'valid' },
  { x: [3, 8, 8, 6], kernel: 3, outChannels: 4, stride: 2, pad: 'same' },
  { x: [1, 13, 10, 5], kernel: 4, outChannels: 7, stride: 2, pad: 'same' },
  { x: [2, 16, 16, 3], kernel: 7, outChannels: 8, stride: 1, pad: 'valid' },
  { x: [2, 12, 12, 4], kernel: 1, outChannels: 5, stride: 1, pad: 'valid' },
  // Stride 1 with Cin ≥ Cout: dx runs as a flipped-filter conv rather than ConvTranspose.
  { x: [2, 9, 8, 6], kernel: 3, outChannels: 4, stride: 1, pad: 'same' },
  { x: [1, 10, 9, 5], kernel: 4, outChannels: 5, stride: 1, pad: 'same' },
  { x: [2, 8, 9, 7], kernel: 3, outChannels: 2, stride: 1, pad: 'valid' },
  // Few output channels at stride 1: the RGB output layer's shape, scaled down.
  { x: [1, 14, 13, 16], kernel: 5, outChannels: 3, stride: 1, pad: 'same' },
  { x: [2, 12, 12, 12], kernel: 3, outChannels: 1, stride: 1, pad: 'valid' },
  // Batches of small images with many channels run as NHWC im2col + MatMul instead of Conv (and
  // their dx, when it is a flipped-filter conv, too: the second case).
  { x: [2, 5, 4, 32], kernel: 3, outChannels: 48, stride: 1, pad: 'same' },
  { x: [2, 5, 4, 32], kernel: 3, outChannels: 16, stride: 1, pad: 'same' },
  // Strided with at least 16 input channels: dW slices x as it is (NHWC im2col + Gemm).
  { x: [1, 10, 10, 16], kernel: 3, outChannels: 8, stride: 2, pad: 'same' },
  { x: [2, 11, 9, 16], kernel: 3, outChannels: 12, stride: 2, pad: 'valid' },
  { x: [1, 7, 6, 24], kernel: 4, outChannels: 40, stride: 2, pad: 'same' },
  { x: [1, 6, 7, 32], kernel: 3, outChannels: 32, stride: 1, pad: 'valid' },
  { x: [2, 3, 3, 64], kernel: 1, outChannels: 64, stride: 1, pad: 'valid' },
  // Whole NCHWc blocks (16 and 8 both divide the channels): the forward conv, and at stride 1 its
  // dx, run as NCHWc Convs; asymmetric 'same' pads (4×4), batches, stride 2 (dx: ConvTranspose);
  // dW where the output has more than 16×16 pixels.
  ...nchwcCases(),
];

/** The cases whose channel counts are whole NCHWc blocks of 16 (and so of 8 and 4). */
function nchwcCases(): ConvCase[] {
  return [
    { x: [1, 10, 9, 16], kernel: 3, outChannels: 32, stride: 1, pad: 'same' },
    { x: [2, 12, 11, 32], kernel: 3, outChannels: 16, stride: 1, pad: 'valid' },
    { x: [1, 11, 11, 32], kernel: 4, outChannels: 48, stride: 1, pad: 'same' },
    { x: [1, 13, 12, 16], kernel: 4, outChannels: 16, stride: 2, pad: 'same' },
    { x: [2, 14, 15, 16], kernel: 3, outChannels: 32, stride: 2, pad: 'valid' },
    // Outputs over 16×16 pixels: dW as an NCHWc Conv too (a batch of 2; a 'valid' stride-2 conv
    // whose last input row it never reads, so the NCHWc output is cropped).
    { x: [1, 18, 17, 16], kernel: 3, outChannels: 16, stride: 1, pad: 'same' },
    { x: [2, 36, 34, 16], kernel: 3, outChannels: 32, stride: 2, pad: 'same' },
    { x: [1, 38, 37, 16], kernel: 3, outChannels: 16, stride: 2, pad: 'valid' },
  ];
}

/** Whether this CPU runs the NCHWc formulations (MLAS has NCHWc kernels for it). */
const hasNchwc = nchwcBlockSize() > 0;

const label = (c: ConvCase) => `${c.x.join('×')} k${c.kernel} s${c.stride} ${c.pad}${c.dilation ? ` d${c.dilation}` : ''}`;

/** dW of a case's conv on wasm-ort against cpu, through the Conv2DBackpropFilter kernel itself. */
function compareFilterGradient(c: ConvCase) {
  const filterShape: Shape4 = [c.kernel, c.kernel, c.x[3], c.outChannels];
  const forwardShape = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.stride, c.pad).shape as Shape4;
  return compareWithCpu(
    tf.Conv2DBackpropFilter,
    () =>
      tf
        .engine()
        .runKernel(
          tf.Conv2DBackpropFilter,
          { x: tensor4(c.x, 11), dy: tensor4(forwardShape, 12) },
          { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape },
        ) as tf.Tensor,
  );
}

beforeAll(async () => {
  await use('wasm-ort');
});

afterAll(async () => {
  await use('wasm-ort');
});

describe('Conv2D and FusedConv2D on onnxruntime', () => {
  const forwardCases: ConvCase[] = [
    ...convCases,
    { x: [2, 13, 11, 3], kernel: 3, outChannels: 4, stride: 1, pad: 'same', dilation: 2 },
    { x: [1, 15, 15, 2], kernel: 3, outChannels: 3, stride: 1, pad: 'valid', dilation: 3 },
    { x: [1, 7, 7, 16], kernel: 3, outChannels: 32, stride: 1, pad: 'valid', dilation: 2 },
    { x: [2, 7, 7, 16], kernel: 3, outChannels: 32, stride: 1, pad: 'valid', dilation: 2 },
    { x: [1, 11, 10, 12], kernel: 5, outChannels: 3, stride: 1, pad: 'same' },
    { x: [1, 12, 11, 16], kernel: 3, outChannels: 2, stride: 1, pad: 'valid', dilation: 2 },
    { x: [1, 13, 12, 16], kernel: 3, outChannels: 16, stride: 1, pad: 'same', dilation: 2 },
  ];

  it('covers every formulation: NCHWc Conv, NCHW Conv, NHWC im2col + MatMul, flipped-filter ConvTranspose', () => {
    const formulations = new Set(
      forwardCases.map((c) => forwardConvFormulation(c.x, [c.kernel, c.kernel, c.x[3], c.outChannels], c.stride, c.pad, c.dilation)),
    );
    expect([...formulations].sort()).toEqual(hasNchwc ? ['conv', 'convTranspose', 'matmul', 'nchwc'] : ['conv', 'convTranspose', 'matmul']);
    expect(forwardConvFormulation([2, 7, 7, 16], [3, 3, 16, 32], 1, 'valid', 2)).toBe('matmul');
    expect(forwardConvFormulation([1, 7, 7, 16], [3, 3, 16, 32], 1, 'valid', 2)).toBe(hasNchwc ? 'nchwc' : 'conv');
    expect(forwardConvFormulation([1, 7, 7, 12], [3, 3, 12, 32], 1, 'valid', 2)).toBe('conv');
    expect(forwardConvFormulation([1, 12, 11, 16], [3, 3, 16, 2], 1, 'valid', 2)).toBe('convTranspose');
  });

  it.each(forwardCases.map((c) => [label(c), c] as const))('conv2d %s', async (_, c) => {
    const { error, delegated } = await compareWithCpu(tf.Conv2D, () =>
      tf.conv2d(tensor4(c.x, 1), tensor4([c.kernel, c.kernel, c.x[3], c.outChannels], 2), c.stride, c.pad, 'NHWC', c.dilation ?? 1),
    );
    expect(delegated).toBe(1);
    expect(error).toBeLessThan(TOLERANCE);
  });

  const activations = [
    ['linear', {}],
    ['relu', {}],
    ['relu6', {}],
    ['elu', {}],
    ['sigmoid', {}],
    ['leakyrelu', { leakyreluAlpha: 0.3 }],
    ['prelu', {}],
  ] as const;
  it.each(activations.flatMap(([activation, extra]) => [[activation, extra, 3, 6] as const, [activation, extra, 16, 32] as const]))(
    'fused conv2d with bias and %s, %i → %i channels',
    async (activation, extra, inChannels, outChannels) => {
      const { error, delegated } = await compareWithCpu(tf.FusedConv2D, () =>
        tf.fused.conv2d({
          x: tensor4([2, 10, 9, inChannels], 3),
          filter: tensor4([3, 3, inChannels, outChannels], 4),
          strides: 2,
          pad: 'same',
          bias: tf.tensor1d(randomValues(outChannels, 5).map((v) => v * 3)),
          activation,
          preluActivationWeights: activation === 'prelu' ? tf.tensor1d(randomValues(outChannels, 6)) : undefined,
          ...extra,
        }),
      );
      expect(delegated).toBe(1);
      expect(error).toBeLessThan(TOLERANCE);
    },
  );
});

describe('Conv2DBackpropInput (gradient of x, and conv2dTranspose) on onnxruntime', () => {
  it('covers every formulation: ConvTranspose, and a flipped-filter conv as NCHWc Conv, Conv or im2col + MatMul', () => {
    const used = new Set(
      convCases.map((c) => {
        const info = backend_util.computeConv2DInfo(c.x, [c.kernel, c.kernel, c.x[3], c.outChannels], c.stride, 1, c.pad);
        const formulation = inputGradFormulation(info);
        return `${formulation}/${inputGradLayout(info, formulation)}`;
      }),
    );
    const plain = ['convTranspose/oihw', 'flippedConv/flippedHwoi', 'flippedConv/flippedIohw'];
    expect([...used].sort()).toEqual(hasNchwc ? [...plain, 'nchwcFlippedConv/flippedNchwc'] : plain);
  });

  it.each(convCases.map((c) => [label(c), c] as const))('dx of %s', async (_, c) => {
    const forwardShape = tf.conv2d(
      tf.zeros(c.x) as tf.Tensor4D,
      tf.zeros([c.kernel, c.kernel, c.x[3], c.outChannels]) as tf.Tensor4D,
      c.stride,
      c.pad,
    ).shape as Shape4;
    const { error, delegated } = await compareWithCpu(tf.Conv2DBackpropInput, () =>
      tf.conv2dTranspose(tensor4(forwardShape, 7), tensor4([c.kernel, c.kernel, c.x[3], c.outChannels], 8), c.x, c.stride, c.pad),
    );
    expect(delegated).toBe(1);
    expect(error).toBeLessThan(TOLERANCE);
  });

  // The generator's upsampling: stride 2, 'same', output exactly twice the input (the case an
  // earlier prototype got wrong by up to 5.7), on even and odd output sizes.
  it.each([
    [
      [2, 8, 8, 6],
      [2, 16, 16, 4],
    ],
    [
      [1, 5, 7, 8],
      [1, 10, 14, 3],
    ],
    [
      [2, 5, 6, 4],
      [2, 9, 11, 3],
    ],
  ] as Array<[Shape4, Shape4]>)('conv2dTranspose stride 2 same: %j → %j', async (input, output) => {
    const { error, delegated } = await compareWithCpu(tf.Conv2DBackpropInput, () =>
      tf.conv2dTranspose(tensor4(input, 9), tensor4([3, 3, output[3], input[3]], 10), output, 2, 'same'),
    );
    expect(delegated).toBe(1);
    expect(error).toBeLessThan(TOLERANCE);
  });
});

describe.runIf(hasNchwc)('the same convs with the NCHWc path turned off (CPUs without NCHWc kernels)', () => {
  beforeAll(() => useNchwc(false));
  afterAll(() => useNchwc(true));

  it('falls back to the plain formulations', () => {
    for (const c of nchwcCases()) {
      const filterShape = [c.kernel, c.kernel, c.x[3], c.outChannels];
      expect(forwardConvFormulation(c.x, filterShape, c.stride, c.pad)).not.toBe('nchwc');
      const info = backend_util.computeConv2DInfo(c.x, filterShape as Shape4, c.stride, 1, c.pad);
      expect(inputGradFormulation(info)).not.toBe('nchwcFlippedConv');
      expect(filterGradFormulation(info)).not.toBe('nchwc');
    }
  });

  it.each(nchwcCases().map((c) => [label(c), c] as const))('conv2d, dx and dW of %s', async (_, c) => {
    const filterShape: Shape4 = [c.kernel, c.kernel, c.x[3], c.outChannels];
    const forward = await compareWithCpu(tf.Conv2D, () => tf.conv2d(tensor4(c.x, 1), tensor4(filterShape, 2), c.stride, c.pad));
    const forwardShape = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.stride, c.pad).shape as Shape4;
    const dx = await compareWithCpu(tf.Conv2DBackpropInput, () =>
      tf.conv2dTranspose(tensor4(forwardShape, 7), tensor4(filterShape, 8), c.x, c.stride, c.pad),
    );
    const dw = await compareFilterGradient(c);
    expect([forward.delegated, dx.delegated, dw.delegated]).toEqual([1, 1, 1]);
    expect(Math.max(forward.error, dx.error, dw.error)).toBeLessThan(TOLERANCE);
  });
});

describe('Conv2DBackpropFilter (missing on wasm) on onnxruntime', () => {
  it('covers every formulation: an NCHWc Conv, im2col from [Cin, N, H, W] or from NHWC, and a correlation Conv for few output channels', () => {
    const formulations = new Set(
      convCases.map((c) =>
        filterGradFormulation(backend_util.computeConv2DInfo(c.x, [c.kernel, c.kernel, c.x[3], c.outChannels], c.stride, 1, c.pad)),
      ),
    );
    const plain = ['correlation', 'im2col', 'im2colNhwc'];
    expect([...formulations].sort()).toEqual(hasNchwc ? [...plain, 'nchwc'].sort() : plain);
    // A batch of a whole block or more would be the NCHWc Conv's channels, which MLAS's
    // NCHW-input path does not take.
    const wholeBlockBatch = backend_util.computeConv2DInfo([Math.max(nchwcBlockSize(), 1), 18, 18, 16], [3, 3, 16, 16], 1, 1, 'same');
    expect(filterGradFormulation(wholeBlockBatch)).toBe('im2col');
    // Nor a dy of 16×16 pixels or fewer, where NCHWc measured no faster.
    const small = (size: number) => backend_util.computeConv2DInfo([1, size, size, 16], [3, 3, 16, 16], 1, 1, 'same');
    expect([filterGradFormulation(small(16)), filterGradFormulation(small(17))]).toEqual(
      hasNchwc ? ['im2col', 'nchwc'] : ['im2col', 'im2col'],
    );
  });

  it.each(convCases.map((c) => [label(c), c] as const))('dW of %s', async (_, c) => {
    const { error, delegated } = await compareFilterGradient(c);
    expect(delegated).toBe(1);
    expect(error).toBeLessThan(TOLERANCE);
  });
});

describe('BatchMatMul and _FusedMatMul on onnxruntime', () => {
  const matrix = (shape: number[], seed: number) =>
    tf.tensor(
      randomValues(
        shape.reduce((a, b) => a * b),
        seed,
      ),
      shape,
    );
  it.each([
    ['2-D', [96, 80], [80, 70], false, false],
    ['2-D, A transposed', [80, 96], [80, 70], true, false],
    ['2-D, B transposed', [96, 80], [70, 80], false, true],
    ['2-D, both transposed', [80, 96], [70, 80], true, true],
    ['batched', [3, 40, 64], [3, 64, 50], false, false],
    ['batched, broadcast B, B transposed', [4, 40, 64], [1, 50, 64], false, true],
    ['rank 4, A transposed', [2, 3, 64, 20], [2, 3, 64, 40], true, false],
  ] as const)('matMul %s', async (_, aShape, bShape, transposeA, transposeB) => {
    let shape: number[] = [];
    const { error, delegated } = await compareWithCpu(tf.BatchMatMul, () => {
      const product = tf.matMul(matrix([...aShape], 13), matrix([...bShape], 14), transposeA, transposeB);
      shape = product.shape;
      return product;
    });
    expect(delegated).toBe(1);
    expect(shape.slice(0, -2)).toEqual(
      aShape.length > bShape.length ? aShape.slice(0, -2) : aShape.slice(0, -2).map((d, i) => Math.max(d, bShape[i]!)),
    );
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('fused matMul with bias and relu (a Dense layer)', async () => {
    const { error, delegated } = await compareWithCpu(tf._FusedMatMul, () =>
      tf.fused.matMul({ a: matrix([64, 100], 15), b: matrix([100, 90], 16), bias: matrix([90], 17), activation: 'relu' }),
    );
    expect(delegated).toBe(1);
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('leaves small products to the wasm kernel', async () => {
    const { error, delegated } = await compareWithCpu(tf.BatchMatMul, () => tf.matMul(matrix([4, 5], 18), matrix([5, 3], 19)));
    expect(delegated).toBe(0);
    expect(error).toBeLessThan(TOLERANCE);
  });
});

describe('Sum and Mean over spatial axes on onnxruntime', () => {
  it.each([
    [tf.Sum, [1, 2], true],
    [tf.Sum, [1, 2], false],
    [tf.Sum, [0, 1, 2], false],
    [tf.Mean, [1, 2], true],
    [tf.Mean, [0, 2], false],
  ] as const)('%s over %j keepDims %s', async (kernel, axes, keepDims) => {
    const { error, delegated } = await compareWithCpu(kernel, () => {
      const x = tensor4([2, 17, 19, 32], 20);
      return kernel === tf.Sum ? tf.sum(x, [...axes], keepDims) : tf.mean(x, [...axes], keepDims);
    });
    expect(delegated).toBe(1);
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('leaves trailing-axis reductions to the wasm kernel', async () => {
    const { delegated } = await compareWithCpu(tf.Sum, () => tf.sum(tensor4([2, 17, 19, 32], 21), 3));
    expect(delegated).toBe(0);
  });
});

describe('Slice and UnsortedSegmentSum on the wasm heap', () => {
  it.each([
    [
      [0, 1, 1, 0],
      [2, 7, 9, 3],
    ],
    [
      [1, 0, 0, 0],
      [1, 9, 11, 3],
    ],
    [
      [0, 2, 0, 1],
      [2, 3, 11, 2],
    ],
    [
      [1, 4, 10, 2],
      [1, 1, 1, 1],
    ],
  ])('slice begin %j size %j', async (begin, size) => {
    const { error, delegated } = await compareWithCpu(tf.Slice, () => tf.slice(tensor4([2, 9, 11, 3], 22), begin, size));
    expect(delegated).toBe(1);
    expect(error).toBe(0);
  });

  it('int32 slices are exact', async () => {
    const { error, delegated } = await compareWithCpu(tf.Slice, () =>
      tf.cast(tf.slice(tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]), [1, 1, 2], [2, 2, 3]), 'float32'),
    );
    expect(delegated).toBe(1);
    expect(error).toBe(0);
  });

  it('unsortedSegmentSum drops out-of-range ids like TensorFlow', async () => {
    const ids = [0, 4, 2, 4, -1, 7, 1, 0, 3, 4];
    const { error, delegated } = await compareWithCpu(tf.UnsortedSegmentSum, () =>
      tf.unsortedSegmentSum(tf.tensor2d(randomValues(10 * 6, 23), [10, 6]), tf.tensor1d(ids, 'int32'), 5),
    );
    expect(delegated).toBe(1);
    expect(error).toBeLessThan(TOLERANCE);
  });

  it('trains an Embedding: the gradient of gather', async () => {
    const { error, delegated } = await compareWithCpu(tf.UnsortedSegmentSum, () => {
      const table = tf.tensor2d(randomValues(12 * 8, 24), [12, 8]);
      const ids = tf.tensor2d(
        [
          [1, 3, 3, 11],
          [0, 1, 5, 5],
        ],
        [2, 4],
        'int32',
      );
      const weights = tf.tensor3d(randomValues(2 * 4 * 8, 25), [2, 4, 8]);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table);
    });
    expect(delegated).toBeGreaterThanOrEqual(1);
    expect(error).toBeLessThan(TOLERANCE);
  });
});

describe('ResizeNearestNeighborGrad on the wasm heap', () => {
  it.each([
    ['3× up, 2× across', [1, 4, 5, 2], [12, 10], false],
    ['align corners', [1, 5, 7, 4], [9, 13], true],
    ['downscale', [1, 9, 8, 2], [4, 3], false],
  ] as const)('%s matches cpu', async (_, shape, size, alignCorners) => {
    const { error, delegated } = await compareWithCpu(tf.ResizeNearestNeighborGrad, () => {
      const x = tensor4([...shape], 600);
      const weights = tensor4([shape[0], size[0], size[1], shape[3]], 601);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [...size], alignCorners), weights)))(
        x,
      );
    });
    expect(delegated).toBe(1);
    expect(error).toBeLessThan(1e-6);
  });

  // tfjs's cpu kernel offsets dy by the images' batch stride, so it is wrong for batch > 1; the
  // reference here is the definition: every dy pixel goes to the pixel it was copied from.
  it('2× upsampling with batch 2 matches the definition', async () => {
    const [batch, height, width, depth] = [2, 5, 6, 3];
    const dyValues = randomValues(batch * 10 * 12 * depth, 602);
    const expected = new Float32Array(batch * height * width * depth);
    for (let b = 0; b < batch; b += 1) {
      for (let r = 0; r < 10; r += 1) {
        for (let c = 0; c < 12; c += 1) {
          for (let d = 0; d < depth; d += 1) {
            expected[((b * height + Math.floor(r / 2)) * width + Math.floor(c / 2)) * depth + d]! +=
              dyValues[((b * 10 + r) * 12 + c) * depth + d]!;
          }
        }
      }
    }
    const [actual] = await runOn('wasm-ort', () => {
      const weights = tf.tensor4d(dyValues, [batch, 10, 12, depth]);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [10, 12]), weights)))(
        tensor4([batch, height, width, depth], 603),
      );
    });
    expect(relativeError(actual!, expected)).toBeLessThan(1e-6);
  });
});
