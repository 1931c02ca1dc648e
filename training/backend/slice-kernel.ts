/**
 * Slice on the wasm backend without its extra copy: the stock kernel first copies the whole input
 * out of the heap (readSync) and then slices that copy. This one copies each contiguous run
 * straight from the input's heap memory to the output's with `copyWithin`.
 */
import { slice_util, util, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DelegatedKernel } from './delegated-kernel.ts';

export const slice: DelegatedKernel = ({ inputs, attrs, backend }) => {
  const { x } = inputs as Record<string, TensorInfo | undefined>;
  const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
  if (!x || x.shape.length === 0 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return undefined;
  const [start, extent] = slice_util.parseSliceParams(x as Parameters<typeof slice_util.parseSliceParams>[0], begin, size);
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(extent, x.dtype);
  if (util.sizeFromShape(extent) === 0) return out;
  // Both dtypes are 4 bytes wide: one 32-bit view of the whole heap serves both tensors.
  const heap = new Int32Array(wasm.typedArrayFromHeap(out).buffer);
  const source = wasm.getMemoryOffset(x.dataId) / 4;
  const target = wasm.getMemoryOffset(out.dataId) / 4;
  const strides = [...util.computeStrides(x.shape), 1];
  // The innermost axis `inner` from which the slice is one contiguous run per outer index.
  let inner = x.shape.length - 1;
  while (inner > 0 && extent[inner] === x.shape[inner]) inner -= 1;
  const run = extent[inner]! * strides[inner]!;
  const outer = extent.slice(0, inner);
  const count = util.sizeFromShape(outer);
  const index = new Array<number>(inner).fill(0);
  let baseOffset = 0;
  for (let axis = 0; axis <= inner; axis += 1) baseOffset += start[axis]! * strides[axis]!;
  for (let r = 0; r < count; r += 1) {
    let offset = baseOffset;
    for (let axis = 0; axis < inner; axis += 1) offset += index[axis]! * strides[axis]!;
    heap.copyWithin(target + r * run, source + offset, source + offset + run);
    for (let axis = inner - 1; axis >= 0; axis -= 1) {
      index[axis]! += 1;
      if (index[axis]! < outer[axis]!) break;
      index[axis] = 0;
    }
  }
  return out;
};
