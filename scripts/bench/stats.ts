/** Summary statistics shared by the bench scripts. */
import { mulberry32 } from '../../tests/helpers/image-models.ts';

/** Nearest-rank percentile (p in 0–1) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * A 95 % bootstrap interval for p50(a) − p50(b), a and b resampled independently: how far the
 * difference of two medians can move by the luck of the draw alone. Seeded, so a run's figures
 * can be reproduced from its samples.
 */
export function medianDifferenceInterval(a: readonly number[], b: readonly number[], resamples = 2000, seed = 1): [number, number] {
  const random = mulberry32(seed);
  const draw = (values: readonly number[]) => Array.from(values, () => values[Math.floor(random() * values.length)]!);
  const differences = Array.from({ length: resamples }, () => percentile(draw(a), 0.5) - percentile(draw(b), 0.5));
  return [percentile(differences, 0.025), percentile(differences, 0.975)];
}
