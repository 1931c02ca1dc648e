/**
 * A small builder for ONNX graphs on top of onnx-proto's generated protobuf classes. The exporter,
 * the onnxruntime-backed training kernels and the tests all build their graphs with it, so the
 * protobuf details (IR version, opset import, tensor encoding) live in one place.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const DEFAULT_OPSET = 15;

/** ONNX element types used here. */
export const ElemType = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
} as const;
export type ElemTypeName = keyof typeof ElemType;

/** A dimension: a fixed size, or a symbolic name such as "N" for a dynamic batch. */
export type Dim = number | string;

/**
 * Attribute values. A JS number is written as INT when integral, else FLOAT; wrap an integral
 * float (alpha = 1) as `{ float: 1 }` and a float list as `{ floats: [...] }`.
 */
export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };

export class OnnxGraph {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  /** Operator domains other than the default one that nodes use (each imported at version 1). */
  private readonly domains = new Set<string>();
  private counter = 0;

  constructor(readonly name = 'graph') {}

  /** A fresh tensor name with the given prefix, unique in this graph. */
  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  input(name: string, type: ElemTypeName, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: ElemTypeName, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Adds a constant tensor (weights, shapes, axes) and returns its name. */
  initializer(name: string, data: Float32Array | BigInt64Array | number[], dims: number[], type: ElemTypeName = 'float'): string {
    const tensor: onnxProto.onnx.ITensorProto = { name, dims, dataType: ElemType[type] };
    if (type === 'float') {
      tensor.rawData = bytesOf(data instanceof Float32Array ? data : Float32Array.from(data as number[]));
    } else if (type === 'int64') {
      const big = data instanceof BigInt64Array ? data : BigInt64Array.from(Array.from(data as ArrayLike<number>, (v) => BigInt(v)));
      tensor.rawData = bytesOf(big);
    } else {
      tensor.rawData = bytesOf(Int32Array.from(data as ArrayLike<number>));
    }
    this.initializers.push(tensor);
    return name;
  }

  /** Adds an int64 constant vector, e.g. a Reshape shape or Pad pads. */
  int64s(prefix: string, values: number[]): string {
    return this.initializer(this.fresh(prefix), values, [values.length], 'int64');
  }

  /**
   * Adds a node; returns its outputs (one fresh name per requested output). `domain` names an
   * operator set other than ONNX's own, such as onnxruntime's 'com.microsoft.nchwc'.
   */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: string[] | number = 1, domain = ''): string[] {
    const outNames = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    if (domain) this.domains.add(domain);
    this.nodes.push({
      opType,
      ...(domain ? { domain } : {}),
      input: inputs,
      output: outNames,
      name: this.fresh(`${opType}_node`),
      attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
    });
    return outNames;
  }

  /** Adds a single-output node and returns that output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string, domain = ''): string {
    return this.node(opType, inputs, attrs, output === undefined ? 1 : [output], domain)[0]!;
  }

  /** Serialises the model. */
  toBytes(opset = DEFAULT_OPSET, producer = 'ganserve'): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: opset }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

function valueInfo(name: string, type: ElemTypeName, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ElemType[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  }
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}
