/**
 * GuidedFilter layer: against a float64 reference of He et al.'s formulas, its smoothing
 * properties, gradients against finite differences of the reference (the border is where a naive
 * tf.avgPool 'same' goes wrong), and ONNX export parity through withGuidedFilter.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuidedFilter, withGuidedFilter } from '../../training/nets/guided-filter.ts';
import { type Shape4, referenceBox } from './box-reference.ts';
import { checkParity, randomizeWeights } from './export-harness.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Deterministic uniform numbers in [-1, 1) (mulberry32). */
function seededValues(count: number, seed: number): Float64Array {
  let state = seed >>> 0;
  return Float64Array.from({ length: count }, () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  });
}

function referenceGuidedFilter(guide: Float64Array, source: Float64Array, shape: Shape4, r: number, epsilon: number): Float64Array {
  const map = (f: (i: number) => number) => Float64Array.from({ length: guide.length }, (_, i) => f(i));
  const box = (x: Float64Array) => referenceBox(x, shape, r);
  const meanI = box(guide);
  const meanP = box(source);
  const corrIp = box(map((i) => guide[i]! * source[i]!));
  const corrII = box(map((i) => guide[i]! * guide[i]!));
  const a = map((i) => (corrIp[i]! - meanI[i]! * meanP[i]!) / (corrII[i]! - meanI[i]! ** 2 + epsilon));
  const b = map((i) => meanP[i]! - a[i]! * meanI[i]!);
  const meanA = box(a);
  const meanB = box(b);
  return map((i) => meanA[i]! * guide[i]! + meanB[i]!);
}

function filterWithLayer(
  guide: ArrayLike<number>,
  source: ArrayLike<number>,
  shape: Shape4,
  radius: number,
  epsilon: number,
): Float32Array {
  return tf.tidy(() => {
    const layer = new GuidedFilter({ radius, epsilon });
    const output = layer.apply([tf.tensor4d(Float32Array.from(guide), shape), tf.tensor4d(Float32Array.from(source), shape)]) as tf.Tensor;
    return output.dataSync() as Float32Array;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i += 1) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function sizeOf(shape: Shape4): number {
  return shape.reduce((x, y) => x * y, 1);
}

describe.each(['cpu', 'wasm'])('GuidedFilter on the %s backend', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  const cases: { shape: Shape4; radius: number; epsilon: number }[] = [
    { shape: [1, 9, 11, 3], radius: 2, epsilon: 0.01 },
    // Windows wider than the image: every pixel's window is clipped.
    { shape: [2, 5, 7, 2], radius: 3, epsilon: 0.001 },
  ];
  for (const { shape, radius, epsilon } of cases) {
    it(`matches the reference formulas on ${shape.join('×')}, r = ${radius}, ε = ${epsilon}`, () => {
      const guide = seededValues(sizeOf(shape), 11);
      const source = seededValues(sizeOf(shape), 12);
      const expected = referenceGuidedFilter(guide, source, shape, radius, epsilon);
      expect(maxAbsDiff(filterWithLayer(guide, source, shape, radius, epsilon), expected)).toBeLessThanOrEqual(1e-5);
    });
  }

  it('has the gradients of the reference (finite differences), border pixels included', () => {
    const shape: Shape4 = [1, 5, 6, 2];
    const [radius, epsilon] = [2, 0.05];
    const guide = seededValues(sizeOf(shape), 21);
    const source = seededValues(sizeOf(shape), 22);
    const weights = seededValues(sizeOf(shape), 23);
    const loss = (g: Float64Array, p: Float64Array) =>
      referenceGuidedFilter(g, p, shape, radius, epsilon).reduce((sum, q, i) => sum + q * weights[i]!, 0);
    const numericGradient = (wrtGuide: boolean) =>
      Float64Array.from({ length: guide.length }, (_, i) => {
        const step = 1e-5;
        const nudged = (delta: number) => {
          const x = Float64Array.from(wrtGuide ? guide : source);
          x[i]! += delta;
          return wrtGuide ? loss(x, source) : loss(guide, x);
        };
        return (nudged(step) - nudged(-step)) / (2 * step);
      });

    const [guideGradient, sourceGradient] = tf.tidy(() => {
      const layer = new GuidedFilter({ radius, epsilon });
      const weightTensor = tf.tensor4d(Float32Array.from(weights), shape);
      const f = (g: tf.Tensor, p: tf.Tensor) => tf.sum(tf.mul(layer.apply([g, p]) as tf.Tensor, weightTensor));
      return tf
        .grads(f)([tf.tensor4d(Float32Array.from(guide), shape), tf.tensor4d(Float32Array.from(source), shape)])
        .map((t) => t.dataSync());
    });
    for (const [actual, expected] of [
      [sourceGradient!, numericGradient(false)],
      [guideGradient!, numericGradient(true)],
    ] as const) {
      expect(actual.every(Number.isFinite)).toBe(true);
      const scale = Math.max(...expected.map(Math.abs));
      expect(scale).toBeGreaterThan(0.1);
      expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(1e-3 * scale);
    }
  });
});

describe('GuidedFilter properties', () => {
  it('keeps a constant source constant, whatever the guide', () => {
    const shape: Shape4 = [1, 8, 10, 3];
    const output = filterWithLayer(seededValues(sizeOf(shape), 31), new Float64Array(sizeOf(shape)).fill(0.37), shape, 2, 0.01);
    expect(maxAbsDiff(output, new Float64Array(output.length).fill(0.37))).toBeLessThanOrEqual(1e-5);
  });

  it('guided by itself with a small ε, keeps a step edge and smooths noise on the flat sides', () => {
    const [height, width, edge, radius] = [16, 24, 12, 2];
    const shape: Shape4 = [1, height, width, 1];
    const noise = seededValues(height * width, 41).map((v) => v * 0.03);
    const clean = Float64Array.from({ length: height * width }, (_, i) => (i % width < edge ? -0.5 : 0.5));
    const noisy = clean.map((v, i) => v + noise[i]!);
    const output = filterWithLayer(noisy, noisy, shape, radius, 1e-3);

    const columnMean = (image: ArrayLike<number>, x: number) =>
      Array.from({ length: height }, (_, y) => image[y * width + x]!).reduce((a, b) => a + b) / height;
    // The jump between the two columns at the edge survives almost whole (a box blur would halve it).
    expect(columnMean(output, edge) - columnMean(output, edge - 1)).toBeGreaterThan(0.9);
    // Away from the edge (further than the two stacked windows reach), the noise shrinks.
    const flat = Array.from({ length: height * width }, (_, i) => i).filter((i) => Math.abs((i % width) - edge + 0.5) > 2 * radius + 1);
    const rmsError = (image: ArrayLike<number>) => Math.sqrt(flat.reduce((sum, i) => sum + (image[i]! - clean[i]!) ** 2, 0) / flat.length);
    expect(rmsError(output)).toBeLessThan(0.5 * rmsError(noisy));
  });

  it('survives a save/load round trip (registered class, config)', async () => {
    const input = tf.input({ shape: [null, null, 3] as unknown as number[] });
    const model = withGuidedFilter(
      tf.model({
        inputs: input,
        outputs: tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor,
      }),
      {
        radius: 1,
        epsilon: 0.02,
        guide: 'input',
      },
    );
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const layer = loaded.layers.find((l) => l instanceof GuidedFilter) as GuidedFilter;
    expect([layer.radius, layer.epsilon]).toEqual([1, 0.02]);
    const x = tf.randomNormal([1, 6, 7, 3], 0, 1, 'float32', 3);
    expect(maxAbsDiff((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync())).toBeLessThanOrEqual(1e-6);
  });

  it('refuses a guide whose shape differs from the source', () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const generator = tf.model({
      inputs: input,
      outputs: tf.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(input) as tf.SymbolicTensor,
    });
    expect(() => withGuidedFilter(generator, { radius: 1, epsilon: 0.01, guide: 'input' })).toThrow(/differs/);
  });
});

describe('GuidedFilter ONNX export (withGuidedFilter)', () => {
  function convThenGuidedFilter(guide: 'input' | 'self'): tf.LayersModel {
    const input = tf.input({ shape: [null, null, 3] as unknown as number[], name: 'image' });
    const features = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(input) as tf.SymbolicTensor;
    const generator = tf.model({ inputs: input, outputs: features, name: `generator_${guide}` });
    randomizeWeights(generator, 7);
    return withGuidedFilter(generator, { radius: 2, epsilon: 0.01, guide });
  }

  for (const guide of ['self', 'input'] as const) {
    it(`matches tfjs with guide '${guide}' at two sizes, NCHW and NHWC, opsets 13 and 17`, async () => {
      const model = convThenGuidedFilter(guide);
      for (const [height, width] of [
        [16, 20],
        [24, 24],
      ] as const) {
        for (const [imageLayout, opset] of [
          ['NCHW', 13],
          ['NCHW', 17],
          ['NHWC', 15],
        ] as const) {
          const image = tf.randomNormal([2, height, width, 3], 0, 1, 'float32', height * width);
          const scale = (model.predict(image) as tf.Tensor).abs().max().dataSync()[0]!;
          const { maxAbsDiff: diff, shapes } = await checkParity(model, [image], { imageLayout, opset, inputs: [{ name: 'image' }] });
          expect(shapes[0], `${height}×${width} ${imageLayout}`).toEqual(
            imageLayout === 'NCHW' ? [2, 3, height, width] : [2, height, width, 3],
          );
          expect(diff / scale, `${height}×${width} ${imageLayout} opset ${opset}`).toBeLessThanOrEqual(1e-4);
        }
      }
    });
  }
});
