/**
 * Parity harness for the ONNX exporter tests: runs the same inputs through a tfjs model (on the
 * pure-JS cpu backend, the reference) and through its ONNX export in onnxruntime-node, and
 * returns the largest absolute difference over all outputs.
 */
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { type ExportOptions, exportModel, type TensorInfo } from '../../training/export/onnx.ts';
import type { ManifestFields, Recipe, RecipeOptions } from '../../training/recipes/recipe.ts';

export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export interface ParityResult {
  maxAbsDiff: number;
  onnx: Uint8Array;
  /** ONNX output shapes, as onnxruntime returned them. */
  shapes: number[][];
}

/**
 * `feeds` are tfjs-layout tensors, one per model input; integer inputs (labels, tokens) are
 * passed as int64 when the export declares them so.
 */
export async function checkParity(model: tf.LayersModel, feeds: tf.Tensor[], options: ExportOptions = {}): Promise<ParityResult> {
  const expectedTensors = [model.predict(feeds.length === 1 ? feeds[0]! : feeds)].flat() as tf.Tensor[];
  const exported = exportModel(model, options);
  const session = await ort.InferenceSession.create(exported.onnx);
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    exported.inputs.forEach((info, i) => {
      let tensor = feeds[i]!;
      if (info.layout === 'NCHW') tensor = tf.transpose(tensor, [0, 3, 1, 2]);
      const dims = info.dims.length === tensor.rank ? tensor.shape : [tensor.shape[0]!, ...(options.inputs?.[i]?.shape ?? [])];
      const data = tensor.dataSync();
      ortFeeds[info.name] =
        info.dtype === 'int64'
          ? new ort.Tensor(
              'int64',
              BigInt64Array.from(data, (v) => BigInt(Math.trunc(v))),
              dims,
            )
          : new ort.Tensor('float32', Float32Array.from(data), dims);
    });
    const results = await session.run(ortFeeds);
    let maxAbsDiff = 0;
    const shapes: number[][] = [];
    exported.outputs.forEach((info, i) => {
      const actual = results[info.name]!;
      shapes.push([...actual.dims]);
      let expected = expectedTensors[i]!;
      if (info.layout === 'NCHW') expected = tf.transpose(expected, [0, 3, 1, 2]);
      if (expected.shape.join() !== actual.dims.join()) {
        throw new Error(`output ${info.name}: tfjs shape [${expected.shape}] vs onnx [${actual.dims}]`);
      }
      const want = expected.dataSync();
      const got = actual.data as Float32Array;
      for (let j = 0; j < want.length; j += 1) {
        const diff = Math.abs(want[j]! - got[j]!);
        if (!(diff <= maxAbsDiff)) maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
      }
    });
    return { maxAbsDiff, onnx: exported.onnx, shapes };
  } finally {
    await session.release();
  }
}

/** The largest absolute difference between two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Random normal tensor with a fixed seed. */
export function randomInput(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** A model of one layer over one input, with its weights randomized (biases and norms included). */
export function singleLayerModel(inputShape: (number | null)[], layer: tf.layers.Layer, seed = 1): tf.LayersModel {
  const input = tf.input({ shape: inputShape });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  randomizeWeights(model, seed);
  return model;
}

/** Replaces every weight with random values, keeping variances positive, so biases and BN statistics matter. */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  let counter = seed;
  for (const layer of model.layers) {
    const weights = layer.getWeights().map((w, i) => {
      counter += 1;
      const name = layer.weights[i]!.name;
      if (/variance/.test(name)) return tf.randomUniform(w.shape, 0.5, 1.5, 'float32', counter);
      if (layer.getClassName() === 'Embedding') return tf.randomNormal(w.shape, 0, 1, 'float32', counter);
      return tf.randomNormal(w.shape, 0, 0.3, 'float32', counter);
    });
    if (weights.length > 0) layer.setWeights(weights);
  }
}

/** How an export upsamples: its ConvTranspose and Conv nodes, and each Resize node's mode. */
export function upsamplingNodes(onnx: Uint8Array): { convTranspose: number; conv: number; resize: string[] } {
  const nodes = onnxProto.onnx.ModelProto.decode(onnx).graph?.node ?? [];
  const count = (opType: string) => nodes.filter((n) => n.opType === opType).length;
  const resize = nodes
    .filter((n) => n.opType === 'Resize')
    .map((n) => new TextDecoder().decode(n.attribute?.find((a) => a.name === 'mode')?.s ?? new Uint8Array()));
  return { convTranspose: count('ConvTranspose'), conv: count('Conv'), resize };
}

/** A digit generator's upsampling nodes per `upsampling` option (training/nets/cgan.ts, digitGeneratorTrunk). */
export const DIGIT_GENERATOR_UPSAMPLING = {
  transpose: { convTranspose: 2, conv: 0, resize: [] },
  resize: { convTranspose: 0, conv: 3, resize: ['nearest', 'nearest'] },
};

/** What a recipe's export serves, from its freshly built (untrained) nets: manifest fields and ONNX inputs and outputs. */
export async function servedContract<Options extends RecipeOptions>(
  recipe: Recipe<Options>,
  options: Options,
): Promise<{ manifest: ManifestFields; inputs: TensorInfo[]; outputs: TensorInfo[] }> {
  const session = await recipe.setup({ seed: 1, batchSize: 8, options });
  const models = Object.values(session.models);
  try {
    const { model, exportOptions, manifest } = session.exportTarget();
    const { inputs, outputs } = exportModel(model, exportOptions);
    // A truncated export is a model of its own.
    if (!models.includes(model)) model.dispose();
    return { manifest, inputs, outputs };
  } finally {
    session.dispose?.();
    for (const model of models) model.dispose();
  }
}
