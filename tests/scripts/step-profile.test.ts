/**
 * The bench's step profiler: conv calls counted by direction with their FLOPs, and the conv time
 * table keyed by layer shape, stride and direction, slowest first.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { StepProfiler } from '../../scripts/bench/step-profile.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('StepProfiler conv layers', () => {
  it('keys every conv call by direction, shapes and stride, and counts its FLOPs', () => {
    const profiler = new StepProfiler();
    profiler.attach();
    try {
      const x = tf.randomNormal([1, 8, 8, 3]) as tf.Tensor4D;
      const w = tf.variable(tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D);
      tf.variableGrads(() => tf.sum(tf.conv2d(x, w, 2, 'same')) as tf.Scalar, [w]);
      tf.grad((input: tf.Tensor) => tf.sum(tf.conv2d(input as tf.Tensor4D, w, 2, 'same')))(x);
      // One forward per pass; the filter gradient in the first, the input gradient in the second.
      const multiplyAdds = 4 * 4 * 4 * 3 * 3 * 3;
      expect(profiler.convFlops).toEqual({
        forward: 2 * 2 * multiplyAdds,
        'input gradient': 2 * multiplyAdds,
        'filter gradient': 2 * multiplyAdds,
      });
      const table = profiler.convLayerTable(1);
      expect(table).toContain('| forward, 1×8×8×3 → 1×4×4×4, 3×3×3×4, s2 |');
      expect(table).toContain('| input gradient, 1×4×4×4 → 1×8×8×3, 3×3×3×4, s2 |');
      expect(table).toContain('| filter gradient, 1×8×8×3 → 1×4×4×4, 3×3×3×4, s2 |');
      expect(table.split('\n')).toHaveLength(2 + 3);
    } finally {
      profiler.detach();
    }
  });

  it('folds the rows past the limit into one', () => {
    const profiler = new StepProfiler();
    profiler.attach();
    try {
      const w = tf.randomNormal([3, 3, 2, 2]) as tf.Tensor4D;
      for (const side of [4, 6, 8]) tf.conv2d(tf.zeros([1, side, side, 2]) as tf.Tensor4D, w, 1, 'same');
      const lines = profiler.convLayerTable(1, 2).split('\n');
      expect(lines).toHaveLength(2 + 2 + 1);
      expect(lines.at(-1)).toMatch(/^\| 1 other shapes \| /);
    } finally {
      profiler.detach();
    }
  });
});
