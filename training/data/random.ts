/**
 * Seeded random numbers for the training side: splits, shuffles and augmentation must be
 * reproducible from a seed, which Math.random cannot give. Built on the server's noise generator
 * so the project has one PRNG.
 */
import { seededGenerator } from '../../server/shared.ts';

/** A seeded source of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  const nextUint32 = seededGenerator(seed);
  return () => nextUint32() / 0x1_0000_0000;
}

/** Fisher–Yates shuffle in place, driven by `random`. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
