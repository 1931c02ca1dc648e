/**
 * Is an embedded ICC profile plain sRGB? Many photos carry one (46 of the 175 JPEGs in the Debian
 * wallpaper and game packages, in four different encodings), and converting sRGB to sRGB changes
 * nothing: libvips gave the same pixels with those profiles as without them. Such a JPEG can take
 * the libjpeg-turbo path like an untagged one (see jpeg.ts).
 *
 * A profile counts as sRGB when it is an RGB matrix/TRC profile (no lookup tables, which a
 * perceptual transform would use instead) whose colorants are sRGB's within 0.002 and whose three
 * tone curves decode every 8-bit code to a value that sRGB's own curve encodes back to that code.
 * Anything malformed or unusual is not sRGB, and goes through libvips.
 */

/** sRGB's primaries, adapted to the D50 connection space as profiles store them (rXYZ, gXYZ, bXYZ). */
const SRGB_COLORANTS: Record<string, [number, number, number]> = {
  rXYZ: [0.4361, 0.2225, 0.0139],
  gXYZ: [0.3851, 0.7169, 0.0971],
  bXYZ: [0.1431, 0.0606, 0.7141],
};
const COLORANT_TOLERANCE = 0.002;
const TONE_CURVES = ['rTRC', 'gTRC', 'bTRC'];

/** sRGB's encoding: linear light (0–1) → encoded value (0–1). */
function srgbEncode(linear: number): number {
  return linear <= 0.0031308 ? 12.92 * linear : 1.055 * linear ** (1 / 2.4) - 0.055;
}

/** A tone curve: encoded value (0–1) → linear light. */
type ToneCurve = (encoded: number) => number;

/** The four-character signature (a tag's name or type) at `at`. */
function signature(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** Whether `icc` is an sRGB profile (see above); false for anything malformed, never a throw. */
export function isSrgbProfile(icc: Uint8Array): boolean {
  try {
    return matchesSrgb(icc);
  } catch {
    return false; // a read past a tag's end that the bounds checks missed
  }
}

function matchesSrgb(icc: Uint8Array): boolean {
  if (icc.length < 132) return false;
  const view = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
  if (signature(icc, 16) !== 'RGB ' || signature(icc, 20) !== 'XYZ ') return false;
  const count = view.getUint32(128);
  if (132 + 12 * count > icc.length) return false;
  const tags = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const entry = 132 + 12 * i;
    const offset = view.getUint32(entry + 4);
    const size = view.getUint32(entry + 8);
    if (offset + size > icc.length) return false;
    tags.set(signature(icc, entry), icc.subarray(offset, offset + size));
  }
  if ([...tags.keys()].some((name) => /^(A2B|B2A|D2B|B2D)/.test(name))) return false;
  for (const [name, expected] of Object.entries(SRGB_COLORANTS)) {
    const xyz = tags.get(name);
    if (!xyz || xyz.length < 20 || signature(xyz, 0) !== 'XYZ ') return false;
    const values = new DataView(xyz.buffer, xyz.byteOffset + 8, 12);
    for (let c = 0; c < 3; c++) if (Math.abs(values.getInt32(4 * c) / 65536 - expected[c]!) > COLORANT_TOLERANCE) return false;
  }
  return TONE_CURVES.every((name) => {
    const tag = tags.get(name);
    const curve = tag ? toneCurve(tag) : null;
    if (!curve) return false;
    for (let code = 0; code <= 255; code++) {
      if (Math.abs(255 * srgbEncode(Math.min(1, Math.max(0, curve(code / 255)))) - code) > 0.5) return false;
    }
    return true;
  });
}

/** The function of a 'curv' (sampled) or 'para' (parametric) tag, or null for anything else. */
function toneCurve(tag: Uint8Array): ToneCurve | null {
  if (tag.length < 12) return null;
  const view = new DataView(tag.buffer, tag.byteOffset, tag.byteLength);
  const type = signature(tag, 0);
  if (type === 'curv') {
    const points = view.getUint32(8);
    if (12 + 2 * points > tag.length) return null;
    if (points === 0) return (x) => x;
    if (points === 1) {
      const gamma = view.getUint16(12) / 256;
      return (x) => x ** gamma;
    }
    const sample = (i: number) => view.getUint16(12 + 2 * i) / 65535;
    return (x) => {
      const position = x * (points - 1);
      const below = Math.min(points - 2, Math.floor(position));
      return sample(below) + (position - below) * (sample(below + 1) - sample(below));
    };
  }
  if (type === 'para') {
    const kind = view.getUint16(8);
    const arity = [1, 3, 4, 5, 7][kind];
    if (arity === undefined || 12 + 4 * arity > tag.length) return null;
    const [g, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = Array.from({ length: arity }, (_, i) => view.getInt32(12 + 4 * i) / 65536);
    switch (kind) {
      case 0:
        return (x) => x ** g!;
      case 1:
        return (x) => (x >= -b / a ? (a * x + b) ** g! : 0);
      case 2:
        return (x) => (x >= -b / a ? (a * x + b) ** g! + c : c);
      case 3:
        return (x) => (x >= d ? (a * x + b) ** g! : c * x);
      default:
        return (x) => (x >= d ? (a * x + b) ** g! + e : c * x + f);
    }
  }
  return null;
}
