/**
 * Fréchet Inception Distance (Heusel et al. 2017) in any feature space: a Gaussian fitted to each
 * set of feature vectors, and the Fréchet (2-Wasserstein) distance between the two,
 *   ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½).
 * Σ1Σ2 is not symmetric, so Tr((Σ1Σ2)^½) is taken as Σ √λ over the eigenvalues λ of the symmetric
 * PSD matrix Σ1^½ Σ2 Σ1^½, which is similar to Σ1Σ2 (same eigenvalues), all in Float64.
 *
 * FID is biased upwards by finite samples, so figures compare only at equal sample sizes.
 */
import { symmetricEigen } from './symmetric-eigen.ts';

/** Mean and covariance of `count` feature vectors of length `dim`. */
export interface FeatureStatistics {
  dim: number;
  count: number;
  mean: Float64Array;
  /** Row-major dim×dim, normalised by count − 1 (as np.cov, which the reference FID code uses). */
  covariance: Float64Array;
}

/** Statistics of the feature vectors packed row after row in `features`. */
export function featureStatistics(features: ArrayLike<number>, dim: number): FeatureStatistics {
  const count = features.length / dim;
  if (!Number.isInteger(count) || count < 2) throw new Error(`${features.length} values are not two or more rows of ${dim}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let d = 0; d < dim; d++) mean[d]! += features[i * dim + d]!;
  for (let d = 0; d < dim; d++) mean[d]! /= count;
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dim; d++) centred[d] = features[i * dim + d]! - mean[d]!;
    for (let r = 0; r < dim; r++) for (let c = r; c < dim; c++) covariance[r * dim + c]! += centred[r]! * centred[c]!;
  }
  for (let r = 0; r < dim; r++) {
    for (let c = r; c < dim; c++) {
      covariance[r * dim + c]! /= count - 1;
      covariance[c * dim + r] = covariance[r * dim + c]!;
    }
  }
  return { dim, count, mean, covariance };
}

/** Row-major n×n product a·b. */
function multiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < n; k++) {
      const ark = a[r * n + k]!;
      if (ark === 0) continue;
      for (let c = 0; c < n; c++) out[r * n + c]! += ark * b[k * n + c]!;
    }
  }
  return out;
}

/** The PSD square root V diag(√λ) Vᵀ; rounding's tiny negative eigenvalues count as 0. */
function psdSquareRoot(matrix: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const root = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const scale = Math.sqrt(Math.max(0, values[k]!));
    if (scale === 0) continue;
    for (let r = 0; r < n; r++) {
      const vrk = vectors[r * n + k]! * scale;
      for (let c = 0; c < n; c++) root[r * n + c]! += vrk * vectors[c * n + k]!;
    }
  }
  return root;
}

/** Tr((Σa Σb)^½) via the eigenvalues of Σa^½ Σb Σa^½. */
function traceOfProductRoot(a: Float64Array, b: Float64Array, n: number): number {
  const root = psdSquareRoot(a, n);
  const product = multiply(multiply(root, b, n), root, n);
  // Symmetric in exact arithmetic; averaging with the transpose removes rounding's asymmetry.
  for (let r = 0; r < n; r++) {
    for (let c = r + 1; c < n; c++) {
      const mean = (product[r * n + c]! + product[c * n + r]!) / 2;
      product[r * n + c] = mean;
      product[c * n + r] = mean;
    }
  }
  let trace = 0;
  for (const value of symmetricEigen(product, n).values) trace += Math.sqrt(Math.max(0, value));
  return trace;
}

/** The Fréchet distance between the Gaussians N(a.mean, a.covariance) and N(b.mean, b.covariance). */
export function frechetDistance(a: FeatureStatistics, b: FeatureStatistics): number {
  if (a.dim !== b.dim) throw new Error(`feature dimensions differ: ${a.dim} and ${b.dim}`);
  const n = a.dim;
  let meanTerm = 0;
  for (let d = 0; d < n; d++) meanTerm += (a.mean[d]! - b.mean[d]!) ** 2;
  let traces = 0;
  for (let d = 0; d < n; d++) traces += a.covariance[d * n + d]! + b.covariance[d * n + d]!;
  // The distance is ≥ 0; rounding can leave identical sets a hair below it.
  return Math.max(0, meanTerm + traces - 2 * traceOfProductRoot(a.covariance, b.covariance, n));
}

/** FID between two sets of feature vectors of length `dim`, packed row after row. */
export function fid(featuresA: ArrayLike<number>, featuresB: ArrayLike<number>, dim: number): number {
  return frechetDistance(featureStatistics(featuresA, dim), featureStatistics(featuresB, dim));
}
