/** The shape of every kernel delegated to onnxruntime (conv-kernels.ts, matmul-kernels.ts, …). */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';

/** A kernel body, or undefined when it must fall back to the wasm backend's own kernel. */
export type DelegatedKernel = (args: Parameters<KernelFunc>[0]) => TensorInfo | TensorInfo[] | undefined;
