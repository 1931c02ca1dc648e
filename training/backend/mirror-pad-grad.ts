/**
 * A correct gradient for tf.mirrorPad, registered over tfjs-core's.
 *
 * tfjs-core 4.22's MirrorPad gradient only slices the centre out of dy, dropping the gradient that
 * flows into the mirrored border. That border is a copy of interior pixels, so their gradient must
 * include it: every ReflectionPadding2D in the CycleGAN generator otherwise trains on a wrong
 * gradient at the image edges. This one folds each border back onto the pixels it was copied from,
 * one padded axis at a time, with ordinary ops (so it runs on every backend).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DelegatedKernel } from './delegated-kernel.ts';

type Paddings = Array<[number, number]>;

/** A one-pass kernel for the same gradient, registered on the wasm backend by ort-kernels.ts. */
export const MIRROR_PAD_GRAD = 'GanserveMirrorPadGrad';

/** dx for y = mirrorPad(x, paddings, mode), given dy. */
export function mirrorPadBackward(dy: tf.Tensor, xShape: number[], paddings: Paddings, mode: 'reflect' | 'symmetric'): tf.Tensor {
  return tf.tidy(() => {
    // 'reflect' mirrors around the edge pixel (which is not repeated), 'symmetric' repeats it.
    const skip = mode === 'reflect' ? 1 : 0;
    let grad = dy;
    paddings.forEach(([before, after], axis) => {
      if (before === 0 && after === 0) return;
      const size = xShape[axis]!;
      let folded = sliceAxis(grad, axis, before, size);
      if (before > 0) {
        const border = tf.reverse(sliceAxis(grad, axis, 0, before), axis);
        folded = tf.add(folded, padAxis(border, axis, skip, size - skip - before));
      }
      if (after > 0) {
        const border = tf.reverse(sliceAxis(grad, axis, before + size, after), axis);
        folded = tf.add(folded, padAxis(border, axis, size - skip - after, skip));
      }
      grad = folded;
    });
    return grad;
  });
}

function sliceAxis(x: tf.Tensor, axis: number, start: number, length: number): tf.Tensor {
  const begin = x.shape.map((_, i) => (i === axis ? start : 0));
  const size = x.shape.map((d, i) => (i === axis ? length : d));
  return tf.slice(x, begin, size);
}

function padAxis(x: tf.Tensor, axis: number, before: number, after: number): tf.Tensor {
  return tf.pad(
    x,
    x.shape.map((_, i): [number, number] => (i === axis ? [before, after] : [0, 0])),
  );
}

let registered = false;

/** Replaces tfjs-core's MirrorPad gradient with mirrorPadBackward. Idempotent. */
export function registerMirrorPadGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.MirrorPad,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { paddings, mode } = attrs as unknown as { paddings: Paddings; mode: 'reflect' | 'symmetric' };
      return {
        x: () =>
          tf.getKernel(MIRROR_PAD_GRAD, tf.getBackend())
            ? (tf.engine().runKernel(MIRROR_PAD_GRAD, { dy: dy as tf.Tensor }, { xShape: x.shape, paddings, mode }) as tf.Tensor)
            : mirrorPadBackward(dy as tf.Tensor, x.shape, paddings, mode),
      };
    },
  });
}

/** Calls of the gradient kernel that took the spatial NHWC path (tests read it). */
export const mirrorPadGradCalls = { spatial: 0, general: 0 };

/** The x index that padded index `p` reads along an axis of `size` with `before` leading pads. */
const mirrored = (p: number, before: number, size: number, skip: number) => {
  const i = p - before;
  if (i < 0) return -i - 1 + skip;
  if (i >= size) return 2 * size - 1 - skip - i;
  return i;
};

/**
 * mirrorPadBackward in one pass over the wasm heap: each dy element is added to the x element it
 * was copied from. Float32 only; other dtypes take the composed path. Padding of the spatial axes
 * of an NHWC tensor only (ReflectionPadding2D) takes a faster path.
 */
export const mirrorPadGradKernel: DelegatedKernel = ({ inputs, attrs, backend }) => {
  const { dy } = inputs as Record<string, tf.TensorInfo | undefined>;
  const { xShape, paddings, mode } = attrs as unknown as { xShape: number[]; paddings: Paddings; mode: 'reflect' | 'symmetric' };
  if (dy?.dtype !== 'float32') return undefined;
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(xShape, 'float32');
  const dx = wasm.typedArrayFromHeap(out) as Float32Array;
  const source = wasm.typedArrayFromHeap(dy) as Float32Array;
  const skip = mode === 'reflect' ? 1 : 0;
  const spatialOnly = xShape.length === 4 && paddings[0]![0] + paddings[0]![1] + paddings[3]![0] + paddings[3]![1] === 0;
  if (spatialOnly) {
    spatialMirrorPadGrad(dx, source, xShape as [number, number, number, number], paddings, skip);
    mirrorPadGradCalls.spatial += 1;
  } else {
    generalMirrorPadGrad(dx, source, xShape, dy.shape, paddings, skip);
    mirrorPadGradCalls.general += 1;
  }
  return out;
};

/**
 * NHWC with only H and W padded: every image row's centre is one contiguous run of dy, copied
 * as it is; then each border pixel adds its C channels onto the pixel it mirrors (a few percent of
 * the pixels for the nets' pads of 1 and 3). The general path below looked up every element's
 * target through an index map: 1.4 ms for a 34×34×128 dy.
 */
function spatialMirrorPadGrad(
  dx: Float32Array,
  dy: Float32Array,
  [batch, height, width, channels]: [number, number, number, number],
  paddings: Paddings,
  skip: number,
): void {
  const [top, bottom] = paddings[1]!;
  const [left, right] = paddings[2]!;
  const paddedHeight = height + top + bottom;
  const paddedWidth = width + left + right;
  const run = width * channels;
  for (let b = 0; b < batch; b += 1) {
    for (let i = 0; i < height; i += 1) {
      const from = ((b * paddedHeight + i + top) * paddedWidth + left) * channels;
      dx.set(dy.subarray(from, from + run), (b * height + i) * run);
    }
    for (let p = 0; p < paddedHeight; p += 1) {
      const i = mirrored(p, top, height, skip);
      const centreRow = p >= top && p < top + height;
      for (let q = 0; q < paddedWidth; q += 1) {
        if (centreRow && q === left) q = left + width;
        if (q >= paddedWidth) break;
        const from = ((b * paddedHeight + p) * paddedWidth + q) * channels;
        const to = ((b * height + i) * width + mirrored(q, left, width, skip)) * channels;
        for (let k = 0; k < channels; k += 1) dx[to + k]! += dy[from + k]!;
      }
    }
  }
}

/** Any rank and any padded axes: each dy element through per-axis index maps. */
function generalMirrorPadGrad(
  dx: Float32Array,
  source: Float32Array,
  xShape: number[],
  dyShape: number[],
  paddings: Paddings,
  skip: number,
): void {
  dx.fill(0);
  const rank = xShape.length;
  // For every axis, the x index each padded index reads.
  const sourceIndex = xShape.map((size, axis) =>
    Int32Array.from({ length: dyShape[axis]! }, (_, p) => mirrored(p, paddings[axis]![0], size, skip)),
  );
  const xStrides = [...tf.util.computeStrides(xShape), 1];
  const innerSize = dyShape[rank - 1]!;
  const innerMap = sourceIndex[rank - 1]!;
  const outerCount = tf.util.sizeFromShape(dyShape.slice(0, -1));
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let row = 0; row < outerCount; row += 1) {
    let base = 0;
    for (let axis = 0; axis < rank - 1; axis += 1) base += sourceIndex[axis]![index[axis]!]! * xStrides[axis]!;
    const from = row * innerSize;
    for (let j = 0; j < innerSize; j += 1) dx[base + innerMap[j]!]! += source[from + j]!;
    for (let axis = rank - 2; axis >= 0; axis -= 1) {
      index[axis]! += 1;
      if (index[axis]! < dyShape[axis]!) break;
      index[axis] = 0;
    }
  }
}
