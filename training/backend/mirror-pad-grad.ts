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

type Paddings = Array<[number, number]>;

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
  return tf.pad(x, x.shape.map((_, i): [number, number] => (i === axis ? [before, after] : [0, 0])));
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
      return { x: () => mirrorPadBackward(dy as tf.Tensor, x.shape, paddings, mode) };
    },
  });
}
