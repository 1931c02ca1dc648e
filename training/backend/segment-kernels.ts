/**
 * UnsortedSegmentSum for the wasm backend, which has no kernel for it. It is the gradient of
 * `gather`, so every Embedding layer needs it to train. A single pass over the wasm heap in JS is
 * memory-bound and fast enough; no onnxruntime call is needed.
 */
import { util, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DelegatedKernel } from './delegated-kernel.ts';

/** out[s, ...] = Σ x[i, ...] over every i with segmentIds[i] = s; ids outside [0, numSegments) are dropped, as in TensorFlow. */
export const unsortedSegmentSum: DelegatedKernel = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as Record<string, TensorInfo | undefined>;
  const { numSegments } = attrs as unknown as { numSegments: number };
  if (!x || !segmentIds || segmentIds.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32')) return undefined;
  const wasm = backend as BackendWasm;
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = util.sizeFromShape(rowShape);
  const out = wasm.makeOutput([numSegments, ...rowShape], x.dtype);
  const sums = wasm.typedArrayFromHeap(out) as Float32Array | Int32Array;
  sums.fill(0);
  const values = wasm.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = wasm.typedArrayFromHeap(segmentIds) as Int32Array;
  for (let i = 0; i < ids.length; i += 1) {
    const segment = ids[i]!;
    if (segment < 0 || segment >= numSegments) continue;
    const from = i * rowSize;
    const to = segment * rowSize;
    for (let j = 0; j < rowSize; j += 1) sums[to + j]! += values[from + j]!;
  }
  return out;
};
