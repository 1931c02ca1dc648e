/**
 * ResizeNearestNeighborGrad (the gradient of nearest-neighbour upsampling, i.e. of tf.layers'
 * upSampling2d and the generator's 'resize' upsampling) as one scatter pass over the wasm heap:
 * each dy pixel is added to the input pixel it was copied from (5.6 ms of CPU for a
 * 1×128×128×64 dy here, against 15 ms for the wasm backend's own kernel, which searches a window
 * per input pixel). The source index is the one tfjs's reference (cpu) gradient uses: floor (or
 * round with alignCorners) of the output index times the scale.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DelegatedKernel } from './delegated-kernel.ts';

export const resizeNearestNeighborGrad: DelegatedKernel = ({ inputs, attrs, backend }) => {
  const { images, dy } = inputs as Record<string, TensorInfo | undefined>;
  const { alignCorners } = attrs as unknown as { alignCorners: boolean };
  if (!images || !dy || dy.dtype !== 'float32' || images.shape.length !== 4) return undefined;
  const [batch, inHeight, inWidth, depth] = images.shape as [number, number, number, number];
  const [, outHeight, outWidth] = dy.shape as [number, number, number, number];
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(images.shape, 'float32');
  const dx = wasm.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const source = wasm.typedArrayFromHeap(dy) as Float32Array;
  const sourceIndices = (inSize: number, outSize: number) => {
    const corners = alignCorners && outSize > 1;
    const scale = (corners ? inSize - 1 : inSize) / (corners ? outSize - 1 : outSize);
    return Int32Array.from({ length: outSize }, (_, i) => Math.min(inSize - 1, corners ? Math.round(i * scale) : Math.floor(i * scale)));
  };
  const rows = sourceIndices(inHeight, outHeight);
  const cols = sourceIndices(inWidth, outWidth);
  let from = 0;
  for (let b = 0; b < batch; b += 1) {
    for (let r = 0; r < outHeight; r += 1) {
      const rowBase = (b * inHeight + rows[r]!) * inWidth * depth;
      for (let c = 0; c < outWidth; c += 1) {
        const to = rowBase + cols[c]! * depth;
        for (let d = 0; d < depth; d += 1) dx[to + d]! += source[from + d]!;
        from += depth;
      }
    }
  }
  return out;
};
