/**
 * Zero-copy access to tensors that live on the tfjs wasm backend's heap.
 *
 * Order matters: allocating an output may grow the wasm memory, which detaches every view taken
 * before it. Kernels therefore allocate all outputs first and take input views last, right
 * before the synchronous onnxruntime call.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { FloatValue } from './ort-sync.ts';

/** A float32 view of a tensor's heap memory, with its shape. */
export function heapValue(backend: BackendWasm, info: TensorInfo, dims: readonly number[] = info.shape): FloatValue {
  if (info.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return { data: backend.typedArrayFromHeap(info) as Float32Array, dims };
}

/** Allocates a float32 output tensor on the heap; take its view with `heapValue` afterwards. */
export function allocateOutput(backend: BackendWasm, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}
