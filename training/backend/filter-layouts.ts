/**
 * Conv filters in the layouts onnxruntime's Conv and ConvTranspose read, prepared once per filter
 * value and shared by every kernel call that reads it.
 *
 * tfjs filters are HWIO [kH, kW, Cin, Cout]; ONNX wants OIHW (Conv, and ConvTranspose for the
 * input gradient) or, for the input gradient as a Conv, the spatially flipped [Cin, Cout, kH, kW].
 * Done inside the onnxruntime graph, that transpose took about a fifth of a 3×3 128→128 conv at
 * 32×32 (onnxruntime moves such a transpose element by element), and every call redid it: the
 * forward conv, its input gradient, and the PatchGAN's three applications per step.
 *
 * A tensor's values never change under the same dataId (kernels write fresh outputs, and a
 * variable's assign takes the new tensor's dataId), so a prepared copy stays valid as long as its
 * source tensor exists. Copies live in JS memory, outside the wasm heap, in slots per (shape,
 * layout): a slot whose source tensor the wasm backend has since freed (an older weight value,
 * after an optimizer step) is overwritten by the next filter of that shape, because a fresh large
 * Float32Array costs more than the rearrangement itself (its pages are faulted in on first write:
 * 1.5 against 0.23 ms for 3×3×128×128). So the memory held is at most the filters alive at once.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { FloatValue } from './ort-sync.ts';

/**
 * - 'oihw': [Cout, Cin, kH, kW], ONNX Conv's weight layout, and ConvTranspose's for the input
 *   gradient of the same conv;
 * - 'flippedIohw': [Cin, Cout, kH, kW] reversed along kH and kW: the input gradient as a Conv;
 * - 'flippedHwoi': [kH, kW, Cout, Cin] reversed along kH and kW: the same for im2col + MatMul.
 */
export type FilterLayout = 'oihw' | 'flippedIohw' | 'flippedHwoi';

interface Slot {
  /** The source tensor's dataId: the slot is valid while the backend still holds it. */
  dataId: object;
  value: FloatValue;
}

const slots = new Map<string, Slot[]>();

/** How many times a layout was computed rather than found (tests read it). */
export const filterLayoutStats = { prepared: 0 };

/** How many prepared copies are held for filters of this shape in this layout (tests read it). */
export function filterLayoutSlots(shape: readonly number[], layout: FilterLayout): number {
  return slots.get(`${layout}|${shape.join(',')}`)?.length ?? 0;
}

export function filterLayoutDims([kh, kw, cin, cout]: readonly number[], layout: FilterLayout): number[] {
  if (layout === 'oihw') return [cout!, cin!, kh!, kw!];
  if (layout === 'flippedIohw') return [cin!, cout!, kh!, kw!];
  return [kh!, kw!, cout!, cin!];
}

/** The filter tensor's values in `layout`, computed once per tensor value. */
export function preparedFilter(backend: BackendWasm, filter: TensorInfo, layout: FilterLayout): FloatValue {
  const key = `${layout}|${filter.shape.join(',')}`;
  let list = slots.get(key);
  if (!list) {
    list = [];
    slots.set(key, list);
  }
  const found = list.find((slot) => slot.dataId === filter.dataId);
  if (found) return found.value;
  let slot = list.find((candidate) => !backend.dataIdMap.has(candidate.dataId));
  if (slot) {
    slot.dataId = filter.dataId;
  } else {
    slot = {
      dataId: filter.dataId,
      value: { data: new Float32Array(filter.shape.reduce((a, b) => a * b, 1)), dims: filterLayoutDims(filter.shape, layout) },
    };
    list.push(slot);
  }
  rearrangeFilter(backend.typedArrayFromHeap(filter) as Float32Array, filter.shape, layout, slot.value.data);
  filterLayoutStats.prepared += 1;
  return slot.value;
}

const TILE = 16;

/**
 * Writes the HWIO values in `layout` into `out` (exported for the tests, which check it against
 * tf.transpose). For the two layouts whose taps are innermost, each (Cin, Cout) pair's taps are
 * written together while the source is read as `taps` sequential streams; the per-tap matrix
 * transpose of 'flippedHwoi' goes in square tiles.
 */
export function rearrangeFilter(
  hwio: Float32Array,
  [kh, kw, cin, cout]: readonly number[],
  layout: FilterLayout,
  out: Float32Array = new Float32Array(hwio.length),
): Float32Array {
  const taps = kh! * kw!;
  const ci = cin!;
  const co = cout!;
  const tapStride = ci * co;
  if (layout === 'flippedHwoi') {
    for (let tap = 0; tap < taps; tap += 1) {
      const source = tap * tapStride;
      const target = (taps - 1 - tap) * tapStride;
      for (let i0 = 0; i0 < ci; i0 += TILE) {
        const i1 = Math.min(ci, i0 + TILE);
        for (let o0 = 0; o0 < co; o0 += TILE) {
          const o1 = Math.min(co, o0 + TILE);
          for (let o = o0; o < o1; o += 1) {
            const row = target + o * ci;
            for (let i = i0; i < i1; i += 1) out[row + i] = hwio[source + i * co + o]!;
          }
        }
      }
    }
    return out;
  }
  const flipped = layout === 'flippedIohw';
  for (let i = 0; i < ci; i += 1) {
    for (let o = 0; o < co; o += 1) {
      // 'oihw': out[o, i, tap]; 'flippedIohw': out[i, o, taps − 1 − tap].
      const at = (flipped ? i * co + o : o * ci + i) * taps;
      let from = i * co + o;
      if (flipped) {
        for (let tap = taps - 1; tap >= 0; tap -= 1, from += tapStride) out[at + tap] = hwio[from]!;
      } else {
        for (let tap = 0; tap < taps; tap += 1, from += tapStride) out[at + tap] = hwio[from]!;
      }
    }
  }
  return out;
}
