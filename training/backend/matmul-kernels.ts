/**
 * BatchMatMul and _FusedMatMul (what tf.layers' Dense calls) on onnxruntime. Small products stay
 * on the wasm kernel: below MATMUL_MIN_MACS the fixed cost of an onnxruntime call outweighs its
 * faster GEMM.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { OnnxGraph } from '../export/onnx-graph.ts';
import type { DelegatedKernel } from './conv-kernels.ts';
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

/** Both BatchMatMul and _FusedMatMul: inputs are rank 3 ([batch, rows, cols]) as tfjs-core passes them. */
export function batchMatMul(cache: SessionCache): DelegatedKernel {
  return ({ inputs, attrs, backend }) => {
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
    const at = attrs as unknown as MatMulAttrs;
    if (!a || !b || a.shape.length !== 3 || b.shape.length !== 3 || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const [batchA, rowsA, colsA] = a.shape as [number, number, number];
    const [batchB, rowsB, colsB] = b.shape as [number, number, number];
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
    const m = at.transposeA ? colsA : rowsA;
    const k = at.transposeA ? rowsA : colsA;
    const n = at.transposeB ? rowsB : colsB;
    // Mismatched inner sizes go to the wasm kernel, whose assertion names the shapes.
    if (k !== (at.transposeB ? colsB : rowsB)) return undefined;
    const batch = Math.max(batchA, batchB);
    if (batch * m * n * k < MATMUL_MIN_MACS) return undefined;
    const activation = at.activation ?? 'linear';
    const outShape = [batch, m, n];
    const key = `matmul|${a.shape}|${b.shape}|${at.transposeA}|${at.transposeB}|${fusedTailKey(bias, activation, preluActivationWeights, at.leakyreluAlpha)}`;
    const session = cache.get(key, () => {
      const g = new OnnxGraph('matmul');
      const inA = g.input('a', 'float', a.shape);
      const inB = g.input('b', 'float', b.shape);
      let product: string;
      if (batch === 1) {
        // A plain 2-D GEMM takes the transposes as flags instead of materialising them.
        const a2 = g.op('Reshape', [inA, g.int64s('shape', [rowsA, colsA])]);
        const b2 = g.op('Reshape', [inB, g.int64s('shape', [rowsB, colsB])]);
        const gemm = g.op('Gemm', [a2, b2], { transA: at.transposeA ? 1 : 0, transB: at.transposeB ? 1 : 0 });
        product = g.op('Reshape', [gemm, g.int64s('shape', outShape)]);
      } else {
        const left = at.transposeA ? g.op('Transpose', [inA], { perm: [0, 2, 1] }) : inA;
        const right = at.transposeB ? g.op('Transpose', [inB], { perm: [0, 2, 1] }) : inB;
        product = g.op('MatMul', [left, right]);
      }
      g.output(g.op('Identity', [appendBiasAndActivation(g, product, bias, activation, preluActivationWeights, at.leakyreluAlpha)], {}, 'y'), 'float', outShape);
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

