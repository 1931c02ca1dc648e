/**
 * Registers the onnxruntime-backed kernels over the tfjs wasm backend ("wasm-ort"), and can put
 * the wasm backend's own kernels back (to compare against plain wasm in one process).
 *
 * Each replacement keeps the original kernel (and its setupFunc, which the engine reruns on every
 * setBackend) and falls back to it for cases it does not delegate: NCHW layouts, non-float dtypes,
 * small matmuls.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter, conv2dBackpropInput, conv2dForward } from './conv-kernels.ts';
import type { DelegatedKernel } from './delegated-kernel.ts';
import { ADAM_UPDATE, adamUpdateKernel } from './fused-adam.ts';
import { identity } from './identity-kernel.ts';
import { INSTANCE_NORM, INSTANCE_NORM_GRAD, instanceNormGradKernel, instanceNormKernel } from './instance-norm.ts';
import { batchMatMul } from './matmul-kernels.ts';
import { MIRROR_PAD_GRAD, mirrorPadGradKernel } from './mirror-pad-grad.ts';
import { SessionCache } from './ort-sync.ts';
import { reduction } from './reduce-kernels.ts';
import { resizeNearestNeighborGrad } from './resize-grad-kernel.ts';
import { unsortedSegmentSum } from './segment-kernels.ts';
import { slice } from './slice-kernel.ts';

const BACKEND = 'wasm';

/** The sessions behind the kernels; exposed so tests and the bench can see how many graphs exist. */
export const ortKernelSessions = new SessionCache();

/** Kernel name → its onnxruntime (or JS) implementation on the wasm backend. */
const DELEGATED: Record<string, DelegatedKernel> = {
  [tf.Conv2D]: conv2dForward(ortKernelSessions),
  [tf.FusedConv2D]: conv2dForward(ortKernelSessions),
  [tf.Conv2DBackpropInput]: conv2dBackpropInput(ortKernelSessions),
  [tf.Conv2DBackpropFilter]: conv2dBackpropFilter(ortKernelSessions),
  [tf.BatchMatMul]: batchMatMul(ortKernelSessions),
  [tf._FusedMatMul]: batchMatMul(ortKernelSessions),
  [tf.Sum]: reduction(ortKernelSessions, 'ReduceSum'),
  [tf.Mean]: reduction(ortKernelSessions, 'ReduceMean'),
  [tf.Slice]: slice,
  [tf.Identity]: identity,
  [tf.ResizeNearestNeighborGrad]: resizeNearestNeighborGrad,
  [MIRROR_PAD_GRAD]: mirrorPadGradKernel,
  [tf.UnsortedSegmentSum]: unsortedSegmentSum,
  [INSTANCE_NORM]: instanceNormKernel(ortKernelSessions),
  [INSTANCE_NORM_GRAD]: instanceNormGradKernel(ortKernelSessions),
  [ADAM_UPDATE]: adamUpdateKernel,
};

/** The kernel names served by onnxruntime (or JS) on the wasm backend once registered. */
export const DELEGATED_KERNELS: readonly string[] = Object.keys(DELEGATED);

/**
 * How many calls each kernel served itself rather than falling back to the wasm kernel: tests use
 * it to prove the delegated path ran, the bench to report coverage.
 */
export const delegatedCalls = new Map<string, number>();

/** The wasm backend's own kernels that were replaced (undefined where wasm had none). */
let originals: Map<string, tf.KernelConfig | undefined> | undefined;

export function ortKernelsRegistered(): boolean {
  return originals !== undefined;
}

/** Replaces the wasm backend's kernels with the delegated ones. Idempotent. */
export function registerOrtKernels(): void {
  if (originals) return;
  const replaced = new Map<string, tf.KernelConfig | undefined>();
  for (const [kernelName, delegated] of Object.entries(DELEGATED)) {
    const original = tf.getKernel(kernelName, BACKEND);
    if (original) tf.unregisterKernel(kernelName, BACKEND);
    replaced.set(kernelName, original);
    const kernelFunc: tf.KernelFunc = (args) => {
      const result = delegated(args);
      if (result) {
        delegatedCalls.set(kernelName, (delegatedCalls.get(kernelName) ?? 0) + 1);
        return result;
      }
      if (!original) throw new Error(`wasm-ort: ${kernelName} has no wasm fallback for these inputs`);
      return original.kernelFunc(args);
    };
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: original?.setupFunc, disposeFunc: original?.disposeFunc });
  }
  originals = replaced;
}

/** Puts the wasm backend's own kernels back (plain "wasm"). Idempotent. */
export function unregisterOrtKernels(): void {
  if (!originals) return;
  for (const [kernelName, original] of originals) {
    tf.unregisterKernel(kernelName, BACKEND);
    if (original) tf.registerKernel(original);
  }
  originals = undefined;
}
