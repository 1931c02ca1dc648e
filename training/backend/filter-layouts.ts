/**
 * Conv filters in the layouts onnxruntime's Conv, NCHWc Conv and ConvTranspose read, prepared once
 * per filter value and shared by every kernel call that reads it.
 *
 * tfjs filters are HWIO [kH, kW, Cin, Cout]; ONNX wants OIHW (Conv, and ConvTranspose for the
 * input gradient), MLAS's NCHWc Conv wants blocks of it, and the input gradient as a Conv wants
 * the spatially flipped [Cin, Cout, kH, kW]. Done inside the onnxruntime graph, that transpose
 * took about a fifth of a 3×3 128→128 conv at 32×32 (onnxruntime moves such a transpose element
 * by element), and every call redid it: the forward conv, its input gradient, and the PatchGAN's
 * three applications per step.
 *
 * A tensor's values never change under the same dataId (kernels write fresh outputs, and a
 * variable's assign takes the new tensor's dataId), so a prepared copy stays valid as long as its
 * source tensor exists. Copies are written by the SIMD block transposes and copies of
 * simd-kernels.ts into tensors of their own on the wasm heap (0.04-0.05 ms for 3×3×128×128 in the
 * NCHWc layouts, 0.08 in OIHW, where a JS loop took 0.21-0.26), in slots per (shape, layout): a slot whose source tensor the wasm backend has
 * since freed (an older weight value, after an optimizer step) is overwritten by the next filter
 * of that shape. So the memory held is at most the filters alive at once, and never released:
 * the engine does not know these tensors.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nchwcBlockSize } from './nchwc.ts';
import { type SimdKernels, simdKernelsFor } from './simd-kernels.ts';

/**
 * - 'oihw': [Cout, Cin, kH, kW], ONNX Conv's weight layout, and ConvTranspose's for the input
 *   gradient of the same conv;
 * - 'flippedIohw': [Cin, Cout, kH, kW] reversed along kH and kW: the input gradient as a Conv;
 * - 'flippedHwoi': [kH, kW, Cout, Cin] reversed along kH and kW: the same for im2col + MatMul;
 * - 'nchwc': 'oihw' in MLAS's OIHWBiBo blocks for the NCHWc Conv (nchwc.ts): for each block of B
 *   output and B input channels and each tap, a B×B block [input][output], which is a run of B
 *   floats per input channel straight out of HWIO;
 * - 'flippedNchwc': 'flippedIohw' in the same blocks, for the input gradient as an NCHWc Conv.
 */
export type FilterLayout = 'oihw' | 'flippedIohw' | 'flippedHwoi' | 'nchwc' | 'flippedNchwc';

interface Slot {
  /** The source tensor's dataId: the slot is valid while the backend still holds it. */
  source: object;
  /** The heap tensor holding the source's values in the slot's layout. */
  prepared: TensorInfo;
}

/** Slots per `${layout}|${shape}`, for one backend instance (its heap holds the copies). */
let slots = new Map<string, Slot[]>();
let slotsBackend: BackendWasm | undefined;

/** How many times a layout was computed rather than found (tests read it). */
export const filterLayoutStats = { prepared: 0 };

/** How many prepared copies are held for filters of this shape in this layout (tests read it). */
export function filterLayoutSlots(shape: readonly number[], layout: FilterLayout): number {
  return slots.get(`${layout}|${shape.join(',')}`)?.length ?? 0;
}

export function filterLayoutDims([kh, kw, cin, cout]: readonly number[], layout: FilterLayout): number[] {
  if (layout === 'oihw' || layout === 'nchwc') return [cout!, cin!, kh!, kw!];
  if (layout === 'flippedIohw' || layout === 'flippedNchwc') return [cin!, cout!, kh!, kw!];
  return [kh!, kw!, cout!, cin!];
}

/**
 * A heap tensor with the filter's values in `layout`, computed once per filter value. It may
 * allocate, so kernels call it before taking any heap view.
 */
export function preparedFilter(backend: BackendWasm, filter: TensorInfo, layout: FilterLayout): TensorInfo {
  const simd = simdKernelsFor(backend);
  if (!simd) throw new Error("preparedFilter: the SIMD kernels are not loaded for this backend (select 'wasm-ort' first)");
  if (backend !== slotsBackend) {
    slots = new Map();
    slotsBackend = backend;
  }
  const key = `${layout}|${filter.shape.join(',')}`;
  let list = slots.get(key);
  if (!list) {
    list = [];
    slots.set(key, list);
  }
  const found = list.find((slot) => slot.source === filter.dataId);
  if (found) return found.prepared;
  let slot = list.find((candidate) => !backend.dataIdMap.has(candidate.source));
  if (slot) {
    slot.source = filter.dataId;
  } else {
    slot = { source: filter.dataId, prepared: backend.makeOutput([filter.shape.reduce((a, b) => a * b, 1)], 'float32') };
    list.push(slot);
  }
  writeLayout(simd, simd.address(filter), simd.address(slot.prepared), filter.shape, layout, nchwcBlockSize());
  filterLayoutStats.prepared += 1;
  return slot.prepared;
}

const FLOAT = 4;

/**
 * Writes the HWIO filter at heap byte address `src` in `layout` at `dst`, as block transposes
 * (each a [rows][cols] → [cols][rows] move, rows walked backwards for the flipped taps) and, for
 * 'nchwc', block copies. The NCHWc layouts need `block`, the NCHWc block size, dividing both
 * channel counts.
 */
function writeLayout(
  simd: SimdKernels,
  src: number,
  dst: number,
  [kh, kw, ci, co]: readonly number[],
  layout: FilterLayout,
  block: number,
): void {
  const taps = kh! * kw!;
  const cin = ci!;
  const cout = co!;
  const tapBytes = cin * cout * FLOAT;
  switch (layout) {
    case 'oihw':
      // Per input channel: [tap][Cout] → [Cout][tap], Cout rows Cin·taps apart.
      for (let i = 0; i < cin; i += 1)
        simd.transpose2d(src + i * cout * FLOAT, dst + i * taps * FLOAT, taps, cout, tapBytes, cin * taps * FLOAT);
      return;
    case 'flippedIohw':
      // Per input channel: [last tap … first][Cout] → [Cout][tap].
      for (let i = 0; i < cin; i += 1) {
        simd.transpose2d(
          src + (taps - 1) * tapBytes + i * cout * FLOAT,
          dst + i * cout * taps * FLOAT,
          taps,
          cout,
          -tapBytes,
          taps * FLOAT,
        );
      }
      return;
    case 'flippedHwoi':
      // Per tap: [Cin][Cout] → [Cout][Cin], into the mirrored tap.
      for (let tap = 0; tap < taps; tap += 1)
        simd.transpose2d(src + tap * tapBytes, dst + (taps - 1 - tap) * tapBytes, cin, cout, cout * FLOAT, cin * FLOAT);
      return;
    case 'nchwc':
    case 'flippedNchwc': {
      if (block <= 0 || cin % block !== 0 || cout % block !== 0) {
        throw new Error(`preparedFilter: ${layout} needs an NCHWc block size dividing ${cin} and ${cout}, got ${block}`);
      }
      const blockBytes = block * block * FLOAT;
      let at = dst;
      if (layout === 'nchwc') {
        // out[ob][ib][tap][bi][bo] = W[ob + bo][ib + bi][tap]: B runs of B floats out of HWIO.
        for (let ob = 0; ob < cout; ob += block) {
          for (let ib = 0; ib < cin; ib += block) {
            for (let tap = 0; tap < taps; tap += 1, at += blockBytes) {
              simd.copy2d(src + tap * tapBytes + (ib * cout + ob) * FLOAT, at, block, block, cout * FLOAT, block * FLOAT);
            }
          }
        }
      } else {
        // Outputs are the forward conv's inputs, taps reversed: out[ob][ib][tap][bi][bo] =
        // W[co = ib + bi][ci = ob + bo][taps − 1 − tap], a transposed B×B block of HWIO.
        for (let ob = 0; ob < cin; ob += block) {
          for (let ib = 0; ib < cout; ib += block) {
            for (let tap = 0; tap < taps; tap += 1, at += blockBytes) {
              simd.transpose2d(src + (taps - 1 - tap) * tapBytes + (ob * cout + ib) * FLOAT, at, block, block, cout * FLOAT, block * FLOAT);
            }
          }
        }
      }
      return;
    }
  }
}
