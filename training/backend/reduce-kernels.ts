/**
 * Sum and Mean over axes that are not the innermost, on onnxruntime. The wasm backend reduces only
 * over trailing axes, so for an NHWC reduction over height and width (instance norm's moments and
 * their gradients) it first transposes the whole tensor; onnxruntime reduces strided axes directly,
 * several times faster. Trailing-axis and small reductions stay on the wasm kernels.
 */
import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OnnxGraph } from '../export/onnx-graph.ts';
import type { DelegatedKernel } from './conv-kernels.ts';
import type { SessionCache } from './ort-sync.ts';
import { allocateOutput, heapValue } from './wasm-heap.ts';

/** Elements below which the wasm kernel's transpose is cheaper than an onnxruntime call. */
export const REDUCE_MIN_ELEMENTS = 1 << 14;

/** A Sum or Mean kernel ('ReduceSum' or 'ReduceMean' in ONNX). */
export function reduction(cache: SessionCache, onnxOp: 'ReduceSum' | 'ReduceMean'): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { x } = inputs as Record<string, TensorInfo | undefined>;
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (!x || x.dtype !== 'float32' || util.sizeFromShape(x.shape) < REDUCE_MIN_ELEMENTS) return undefined;
    const axes = util.parseAxisParam(axis, x.shape);
    if (backend_util.getAxesPermutation(axes, x.shape.length) === null) return undefined;
    const [reducedShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const outShape = keepDims ? backend_util.expandShapeToKeepDim(reducedShape, axes) : reducedShape;
    const session = cache.get(`${onnxOp}|${x.shape}|${axes}`, () => {
      const g = new OnnxGraph(onnxOp);
      const input = g.input('x', 'float', x.shape);
      // Opset 15: ReduceSum takes axes as an input, ReduceMean still as an attribute.
      const reduced = onnxOp === 'ReduceSum'
        ? g.op('ReduceSum', [input, g.int64s('axes', axes)], { keepdims: 0 })
        : g.op('ReduceMean', [input], { axes, keepdims: 0 });
      g.output(g.op('Identity', [reduced], {}, 'y'), 'float', reducedShape);
      return g;
    });
    const wasm = backend as BackendWasm;
    const out = allocateOutput(wasm, outShape);
    session.run({ x: heapValue(wasm, x) }, { y: heapValue(wasm, out, reducedShape) });
    return out;
  };
}
