/**
 * Identity without a copy. The wasm backend's Identity copies the whole tensor, and autodiff and
 * tf.layers call it hundreds of times per training step; sharing the buffer with a reference
 * count is what its own Reshape kernel and the cpu backend's Identity do. No kernel writes into
 * its inputs, so sharing is safe.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DelegatedKernel } from './delegated-kernel.ts';

export const identity: DelegatedKernel = ({ inputs, backend }) => {
  const { x } = inputs as Record<string, TensorInfo | undefined>;
  if (!x || x.dtype === 'string') return undefined;
  (backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};
