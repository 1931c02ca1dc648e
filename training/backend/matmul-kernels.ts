/**
 * BatchMatMul and _FusedMatMul (what tf.layers' Dense calls) on onnxruntime. Small products stay
 * on the wasm kernel: below MATMUL_MIN_MACS the fixed cost of an onnxruntime call outweighs its
 * faster GEMM.
 */
import { broadcast_util, util, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OnnxGraph } from '../export/onnx-graph.ts';
import type { DelegatedKernel } from './delegated-kernel.ts';
import { appendBiasAndActivation, BIAS_INPUT, fusedTailKey, PRELU_INPUT, type FusedActivation } from './fused-activation.ts';
import type { FloatValue, SessionCache } from './ort-sync.ts';
import { allocateOutput, heapValue } from './wasm-heap.ts';

/** Multiply-accumulates below which the wasm backend's own matmul is faster. */
export const MATMUL_MIN_MACS = 1 << 18;

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: FusedActivation;
  leakyreluAlpha?: number;
}

/**
 * Both BatchMatMul and _FusedMatMul: a is [...batch, rows, cols], b likewise; batch dims broadcast
 * like numpy, as in tfjs and ONNX MatMul.
 */
export function batchMatMul(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
    const at = attrs as unknown as MatMulAttrs;
    if (!a || !b || a.shape.length < 2 || b.shape.length < 2 || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const [rowsA, colsA] = a.shape.slice(-2) as [number, number];
    const [rowsB, colsB] = b.shape.slice(-2) as [number, number];
    const m = at.transposeA ? colsA : rowsA;
    const k = at.transposeA ? rowsA : colsA;
    const n = at.transposeB ? rowsB : colsB;
    // Mismatched inner sizes or batch dims go to the wasm kernel, whose assertion names the shapes.
    if (k !== (at.transposeB ? colsB : rowsB)) return undefined;
    let outerShape: number[];
    try {
      outerShape = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    } catch {
      return undefined;
    }
    const batch = util.sizeFromShape(outerShape);
    if (batch * m * n * k < MATMUL_MIN_MACS) return undefined;
    const activation = at.activation ?? 'linear';
    const outShape = [...outerShape, m, n];
    const key = `matmul|${a.shape}|${b.shape}|${at.transposeA}|${at.transposeB}|${fusedTailKey(bias, activation, preluActivationWeights, at.leakyreluAlpha)}`;
    const session = cache.get(key, () => {
      const g = new OnnxGraph('matmul');
      const inA = g.input('a', 'float', a.shape);
      const inB = g.input('b', 'float', b.shape);
      let product: string;
      if (util.sizeFromShape(a.shape.slice(0, -2)) === 1 && util.sizeFromShape(b.shape.slice(0, -2)) === 1) {
        // A plain 2-D GEMM takes the transposes as flags instead of materialising them.
        const a2 = g.op('Reshape', [inA, g.int64s('shape', [rowsA, colsA])]);
        const b2 = g.op('Reshape', [inB, g.int64s('shape', [rowsB, colsB])]);
        const gemm = g.op('Gemm', [a2, b2], { transA: at.transposeA ? 1 : 0, transB: at.transposeB ? 1 : 0 });
        product = g.op('Reshape', [gemm, g.int64s('shape', outShape)]);
      } else {
        const left = at.transposeA ? g.op('Transpose', [inA], { perm: swapLastTwo(a.shape.length) }) : inA;
        const right = at.transposeB ? g.op('Transpose', [inB], { perm: swapLastTwo(b.shape.length) }) : inB;
        product = g.op('MatMul', [left, right]);
      }
      g.output(
        g.op('Identity', [appendBiasAndActivation(g, product, bias, activation, preluActivationWeights, at.leakyreluAlpha)], {}, 'y'),
        'float',
        outShape,
      );
      return g;
    });
    const wasm = backend as BackendWasm;
    const out = allocateOutput(wasm, outShape);
    const feeds: Record<string, FloatValue> = { a: heapValue(wasm, a), b: heapValue(wasm, b) };
    if (bias) feeds[BIAS_INPUT] = heapValue(wasm, bias);
    if (preluActivationWeights) feeds[PRELU_INPUT] = heapValue(wasm, preluActivationWeights);
    session.run(feeds, { y: heapValue(wasm, out) });
    return out;
  };
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return perm;
}
