/**
 * tfjs LayersModel → ONNX. Walks the model's layer graph from its outputs back to its inputs
 * (functional models with several inputs, Sequential models, and models nested as layers),
 * maps each layer call with the mapper for its class, and declares the graph's inputs and
 * outputs. Inside, rank-4 tensors run in NCHW; the external image layout is an option, so a
 * fully convolutional model exported with `imageLayout: 'NCHW'` has no transposes at all.
 *
 * A layer class without a mapper, or a setting a mapper cannot reproduce, throws an
 * UnsupportedLayerError naming the layer and its class: the export never writes a graph that
 * would compute something else than the tfjs model.
 */
import * as tf from '@tensorflow/tfjs';
import { ExportContext, UnsupportedLayerError, type Value } from './context.ts';
import { LAYER_MAPPERS } from './mappers/index.ts';
import { DEFAULT_OPSET, type Dim, ElemType, OnnxGraph } from './onnx-graph.ts';

export { UnsupportedLayerError } from './context.ts';

export type ImageLayout = 'NHWC' | 'NCHW';
export type TensorDType = 'float32' | 'int64';

export interface InputSpec {
  /** ONNX input name. Default: the tfjs input layer's name. */
  name?: string;
  /** Default: int64 when the tfjs input is int32 or feeds only Embedding layers, else float32. */
  dtype?: TensorDType;
  /**
   * Per-sample ONNX shape (after the batch axis) when it should differ from the tfjs one, e.g. `[]`
   * to take labels as [N] for a tfjs input of shape [1]. The element count must match.
   */
  shape?: number[];
}

export interface OutputSpec {
  /** ONNX output name. Default: "output" for a single output, else the tfjs layer's name. */
  name?: string;
}

export interface ExportOptions {
  /** Per tfjs model input, in `model.inputs` order. */
  inputs?: InputSpec[];
  /** Per tfjs model output, in `model.outputs` order. */
  outputs?: OutputSpec[];
  /** Layout of rank-4 (image) inputs and outputs of the ONNX graph. Default NHWC, as in tfjs. */
  imageLayout?: ImageLayout;
  /**
   * Declare height and width of rank-4 inputs (and so of image outputs) as symbolic, so a fully
   * convolutional model runs at any size. Default true.
   */
  dynamicSpatial?: boolean;
  /** ONNX opset, 13 to 17. Default 15. */
  opset?: number;
}

/** How one graph input or output was declared. */
export interface TensorInfo {
  name: string;
  dtype: TensorDType;
  dims: Dim[];
  /** For rank-4 tensors, their layout. */
  layout?: ImageLayout;
}

export interface OnnxExport {
  onnx: Uint8Array;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/** Exports the model to ONNX model bytes. */
export function exportToOnnx(model: tf.LayersModel, options: ExportOptions = {}): Uint8Array {
  return exportModel(model, options).onnx;
}

/** Exports the model and also reports the declared inputs and outputs (for the manifest). */
export function exportModel(model: tf.LayersModel, options: ExportOptions = {}): OnnxExport {
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < 13 || opset > 17) throw new Error(`opset must be 13 to 17, got ${opset}`);
  if (options.inputs && options.inputs.length !== model.inputs.length) {
    throw new Error(`options.inputs has ${options.inputs.length} entries for a model with ${model.inputs.length} inputs`);
  }
  if (options.outputs && options.outputs.length !== model.outputs.length) {
    throw new Error(`options.outputs has ${options.outputs.length} entries for a model with ${model.outputs.length} outputs`);
  }
  const imageLayout = options.imageLayout ?? 'NHWC';
  const dynamicSpatial = options.dynamicSpatial ?? true;
  const graph = new OnnxGraph(model.name);
  const ctx = new ExportContext(graph);

  const embeddingOnly = inputsFeedingOnlyEmbeddings(model);
  const inputs: TensorInfo[] = [];
  const inputValues = model.inputs.map((symbolic, i) => {
    const spec = options.inputs?.[i] ?? {};
    const name = spec.name ?? model.inputLayers[i]!.name;
    const dtype: TensorDType = spec.dtype ?? (symbolic.dtype === 'int32' || embeddingOnly.has(symbolic.id) ? 'int64' : 'float32');
    const declared = declaredInput(symbolic, spec, imageLayout, dynamicSpatial);
    graph.input(name, dtype === 'int64' ? 'int64' : 'float', declared.dims);
    inputs.push({ name, dtype, dims: declared.dims, ...(declared.rank4 ? { layout: imageLayout } : {}) });
    const value: Value = {
      name,
      rank: symbolic.rank,
      channelsFirst: declared.rank4 && imageLayout === 'NCHW',
      dtype: dtype === 'int64' ? 'int64' : 'float',
    };
    if (spec.shape !== undefined && !sameDims(spec.shape, symbolic.shape.slice(1))) {
      value.name = graph.op('Reshape', [name, graph.int64s(`${name}/shape`, [-1, ...knownDims(symbolic, name)])]);
    }
    return value;
  });

  const walker = new GraphWalker(ctx, model, inputValues);
  const dynamicImages = dynamicSpatial && inputs.some((i) => i.layout !== undefined);
  const outputs = walker.outputs().map((value, i): TensorInfo => {
    const symbolic = model.outputs[i]!;
    const name = options.outputs?.[i]?.name ?? (model.outputs.length === 1 ? 'output' : model.outputLayers[i]!.name);
    const rank4 = value.rank === 4;
    const source = rank4 && imageLayout === 'NCHW' ? ctx.nchw(value) : ctx.tfjsLayout(value);
    graph.op('Identity', [source], {}, name);
    const tfjsDims: Dim[] = symbolic.shape.map((d, axis) => {
      if (axis === 0) return 'N';
      if (rank4 && dynamicImages && (axis === 1 || axis === 2)) return `${name}_${axis === 1 ? 'height' : 'width'}`;
      return d ?? `${name}_d${axis}`;
    });
    const dims = rank4 && imageLayout === 'NCHW' ? [tfjsDims[0]!, tfjsDims[3]!, tfjsDims[1]!, tfjsDims[2]!] : tfjsDims;
    const dtype: TensorDType = value.dtype === 'int64' ? 'int64' : 'float32';
    graph.output(name, value.dtype, dims);
    return { name, dtype, dims, ...(rank4 ? { layout: imageLayout } : {}) };
  });

  const names = [...inputs, ...outputs].map((t) => t.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new Error(`ONNX input/output name "${duplicate}" is used twice`);
  return { onnx: graph.toBytes(opset), inputs, outputs };
}

/** Translates a (sub)model's layer calls, memoized per tfjs symbolic tensor. */
class GraphWalker {
  private readonly values = new Map<number, Value>();

  constructor(
    private readonly ctx: ExportContext,
    private readonly model: tf.LayersModel,
    inputValues: Value[],
  ) {
    model.inputs.forEach((symbolic, i) => this.values.set(symbolic.id, inputValues[i]!));
  }

  outputs(): Value[] {
    return this.model.outputs.map((symbolic) => this.valueOf(symbolic));
  }

  private valueOf(symbolic: tf.SymbolicTensor): Value {
    const known = this.values.get(symbolic.id);
    if (known) return known;
    const layer = symbolic.sourceLayer;
    const className = layer.getClassName();
    if (className === 'InputLayer') {
      throw new UnsupportedLayerError(layer.name, className, `tensor "${symbolic.name}" is not an input of model "${this.model.name}"`);
    }
    const node = layer.inboundNodes[symbolic.nodeIndex]!;
    let inputs = node.inputTensors.map((t) => this.valueOf(t));
    let outputs: Value[];
    if (layer instanceof tf.LayersModel) {
      outputs = new GraphWalker(this.ctx, layer, inputs).outputs();
    } else {
      const mapper = LAYER_MAPPERS[className];
      if (!mapper) throw new UnsupportedLayerError(layer.name, className);
      if (className !== 'Embedding') inputs = inputs.map((v) => this.asFloat(v));
      if (node.outputTensors.length !== 1) throw new UnsupportedLayerError(layer.name, className, 'layers with several outputs');
      const outputShape = node.outputTensors[0]!.shape;
      outputs = [mapper(layer, inputs, this.ctx, layer.getConfig(), outputShape)];
    }
    node.outputTensors.forEach((t, i) => this.values.set(t.id, outputs[i]!));
    return this.values.get(symbolic.id)!;
  }

  private asFloat(value: Value): Value {
    if (value.dtype === 'float') return value;
    return { ...value, name: this.ctx.graph.op('Cast', [value.name], { to: ElemType.float }), dtype: 'float' };
  }
}

/** Ids of model inputs whose every consumer is an Embedding layer (they hold indices). */
function inputsFeedingOnlyEmbeddings(model: tf.LayersModel): Set<number> {
  const consumers = new Map<number, string[]>();
  for (const layer of model.layers) {
    for (const node of layer.inboundNodes) {
      for (const t of node.inputTensors) consumers.set(t.id, [...(consumers.get(t.id) ?? []), layer.getClassName()]);
    }
  }
  return new Set(
    model.inputs
      .filter((t) => (consumers.get(t.id) ?? []).length > 0 && consumers.get(t.id)!.every((c) => c === 'Embedding'))
      .map((t) => t.id),
  );
}

function declaredInput(
  symbolic: tf.SymbolicTensor,
  spec: InputSpec,
  layout: ImageLayout,
  dynamicSpatial: boolean,
): { dims: Dim[]; rank4: boolean } {
  if (spec.shape !== undefined) {
    const perSample = knownDims(symbolic, spec.name ?? symbolic.name);
    const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
    if (count(spec.shape) !== count(perSample)) {
      throw new Error(
        `input "${spec.name ?? symbolic.name}": shape ${JSON.stringify(spec.shape)} does not hold the model's ${JSON.stringify(perSample)}`,
      );
    }
    return { dims: ['N', ...spec.shape], rank4: false };
  }
  const dims: Dim[] = symbolic.shape.map((d, axis) => (axis === 0 ? 'N' : (d ?? `${symbolic.name}_d${axis}`)));
  if (symbolic.rank !== 4) return { dims, rank4: false };
  if (dynamicSpatial) [dims[1], dims[2]] = ['height', 'width'];
  return { dims: layout === 'NCHW' ? [dims[0]!, dims[3]!, dims[1]!, dims[2]!] : dims, rank4: true };
}

function knownDims(symbolic: tf.SymbolicTensor, name: string): number[] {
  const dims = symbolic.shape.slice(1);
  if (dims.some((d) => d == null)) throw new Error(`input "${name}": a shape override needs a model input of fixed shape`);
  return dims as number[];
}

function sameDims(a: number[], b: (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
