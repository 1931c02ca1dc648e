/**
 * Improved precision and recall (Kynkäänniemi et al. 2019) in a feature space. Each set's manifold
 * is the union of balls around its points, each reaching the point's k-th nearest neighbour in the
 * same set. Precision: the share of generated points inside the real manifold (are samples
 * realistic?). Recall: the share of real points inside the generated manifold (is the real variety
 * covered?). Unlike FID, the two failures (bad samples, missing modes) show separately.
 */

/** The paper's default neighbourhood size. */
export const DEFAULT_NEIGHBOURS = 3;

export interface PrecisionRecall {
  precision: number;
  recall: number;
}

/** Squared Euclidean distance between row i of `a` and row j of `b`. */
function squaredDistance(a: Float64Array, i: number, b: Float64Array, j: number, dim: number): number {
  let sum = 0;
  for (let d = 0; d < dim; d++) {
    const diff = a[i * dim + d]! - b[j * dim + d]!;
    sum += diff * diff;
  }
  return sum;
}

/** Squared distance from each point to its k-th nearest other point of the same set. */
export function kthNeighbourRadii(points: Float64Array, dim: number, k: number): Float64Array {
  const count = points.length / dim;
  if (!Number.isInteger(k) || k < 1 || k >= count) throw new Error(`k must be an integer in [1, ${count - 1}], got ${k}`);
  // Row i keeps its k smallest distances so far, ascending; distances are symmetric, so each pair is computed once.
  const nearest = new Float64Array(count * k).fill(Number.POSITIVE_INFINITY);
  const offer = (i: number, distance: number) => {
    const base = i * k;
    if (distance >= nearest[base + k - 1]!) return;
    let slot = k - 1;
    while (slot > 0 && nearest[base + slot - 1]! > distance) {
      nearest[base + slot] = nearest[base + slot - 1]!;
      slot -= 1;
    }
    nearest[base + slot] = distance;
  };
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      const distance = squaredDistance(points, i, points, j, dim);
      offer(i, distance);
      offer(j, distance);
    }
  }
  const radii = new Float64Array(count);
  for (let i = 0; i < count; i++) radii[i] = nearest[i * k + k - 1]!;
  return radii;
}

/** Share of `queries` within the k-NN ball (squared `radii`) of at least one of `manifold`'s points. */
function shareInside(queries: Float64Array, manifold: Float64Array, radii: Float64Array, dim: number): number {
  const queryCount = queries.length / dim;
  const manifoldCount = manifold.length / dim;
  let inside = 0;
  for (let q = 0; q < queryCount; q++) {
    for (let m = 0; m < manifoldCount; m++) {
      if (squaredDistance(queries, q, manifold, m, dim) <= radii[m]!) {
        inside += 1;
        break;
      }
    }
  }
  return inside / queryCount;
}

/** Precision and recall of `generated` against `real` feature vectors (rows of `dim`). */
export function precisionRecall(
  real: ArrayLike<number>,
  generated: ArrayLike<number>,
  dim: number,
  k = DEFAULT_NEIGHBOURS,
): PrecisionRecall {
  if (real.length % dim !== 0 || generated.length % dim !== 0) throw new Error(`feature arrays are not whole rows of ${dim}`);
  const realPoints = Float64Array.from(real);
  const generatedPoints = Float64Array.from(generated);
  return {
    precision: shareInside(generatedPoints, realPoints, kthNeighbourRadii(realPoints, dim, k), dim),
    recall: shareInside(realPoints, generatedPoints, kthNeighbourRadii(generatedPoints, dim, k), dim),
  };
}
