/**
 * Colour rebalancing for a chroma loss (Zhang et al. 2016, "Colorful Image Colorization", §2.1):
 * each target pixel's loss is weighted by how rare its colour is in the training set, so the
 * common near-grey colours of skies, walls and shadows stop outvoting the saturated ones. An
 * unweighted L1 predicts the conditional median colour, which for an ambiguous region (grass or
 * earth? a red or a blue coat?) is a dull brown-grey; the weights move that median toward the
 * colours real photos have.
 *
 * Weights follow the paper: the a*b* histogram of the training targets on a grid of `bins`², smoothed
 * with a Gaussian, mixed with a uniform distribution over the occupied cells by `uniformShare` λ,
 * inverted, and scaled so their expectation over the training colours is 1:
 *   w(c) ∝ 1 / ((1 − λ)·p̃(c) + λ / Q).
 */
import * as tf from '@tensorflow/tfjs';

export interface ChromaRebalancingOptions {
  /** Cells per axis over a*b* ∈ [-1, 1]² (22: ≈ 10 a*b* units a cell at the colorize scale, the paper's grid). */
  bins?: number;
  /** Gaussian smoothing of the histogram, in cells (the paper: σ = 5 a*b* units ≈ 0.5 cell). */
  sigma?: number;
  /** λ, the uniform distribution's share in the mix (the paper: 0.5); 1 gives every colour weight 1. */
  uniformShare: number;
}

export class ChromaRebalancing {
  private constructor(
    readonly bins: number,
    /** Weight per cell, row-major (a, then b). */
    readonly weights: Float32Array,
  ) {}

  /** Estimates the weights from training targets: a*b* pairs interleaved, in [-1, 1]. */
  static fromTargets(chroma: Float32Array, { bins = 22, sigma = 0.5, uniformShare }: ChromaRebalancingOptions): ChromaRebalancing {
    if (!(uniformShare > 0 && uniformShare <= 1)) throw new Error(`the uniform share must be in (0, 1], got ${uniformShare}`);
    if (chroma.length < 2) throw new Error('colour rebalancing needs at least one target pixel');
    const counts = new Float64Array(bins * bins);
    for (let i = 0; i + 1 < chroma.length; i += 2) counts[cellOf(chroma[i]!, chroma[i + 1]!, bins)]! += 1;
    const smoothed = gaussianBlur(counts, bins, sigma);
    const total = smoothed.reduce((a, b) => a + b, 0);
    const occupied = smoothed.filter((v) => v > 0).length;
    const raw = Array.from(smoothed, (count) => (count > 0 ? 1 / ((1 - uniformShare) * (count / total) + uniformShare / occupied) : 0));
    // Normalise so E[w] over the (smoothed) training colours is 1.
    const expectation = raw.reduce((sum, w, cell) => sum + (w * smoothed[cell]!) / total, 0);
    // A cell no sampled target reached keeps weight 1: too little is known of it to boost it.
    return new ChromaRebalancing(
      bins,
      Float32Array.from(raw, (w) => (w > 0 ? w / expectation : 1)),
    );
  }

  /** Per-pixel weights [N, H, W, 1] for a target batch [N, H, W, 2] in [-1, 1]; no gradient flows to the target. */
  pixelWeights(target: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, h, w] = target.shape;
      const cell = (plane: tf.Tensor) => tf.clipByValue(tf.floor(tf.mul(tf.add(plane, 1), this.bins / 2)), 0, this.bins - 1);
      const [a, b] = tf.split(target, 2, -1) as [tf.Tensor, tf.Tensor];
      const index = tf.cast(tf.add(tf.mul(cell(a), this.bins), cell(b)), 'int32').reshape([-1]);
      return tf.gather(tf.tensor1d(this.weights), index).reshape([n, h, w, 1]) as tf.Tensor4D;
    });
  }
}

function cellOf(a: number, b: number, bins: number): number {
  const axis = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor(((v + 1) * bins) / 2)));
  return axis(a) * bins + axis(b);
}

/** Separable Gaussian blur of a bins×bins grid, zero outside. */
function gaussianBlur(grid: Float64Array, bins: number, sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const pass = (source: Float64Array, along: 'rows' | 'columns') => {
    const out = new Float64Array(source.length);
    for (let i = 0; i < bins; i++)
      for (let j = 0; j < bins; j++)
        for (let k = -radius; k <= radius; k++) {
          const [si, sj] = along === 'rows' ? [i, j + k] : [i + k, j];
          if (si >= 0 && si < bins && sj >= 0 && sj < bins) out[i * bins + j]! += kernel[k + radius]! * source[si * bins + sj]!;
        }
    return out;
  };
  return pass(pass(grid, 'rows'), 'columns');
}
