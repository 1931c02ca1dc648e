/**
 * Seeded noise for the generators. Reproducibility is a product promise (the same model,
 * conditioning and seed give the same bytes on every call, restart and batch composition), so noise
 * never comes from Math.random: each image gets its own xoshiro128** stream, seeded through
 * splitmix32 so that neighbouring seeds (s, s + 1, ...) give unrelated streams.
 */

/** Largest seed a request may give: seeds are uint32. */
export const MAX_SEED = 0xffff_ffff;

export type NoiseDistribution = 'normal' | 'uniform';

/**
 * Spreads a 32-bit seed into well-mixed state words: a Weyl sequence through MurmurHash3's fmix32
 * finaliser, the 32-bit analogue of splitmix64 that Vigna recommends for seeding xoshiro.
 */
function seedMixer(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * xoshiro128** (Blackman & Vigna): a small, fast, well-tested 32-bit generator over four state
 * words (not all zero). Returns a function producing uint32 values.
 */
export function xoshiro128ss(state: readonly [number, number, number, number]): () => number {
  let [a, b, c, d] = state;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
}

/** The uint32 generator for one seed. */
export function seededGenerator(seed: number): () => number {
  const mix = seedMixer(seed);
  return xoshiro128ss([mix(), mix(), mix(), mix()]);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Seed of image `index` in a request seeded with `seed`: s + i, wrapping modulo 2^32. */
export function imageSeed(seed: number, index: number): number {
  return (seed + index) >>> 0;
}

/**
 * One image's noise vector of length `dim`.
 * - normal: standard normal N(0, 1) by the Box–Muller transform;
 * - uniform: uniform on [-1, 1], the usual GAN convention for uniform latent codes.
 */
export function noiseVector(seed: number, dim: number, distribution: NoiseDistribution): Float32Array {
  const nextUint32 = seededGenerator(seed);
  const out = new Float32Array(dim);
  if (distribution === 'uniform') {
    for (let i = 0; i < dim; i += 1) out[i] = (nextUint32() / 0x1_0000_0000) * 2 - 1;
    return out;
  }
  for (let i = 0; i < dim; i += 2) {
    // u1 in (0, 1] so the logarithm is finite; u2 in [0, 1).
    const u1 = (nextUint32() + 1) / 0x1_0000_0000;
    const u2 = nextUint32() / 0x1_0000_0000;
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    out[i] = radius * Math.cos(angle);
    if (i + 1 < dim) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** Noise for `count` images of a request: row i uses seed s + i. Shape [count, dim], row-major. */
export function noiseBatch(seed: number, count: number, dim: number, distribution: NoiseDistribution): Float32Array {
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i += 1) out.set(noiseVector(imageSeed(seed, i), dim, distribution), i * dim);
  return out;
}
