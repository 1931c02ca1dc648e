/** Colourisation measures on inputs whose values are known by hand, and the Lab greyscale the eval feeds the model. */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../training/data/image-folder.ts';
import { chromaError, colourfulness, psnr } from '../../training/eval/color-metrics.ts';
import { greyscaleInLab } from '../../training/eval/colorize.ts';
import { rgbToLab } from '../../training/eval/color-transfer.ts';

function image(pixels: number[][], width = pixels.length, height = 1): RgbImage {
  return { name: 'test', width, height, data: Uint8Array.from(pixels.flat()) };
}

describe('PSNR', () => {
  it('is 10·log10(255² / MSE)', () => {
    expect(
      psnr(
        image([
          [10, 20, 30],
          [40, 50, 60],
        ]),
        image([
          [11, 21, 31],
          [41, 51, 61],
        ]),
      ),
    ).toBeCloseTo(10 * Math.log10(255 * 255), 10);
    // MSE = (3·10² + 3·0) / 6 = 50
    expect(
      psnr(
        image([
          [10, 10, 10],
          [0, 0, 0],
        ]),
        image([
          [20, 20, 20],
          [0, 0, 0],
        ]),
      ),
    ).toBeCloseTo(10 * Math.log10((255 * 255) / 50), 10);
  });

  it('is infinite for identical images and refuses different sizes', () => {
    expect(psnr(image([[1, 2, 3]]), image([[1, 2, 3]]))).toBe(Infinity);
    expect(() =>
      psnr(
        image([[1, 2, 3]]),
        image([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      ),
    ).toThrow(/×/);
  });
});

describe('chroma error', () => {
  it('is the mean a*b* distance, with lightness differences left out', () => {
    const red = [200, 40, 30];
    const [, a, b] = rgbToLab(image([red]));
    const grey = [128, 128, 128];
    // Pixel 1: red vs grey → its chroma; pixel 2: two greys of different lightness → 0.
    const error = chromaError(image([red, [50, 50, 50]]), image([grey, [220, 220, 220]]));
    expect(error).toBeCloseTo(Math.hypot(a!, b!) / 2, 2);
    expect(chromaError(image([red]), image([red]))).toBe(0);
  });
});

describe('colourfulness (Hasler & Süsstrunk 2003)', () => {
  it('is 0 for any grey image', () => {
    expect(
      colourfulness(
        image([
          [0, 0, 0],
          [128, 128, 128],
          [255, 255, 255],
        ]),
      ),
    ).toBe(0);
  });

  it('is σ_rgyb + 0.3·μ_rgyb on a pure red and a pure blue pixel', () => {
    // rg = 255, 0 → μ 127.5, σ 127.5; yb = 127.5, −255 → μ −63.75, σ 191.25.
    const expected = Math.hypot(127.5, 191.25) + 0.3 * Math.hypot(127.5, 63.75);
    expect(
      colourfulness(
        image([
          [255, 0, 0],
          [0, 0, 255],
        ]),
      ),
    ).toBeCloseTo(expected, 9);
  });

  it('grows with saturation', () => {
    const muted = colourfulness(
      image([
        [140, 120, 110],
        [110, 120, 140],
      ]),
    );
    const vivid = colourfulness(
      image([
        [220, 60, 30],
        [30, 60, 220],
      ]),
    );
    expect(vivid).toBeGreaterThan(3 * muted);
  });
});

describe('greyscale in Lab', () => {
  it('keeps L* and removes a*b*', () => {
    const photo = image([
      [200, 40, 30],
      [20, 120, 220],
      [240, 230, 90],
    ]);
    const grey = greyscaleInLab(photo);
    const [before, after] = [rgbToLab(photo), rgbToLab(grey)];
    for (let p = 0; p < 3; p++) {
      expect(grey.data[p * 3]).toBe(grey.data[p * 3 + 1]);
      expect(grey.data[p * 3 + 1]).toBe(grey.data[p * 3 + 2]);
      expect(Math.abs(after[p * 3]! - before[p * 3]!)).toBeLessThan(0.5);
    }
  });
});
