/**
 * FID and its Jacobi eigen-decomposition on cases with known answers: reconstruction of random
 * symmetric matrices, FID's closed forms (diagonal covariances; 2×2 general covariances), identical
 * sets, symmetry, invariance to a common rotation, and singular covariances from dead features.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../training/data/random.ts';
import { type FeatureStatistics, featureStatistics, fid, frechetDistance } from '../../training/eval/fid.ts';
import { symmetricEigen } from '../../training/eval/symmetric-eigen.ts';

/** Standard normal draws (Box–Muller) from a seeded stream. */
function normalSource(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function randomSymmetric(n: number, seed: number): Float64Array {
  const normal = normalSource(seed);
  const m = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = r; c < n; c++) m[r * n + c] = m[c * n + r] = normal();
  return m;
}

/** A random n×n rotation: the eigenvectors of a random symmetric matrix. */
function randomRotation(n: number, seed: number): Float64Array {
  return symmetricEigen(randomSymmetric(n, seed), n).vectors;
}

/** `count` rows of `dim`, x = mean + L·z with L row-major (a covariance L·Lᵀ). */
function gaussianSamples(count: number, mean: number[], mixing: Float64Array, seed: number): Float64Array {
  const dim = mean.length;
  const normal = normalSource(seed);
  const out = new Float64Array(count * dim);
  const z = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dim; d++) z[d] = normal();
    for (let r = 0; r < dim; r++) {
      let value = mean[r]!;
      for (let c = 0; c < dim; c++) value += mixing[r * dim + c]! * z[c]!;
      out[i * dim + r] = value;
    }
  }
  return out;
}

/** Each row multiplied by the rotation's transpose: x ↦ R x. */
function rotateRows(rows: Float64Array, rotation: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length / dim; i++) {
    for (let r = 0; r < dim; r++) {
      let value = 0;
      for (let c = 0; c < dim; c++) value += rotation[r * dim + c]! * rows[i * dim + c]!;
      out[i * dim + r] = value;
    }
  }
  return out;
}

function statistics(mean: number[], covariance: number[]): FeatureStatistics {
  return { dim: mean.length, count: Number.NaN, mean: Float64Array.from(mean), covariance: Float64Array.from(covariance) };
}

describe('symmetricEigen', () => {
  it('reconstructs a random symmetric 64×64 matrix from orthonormal eigenvectors', () => {
    const n = 64;
    const a = randomSymmetric(n, 1);
    const { values, vectors } = symmetricEigen(a, n);
    let worstReconstruction = 0;
    let worstOrthogonality = 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        let rebuilt = 0;
        let gram = 0;
        for (let k = 0; k < n; k++) {
          rebuilt += vectors[r * n + k]! * values[k]! * vectors[c * n + k]!;
          gram += vectors[k * n + r]! * vectors[k * n + c]!;
        }
        worstReconstruction = Math.max(worstReconstruction, Math.abs(rebuilt - a[r * n + c]!));
        worstOrthogonality = Math.max(worstOrthogonality, Math.abs(gram - (r === c ? 1 : 0)));
      }
    }
    expect(worstReconstruction).toBeLessThan(1e-10);
    expect(worstOrthogonality).toBeLessThan(1e-12);
  });

  it('finds the eigenvalues of a 2×2 matrix and of a zero matrix', () => {
    expect([...symmetricEigen([2, 1, 1, 2], 2).values].sort()).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
    expect([...symmetricEigen(new Float64Array(9), 3).values]).toEqual([0, 0, 0]);
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/2×2/);
  });
});

describe('featureStatistics', () => {
  it('gives the mean and the n − 1 covariance', () => {
    // Rows (0, 0), (2, 0), (1, 3): mean (1, 1); var x = 1, var y = 3, cov = 0.
    const { mean, covariance } = featureStatistics([0, 0, 2, 0, 1, 3], 2);
    expect([...mean]).toEqual([1, 1]);
    expect([...covariance]).toEqual([1, 0, 0, 3]);
    expect(() => featureStatistics([1, 2], 2)).toThrow(/two or more rows/);
  });
});

describe('frechetDistance', () => {
  it('is ‖Δμ‖² + Σ(σ1 − σ2)² for diagonal covariances, also after a common rotation of both', () => {
    const dim = 8;
    const normal = normalSource(2);
    const mean1 = Array.from({ length: dim }, normal);
    const mean2 = Array.from({ length: dim }, normal);
    const sigma1 = Array.from({ length: dim }, () => 0.2 + Math.abs(normal()));
    const sigma2 = Array.from({ length: dim }, () => 0.2 + Math.abs(normal()));
    const expected = mean1.reduce((sum, m, d) => sum + (m - mean2[d]!) ** 2 + (sigma1[d]! - sigma2[d]!) ** 2, 0);
    const diagonal = (sigma: number[]) =>
      Array.from({ length: dim * dim }, (_, i) => (i % (dim + 1) === 0 ? sigma[i / (dim + 1)]! ** 2 : 0));
    expect(frechetDistance(statistics(mean1, diagonal(sigma1)), statistics(mean2, diagonal(sigma2)))).toBeCloseTo(expected, 10);

    // R Σ Rᵀ and R μ: non-diagonal, non-commuting-looking covariances with the same distance.
    const rotation = randomRotation(dim, 3);
    const rotate = (mean: number[], sigma: number[]) => {
      const rotatedMean = rotateRows(Float64Array.from(mean), rotation, dim);
      const covariance = new Float64Array(dim * dim);
      for (let r = 0; r < dim; r++) {
        for (let c = 0; c < dim; c++) {
          for (let k = 0; k < dim; k++) covariance[r * dim + c]! += rotation[r * dim + k]! * sigma[k]! ** 2 * rotation[c * dim + k]!;
        }
      }
      return { dim, count: Number.NaN, mean: rotatedMean, covariance };
    };
    expect(frechetDistance(rotate(mean1, sigma1), rotate(mean2, sigma2))).toBeCloseTo(expected, 9);
  });

  it('matches the 2×2 closed form Tr((Σ1Σ2)^½) = √(Tr(Σ1Σ2) + 2√(det Σ1 det Σ2)) for covariances that do not commute', () => {
    const s1 = [2, 0.8, 0.8, 1];
    const s2 = [1, -0.5, -0.5, 3];
    const traceProduct = s1[0]! * s2[0]! + s1[1]! * s2[2]! + s1[2]! * s2[1]! + s1[3]! * s2[3]!;
    const det = (m: number[]) => m[0]! * m[3]! - m[1]! * m[2]!;
    const rootTrace = Math.sqrt(traceProduct + 2 * Math.sqrt(det(s1) * det(s2)));
    const expected = (1 - 0) ** 2 + (2 - 0.5) ** 2 + (2 + 1 + 1 + 3) - 2 * rootTrace;
    const forward = frechetDistance(statistics([1, 2], s1), statistics([0, 0.5], s2));
    expect(forward).toBeCloseTo(expected, 12);
    expect(frechetDistance(statistics([0, 0.5], s2), statistics([1, 2], s1))).toBeCloseTo(forward, 12);
  });
});

describe('fid', () => {
  const dim = 16;
  const mixing = (seed: number) => {
    const normal = normalSource(seed);
    return Float64Array.from({ length: dim * dim }, () => normal() / 3);
  };
  const setA = gaussianSamples(
    600,
    Array.from({ length: dim }, () => 0),
    mixing(4),
    5,
  );
  const setB = gaussianSamples(
    500,
    Array.from({ length: dim }, (_, d) => (d % 3) * 0.2),
    mixing(6),
    7,
  );

  it('is 0 for identical sets and positive for different ones', () => {
    expect(fid(setA, setA, dim)).toBeLessThan(1e-9);
    expect(fid(setA, setB, dim)).toBeGreaterThan(0.1);
  });

  it('is symmetric', () => {
    expect(fid(setB, setA, dim)).toBeCloseTo(fid(setA, setB, dim), 10);
  });

  it('is unchanged by rotating both sets alike', () => {
    const rotation = randomRotation(dim, 8);
    expect(fid(rotateRows(setA, rotation, dim), rotateRows(setB, rotation, dim), dim)).toBeCloseTo(fid(setA, setB, dim), 9);
  });

  it('approaches the closed form with many samples', () => {
    // N(0, I) vs N(1, 4·I) in 4 dimensions: ‖Δμ‖² = 4, Σ(σ1 − σ2)² = 4.
    const identity = Float64Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0));
    const a = gaussianSamples(20_000, [0, 0, 0, 0], identity, 9);
    const b = gaussianSamples(
      20_000,
      [1, 1, 1, 1],
      identity.map((v) => 2 * v),
      10,
    );
    expect(Math.abs(fid(a, b, 4) - 8)).toBeLessThan(0.25);
  });

  it('stays finite with dead features (zero columns make the covariances singular)', () => {
    const withDead = (rows: Float64Array) => {
      const out = new Float64Array((rows.length / dim) * (dim + 4));
      for (let i = 0; i < rows.length / dim; i++) out.set(rows.subarray(i * dim, (i + 1) * dim), i * (dim + 4));
      return out;
    };
    const value = fid(withDead(setA), withDead(setB), dim + 4);
    expect(value).toBeCloseTo(fid(setA, setB, dim), 9);
  });
});
