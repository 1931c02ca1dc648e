import { describe, expect, it } from 'vitest';
import { outputRowToImage } from '../../server/imaging/rows.ts';

describe('outputRowToImage', () => {
  it('maps the range to bytes, rounding half up and clamping, NaN to 0', () => {
    // One row of 1×8 grey values in [-1, 1]: -1 → 0, 1 → 255, 0 → 127.5 → 128, out of range clamps.
    const data = Float32Array.from([-1, 1, 0, -3, 3, Number.NaN, 0.5, -0.5]);
    const image = outputRowToImage({ data, dims: [1, 1, 1, 8] }, 0, 'NCHW', [-1, 1]);
    expect(image).toMatchObject({ width: 8, height: 1, channels: 1 });
    expect(Array.from(image.data)).toEqual([0, 255, 128, 0, 255, 0, 191, 64]);
  });

  it('takes the asked-for row and interleaves channels for both layouts', () => {
    // Two rows of a 2×1 RGB image; row 1's pixel p, channel c holds 10·p + c (as bytes, range [0, 255]).
    const rowNhwc = [0, 1, 2, 10, 11, 12];
    const rowNchw = [0, 10, 1, 11, 2, 12];
    const nhwc = Float32Array.from([...rowNhwc.map((v) => v + 100), ...rowNhwc]);
    const nchw = Float32Array.from([...rowNchw.map((v) => v + 100), ...rowNchw]);
    expect(Array.from(outputRowToImage({ data: nhwc, dims: [2, 1, 2, 3] }, 1, 'NHWC', [0, 255]).data)).toEqual(rowNhwc);
    expect(Array.from(outputRowToImage({ data: nchw, dims: [2, 3, 1, 2] }, 1, 'NCHW', [0, 255]).data)).toEqual(rowNhwc);
    expect(Array.from(outputRowToImage({ data: nchw, dims: [2, 3, 1, 2] }, 0, 'NCHW', [0, 255]).data)).toEqual(rowNhwc.map((v) => v + 100));
  });

  it('rejects outputs that are not image batches, and rows outside them', () => {
    expect(() => outputRowToImage({ data: new Float32Array(4), dims: [1, 4] }, 0, 'NCHW', [0, 1])).toThrow(/4-D image output/);
    expect(() => outputRowToImage({ data: new Float32Array(8), dims: [1, 2, 2, 2] }, 0, 'NCHW', [0, 1])).toThrow(/1 or 3 output channels/);
    expect(() => outputRowToImage({ data: new Float32Array(4), dims: [1, 1, 2, 2] }, 1, 'NCHW', [0, 1])).toThrow(/row 1 is outside/);
  });
});
