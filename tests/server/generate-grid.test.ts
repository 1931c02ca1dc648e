import { describe, expect, it } from 'vitest';
import { composeGrid, gridGeometry, upscaleNearest, type RawImage } from '../../server/imaging/grid.ts';

/** A w×h image whose every pixel holds `value` in each channel. */
function flat(value: number, width = 2, height = 3, channels = 1): RawImage {
  return { data: new Uint8Array(width * height * channels).fill(value), width, height, channels };
}

describe('grid geometry', () => {
  it.each([
    [1, 1, 1],
    [2, 2, 1],
    [3, 2, 2],
    [4, 2, 2],
    [5, 3, 2],
    [9, 3, 3],
    [10, 4, 3],
    [17, 5, 4],
    [64, 8, 8],
  ])('%i images → %i columns × %i rows', (count, columns, rows) => {
    expect(gridGeometry(count)).toEqual({ columns, rows });
  });

  it('rejects an empty grid', () => {
    expect(() => gridGeometry(0)).toThrow(RangeError);
  });
});

describe('composeGrid', () => {
  it('places images row-major and leaves missing cells black', () => {
    const images = [flat(10), flat(20), flat(30)];
    const grid = composeGrid(images);
    expect([grid.width, grid.height, grid.channels]).toEqual([4, 6, 1]);
    const at = (x: number, y: number) => grid.data[y * grid.width + x];
    expect(at(0, 0)).toBe(10);
    expect(at(1, 2)).toBe(10);
    expect(at(2, 0)).toBe(20);
    expect(at(3, 2)).toBe(20);
    expect(at(0, 3)).toBe(30);
    expect(at(1, 5)).toBe(30);
    expect(at(2, 3)).toBe(0);
    expect(at(3, 5)).toBe(0);
  });

  it('keeps each image intact inside its cell (RGB)', () => {
    const a: RawImage = { data: Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => i), width: 2, height: 2, channels: 3 };
    const b: RawImage = { data: Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => 100 + i), width: 2, height: 2, channels: 3 };
    const grid = composeGrid([a, b]);
    expect([grid.width, grid.height]).toEqual([4, 2]);
    // Row 0: a's row 0, then b's row 0.
    expect(Array.from(grid.data.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 104, 105]);
    expect(Array.from(grid.data.subarray(12, 24))).toEqual([6, 7, 8, 9, 10, 11, 106, 107, 108, 109, 110, 111]);
  });

  it('refuses images of different sizes', () => {
    expect(() => composeGrid([flat(1), flat(2, 3, 3)])).toThrow(/share width/);
  });
});

describe('upscaleNearest', () => {
  it('turns each pixel into a factor × factor block', () => {
    const image: RawImage = { data: Uint8Array.from([1, 2, 3, 4, 5, 6]), width: 3, height: 2, channels: 1 };
    const up = upscaleNearest(image, 2);
    expect([up.width, up.height]).toEqual([6, 4]);
    expect(Array.from(up.data)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6]);
  });

  it('keeps channels together and is the identity at factor 1', () => {
    const image: RawImage = { data: Uint8Array.from([1, 2, 3]), width: 1, height: 1, channels: 3 };
    expect(Array.from(upscaleNearest(image, 3).data)).toEqual(Array.from({ length: 9 }, () => [1, 2, 3]).flat());
    expect(upscaleNearest(image, 1)).toBe(image);
    expect(() => upscaleNearest(image, 1.5)).toThrow(RangeError);
  });
});
