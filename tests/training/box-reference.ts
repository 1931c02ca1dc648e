/** A float64 reference of the border-clipped box mean that GuidedFilter and BoxBlur compute, for their tests. */

export type Shape4 = [number, number, number, number];

/** Mean over the (2r+1)² window clipped to the image, by direct summation. */
export function referenceBox(x: ArrayLike<number>, [n, h, w, c]: Shape4, r: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < n; b += 1) {
    for (let y = 0; y < h; y += 1) {
      for (let xx = 0; xx < w; xx += 1) {
        for (let ch = 0; ch < c; ch += 1) {
          let sum = 0;
          let count = 0;
          for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy += 1) {
            for (let xw = Math.max(0, xx - r); xw <= Math.min(w - 1, xx + r); xw += 1) {
              sum += x[((b * h + yy) * w + xw) * c + ch]!;
              count += 1;
            }
          }
          out[((b * h + y) * w + xx) * c + ch] = sum / count;
        }
      }
    }
  }
  return out;
}
