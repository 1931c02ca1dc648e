/**
 * State shared by the layer mappers while one tfjs model is translated to ONNX: the graph being
 * built, the layout of every value, and helpers that read a layer's weights and config.
 *
 * Layout: tfjs tensors are channels-last (NHWC). Convolutions in onnxruntime run on NCHW, so a
 * rank-4 value may live in the graph in either layout (`channelsFirst`). Mappers ask for the
 * layout they need (`nchw` / `tfjsLayout`), and a transpose is emitted only where the layout
 * changes, once per value. A chain of convs, norms, pads and elementwise ops stays in NCHW.
 */
import * as tf from '@tensorflow/tfjs';
import type { OnnxGraph } from './onnx-graph.ts';

export const NHWC_TO_NCHW = [0, 3, 1, 2];
export const NCHW_TO_NHWC = [0, 2, 3, 1];

/** A tensor in the ONNX graph, standing for one tfjs symbolic tensor. */
export interface Value {
  /** The ONNX tensor name. */
  name: string;
  /** Rank of the tfjs tensor (batch included). */
  rank: number;
  /** True when the ONNX tensor is the rank-4 tfjs tensor permuted to NCHW. */
  channelsFirst: boolean;
  dtype: 'float' | 'int64';
}

/** The export refuses a layer (unknown class or an unsupported setting); never a wrong graph. */
export class UnsupportedLayerError extends Error {
  constructor(
    readonly layerName: string,
    readonly layerClass: string,
    reason = 'no ONNX mapping for this layer class',
  ) {
    super(`cannot export layer "${layerName}" (${layerClass}): ${reason}`);
    this.name = 'UnsupportedLayerError';
  }
}

export class ExportContext {
  private readonly layoutCache = new Map<string, string>();
  /** Initializers already written, by tfjs tensor id and permutation: a shared layer's weights are stored once. */
  private readonly tensorCache = new Map<string, string>();

  constructor(readonly graph: OnnxGraph) {}

  /** The value's tensor in tfjs layout (NHWC for rank 4). */
  tfjsLayout(value: Value): string {
    return value.channelsFirst ? this.transposed(value.name, NCHW_TO_NHWC) : value.name;
  }

  /** The value's tensor in NCHW; the value must be rank 4. */
  nchw(value: Value): string {
    if (value.rank !== 4) throw new Error(`internal: NCHW requested for a rank-${value.rank} tensor ${value.name}`);
    return value.channelsFirst ? value.name : this.transposed(value.name, NHWC_TO_NCHW);
  }

  /**
   * Brings several inputs of an elementwise or concat op to one layout: NCHW when all are rank 4
   * and at least one already is NCHW (so a conv chain is not interrupted), else tfjs layout.
   */
  unify(values: Value[]): { names: string[]; channelsFirst: boolean } {
    const channelsFirst = values.every((v) => v.rank === 4) && values.some((v) => v.channelsFirst);
    return { names: values.map((v) => (channelsFirst ? this.nchw(v) : this.tfjsLayout(v))), channelsFirst };
  }

  /** A float initializer holding a tfjs tensor, optionally transposed first. */
  tensor(prefix: string, value: tf.Tensor, perm?: number[]): string {
    const key = `${value.id}|${perm?.join(',') ?? ''}`;
    const cached = this.tensorCache.get(key);
    if (cached !== undefined) return cached;
    const arranged = perm ? tf.transpose(value, perm) : value;
    try {
      const name = this.graph.initializer(this.graph.fresh(prefix), arranged.dataSync() as Float32Array, arranged.shape);
      this.tensorCache.set(key, name);
      return name;
    } finally {
      if (arranged !== value) arranged.dispose();
    }
  }

  /** A float initializer from plain numbers. */
  floats(prefix: string, data: ArrayLike<number>, dims: number[]): string {
    return this.graph.initializer(this.graph.fresh(prefix), Float32Array.from(data), dims);
  }

  private transposed(name: string, perm: number[]): string {
    const key = `${name}|${perm.join(',')}`;
    let result = this.layoutCache.get(key);
    if (result === undefined) {
      result = this.graph.op('Transpose', [name], { perm });
      this.layoutCache.set(key, result);
    }
    return result;
  }
}

/** A layer's config as tfjs serializes it (`getConfig()`), the stable public view of its settings. */
export type LayerConfig = tf.serialization.ConfigDict;

/** Reads one of the layer's weights by its short name (`kernel`, `bias`, `gamma`, ...). */
export function layerWeight(layer: tf.layers.Layer, shortName: string): tf.Tensor | null {
  const variable = layer.weights.find(
    (w) => lastSegment(w.originalName) === shortName || lastSegment(w.name).replace(/_\d+$/, '') === shortName,
  );
  return variable ? variable.read() : null;
}

/** Like layerWeight, but the weight must exist. */
export function requiredWeight(layer: tf.layers.Layer, shortName: string): tf.Tensor {
  const weight = layerWeight(layer, shortName);
  if (weight === null) throw new UnsupportedLayerError(layer.name, layer.getClassName(), `weight "${shortName}" not found`);
  return weight;
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Normalizes a possibly negative axis of a rank-`rank` tensor. */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** The ONNX axis of tfjs axis `axis` in a value, accounting for its layout. */
export function onnxAxis(axis: number, value: Pick<Value, 'rank' | 'channelsFirst'>): number {
  const tfjsAxis = normalizeAxis(axis, value.rank);
  return value.channelsFirst ? NHWC_TO_NCHW.indexOf(tfjsAxis) : tfjsAxis;
}
