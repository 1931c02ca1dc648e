/**
 * Pure metric functions of the digits evaluation: classifier accuracy, per-class accuracy, and the
 * diversity figure (mean pairwise feature distance within a class, relative to real digits).
 */

/** Fraction of predictions equal to their label. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length) throw new Error(`${predicted.length} predictions for ${labels.length} labels`);
  if (labels.length === 0) return Number.NaN;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** Accuracy among the items of each class 0 … classes-1 (NaN for a class with no items). */
export function perClassAccuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number[] {
  if (predicted.length !== labels.length) throw new Error(`${predicted.length} predictions for ${labels.length} labels`);
  const correct = new Array<number>(classes).fill(0);
  const total = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= classes) throw new Error(`label ${label} outside 0…${classes - 1}`);
    total[label]! += 1;
    if (predicted[i] === label) correct[label]! += 1;
  }
  return correct.map((c, label) => (total[label] === 0 ? Number.NaN : c / total[label]!));
}

/** Index of the largest value in each row of a [rows, columns] matrix. */
export function argmaxRows(values: ArrayLike<number>, columns: number): Int32Array {
  const rows = values.length / columns;
  const result = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < columns; c++) if (values[r * columns + c]! > values[r * columns + best]!) best = c;
    result[r] = best;
  }
  return result;
}

/**
 * Mean Euclidean distance over all unordered pairs of the `count` feature vectors of length `dim`
 * packed in `features`. Identical vectors (mode collapse) give 0.
 */
export function meanPairwiseDistance(features: ArrayLike<number>, dim: number): number {
  const count = features.length / dim;
  if (!Number.isInteger(count)) throw new Error(`${features.length} values are not rows of ${dim}`);
  if (count < 2) return Number.NaN;
  let sum = 0;
  for (let a = 0; a < count; a++) {
    for (let b = a + 1; b < count; b++) {
      let squared = 0;
      for (let k = 0; k < dim; k++) {
        const d = features[a * dim + k]! - features[b * dim + k]!;
        squared += d * d;
      }
      sum += Math.sqrt(squared);
    }
  }
  return sum / ((count * (count - 1)) / 2);
}

/** Diversity ratio: mean pairwise distance of generated features over that of real ones. */
export function diversityRatio(generatedFeatures: ArrayLike<number>, realFeatures: ArrayLike<number>, dim: number): number {
  return meanPairwiseDistance(generatedFeatures, dim) / meanPairwiseDistance(realFeatures, dim);
}

/** Arithmetic mean, ignoring NaN entries. */
export function meanOf(values: number[]): number {
  const finite = values.filter((v) => !Number.isNaN(v));
  return finite.length === 0 ? Number.NaN : finite.reduce((a, b) => a + b, 0) / finite.length;
}
