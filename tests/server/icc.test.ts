import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isSrgbProfile } from '../../server/imaging/icc.ts';
import { mulberry32 } from '../helpers/image-models.ts';

/** sRGB's decoding curve (encoded 0–1 → linear), to sample into a 'curv' tag. */
const srgbDecode = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);

const fixed = (value: number) => Math.round(value * 65536);

function xyzTag([x, y, z]: [number, number, number]): Buffer {
  const tag = Buffer.alloc(20);
  tag.write('XYZ ', 0, 'latin1');
  [x, y, z].forEach((value, i) => tag.writeInt32BE(fixed(value), 8 + 4 * i));
  return tag;
}

/** A 'curv' tag: no points (identity), one (a gamma), or a sampled table. */
function curvTag(points: number[] | { gamma: number }): Buffer {
  const values = Array.isArray(points) ? points.map((p) => Math.round(p * 65535)) : [Math.round(points.gamma * 256)];
  const tag = Buffer.alloc(12 + 2 * values.length);
  tag.write('curv', 0, 'latin1');
  tag.writeUInt32BE(values.length, 8);
  values.forEach((value, i) => tag.writeUInt16BE(value, 12 + 2 * i));
  return tag;
}

function paraTag(kind: number, params: number[]): Buffer {
  const tag = Buffer.alloc(12 + 4 * params.length);
  tag.write('para', 0, 'latin1');
  tag.writeUInt16BE(kind, 8);
  params.forEach((value, i) => tag.writeInt32BE(fixed(value), 12 + 4 * i));
  return tag;
}

/** A display profile with these tags (header fields other than the colour spaces left zero). */
function profile(tags: Record<string, Buffer>, colourSpace = 'RGB '): Buffer {
  const entries = Object.entries(tags);
  let offset = 132 + 12 * entries.length;
  const table = Buffer.alloc(4 + 12 * entries.length);
  table.writeUInt32BE(entries.length, 0);
  entries.forEach(([signature, data], i) => {
    table.write(signature, 4 + 12 * i, 'latin1');
    table.writeUInt32BE(offset, 8 + 12 * i);
    table.writeUInt32BE(data.length, 12 + 12 * i);
    offset += data.length;
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.write('mntr', 12, 'latin1');
  header.write(colourSpace, 16, 'latin1');
  header.write('XYZ ', 20, 'latin1');
  return Buffer.concat([header, table, ...entries.map(([, data]) => data)]);
}

const SRGB_PRIMARIES = {
  rXYZ: xyzTag([0.43607, 0.22249, 0.01392]),
  gXYZ: xyzTag([0.38515, 0.71687, 0.09708]),
  bXYZ: xyzTag([0.14307, 0.06061, 0.7141]),
};
const curves = (curve: Buffer) => ({ rTRC: curve, gTRC: curve, bTRC: curve });
const SRGB_PARAMETRIC = paraTag(3, [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045]);

async function embeddedProfile(name: string): Promise<Buffer> {
  const jpeg = await sharp(Buffer.alloc(8 * 8 * 3, 128), { raw: { width: 8, height: 8, channels: 3 } })
    .withIccProfile(name)
    .jpeg()
    .toBuffer();
  return (await sharp(jpeg).metadata()).icc!;
}

describe('isSrgbProfile', () => {
  it('knows sRGB as sharp embeds it, and tells Display P3 and CMYK apart', async () => {
    expect(isSrgbProfile(await embeddedProfile('srgb'))).toBe(true);
    expect(isSrgbProfile(await embeddedProfile('p3'))).toBe(false);
    expect(isSrgbProfile(await embeddedProfile('cmyk'))).toBe(false);
  });

  it('takes sRGB tone curves in either form: parametric, or sampled at 1024 points', () => {
    expect(isSrgbProfile(profile({ ...SRGB_PRIMARIES, ...curves(SRGB_PARAMETRIC) }))).toBe(true);
    const sampled = curvTag(Array.from({ length: 1024 }, (_, i) => srgbDecode(i / 1023)));
    expect(isSrgbProfile(profile({ desc: Buffer.alloc(16), ...SRGB_PRIMARIES, ...curves(sampled) }))).toBe(true);
  });

  it('refuses near misses: a plain gamma, linear curves, other primaries, lookup tables, not RGB', () => {
    const cases: Record<string, Buffer> = {
      'gamma 2.2 (curv)': profile({ ...SRGB_PRIMARIES, ...curves(curvTag({ gamma: 2.2 })) }),
      'gamma 2.2 (para)': profile({ ...SRGB_PRIMARIES, ...curves(paraTag(0, [2.2])) }),
      linear: profile({ ...SRGB_PRIMARIES, ...curves(curvTag([])) }),
      'one curve off': profile({ ...SRGB_PRIMARIES, rTRC: SRGB_PARAMETRIC, gTRC: SRGB_PARAMETRIC, bTRC: paraTag(0, [2.4]) }),
      'P3 red': profile({ ...SRGB_PRIMARIES, rXYZ: xyzTag([0.5151, 0.2412, -0.0011]), ...curves(SRGB_PARAMETRIC) }),
      'red off by 0.003': profile({ ...SRGB_PRIMARIES, rXYZ: xyzTag([0.43907, 0.22249, 0.01392]), ...curves(SRGB_PARAMETRIC) }),
      'no blue colorant': profile({ rXYZ: SRGB_PRIMARIES.rXYZ, gXYZ: SRGB_PRIMARIES.gXYZ, ...curves(SRGB_PARAMETRIC) }),
      'an A2B0 table': profile({ ...SRGB_PRIMARIES, ...curves(SRGB_PARAMETRIC), A2B0: Buffer.alloc(32) }),
      'grey colour space': profile({ ...SRGB_PRIMARIES, ...curves(SRGB_PARAMETRIC) }, 'GRAY'),
    };
    for (const [why, icc] of Object.entries(cases)) expect([why, isSrgbProfile(icc)]).toEqual([why, false]);
  });

  it('never throws on damaged bytes: cut, or with bytes changed anywhere', async () => {
    const srgb = await embeddedProfile('srgb');
    const random = mulberry32(5);
    for (let i = 0; i < 2000; i++) {
      const damaged = Buffer.from(srgb.subarray(0, Math.floor(random() * (srgb.length + 1))));
      for (let k = 0; k < 3; k++) if (damaged.length > 0) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
      expect(typeof isSrgbProfile(damaged)).toBe('boolean');
    }
  });
});
