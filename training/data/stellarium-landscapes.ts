/**
 * Stellarium's landscapes as photos. A landscape is a 360° panorama photographed on site, cut
 * into side textures (`tex0` … in landscape.ini, type old_style) or one map (`maptex`, types
 * spherical and fisheye), with the sky cut out as transparency so the planetarium can draw its own.
 *
 * Transparent pixels are no colour at all: flattening them onto a background would teach a sky of
 * that background's colour. So a panorama becomes photos of its ground: the textures joined left
 * to right, keeping only the rows below the lowest transparent pixel of any texture, cut into
 * frames no wider than twice their height (a 4096×455 band would otherwise be downscaled by its
 * long side to a strip thinner than a training crop).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

export interface StellariumLandscape {
  name: string;
  author?: string;
  /** Texture files in panorama order. */
  textures: string[];
}

/** Reads `<dir>/landscape.ini`: its name, author and textures in panorama order. */
export async function readLandscape(dir: string): Promise<StellariumLandscape> {
  const fields = new Map<string, string>();
  for (const line of (await readFile(join(dir, 'landscape.ini'), 'utf8')).split('\n')) {
    const match = /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && !fields.has(match[1]!)) fields.set(match[1]!, match[2]!);
  }
  const type = fields.get('type');
  let textures: string[];
  if (type === 'old_style') {
    const count = Number(fields.get('nbsidetex'));
    if (!Number.isInteger(count) || count < 1) throw new Error(`${dir}: landscape.ini has no valid nbsidetex`);
    textures = Array.from({ length: count }, (_, i) => {
      const texture = fields.get(`tex${i}`);
      if (texture === undefined) throw new Error(`${dir}: landscape.ini lacks tex${i}`);
      return join(dir, texture);
    });
  } else if (type === 'spherical' || type === 'fisheye') {
    const map = fields.get('maptex');
    if (map === undefined) throw new Error(`${dir}: landscape.ini lacks maptex`);
    textures = [join(dir, map)];
  } else {
    throw new Error(`${dir}: landscape type "${type ?? ''}" has no photo textures`);
  }
  const author = fields.get('author');
  return { name: fields.get('name') ?? dir, ...(author ? { author } : {}), textures };
}

export interface RgbRaster {
  width: number;
  height: number;
  /** RGB bytes, row-major. */
  data: Buffer;
}

/** The rows of every texture below the lowest transparent pixel of any of them, joined left to right. */
export async function opaqueGround(textures: string[]): Promise<RgbRaster> {
  const decoded = await Promise.all(textures.map((file) => sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true })));
  const height = decoded[0]!.info.height;
  if (decoded.some((d) => d.info.height !== height)) throw new Error(`textures of different heights: ${textures.join(', ')}`);
  let top = 0;
  for (const { data, info } of decoded) {
    for (let p = 0; p < info.width * info.height; p++) if (data[p * 4 + 3]! < 255) top = Math.max(top, Math.floor(p / info.width) + 1);
  }
  if (top >= height) throw new Error(`no fully opaque row below the sky in ${textures.join(', ')}`);
  const width = decoded.reduce((sum, d) => sum + d.info.width, 0);
  const band = height - top;
  const out = Buffer.alloc(width * band * 3);
  let left = 0;
  for (const { data, info } of decoded) {
    for (let y = 0; y < band; y++) {
      for (let x = 0; x < info.width; x++) {
        const from = ((top + y) * info.width + x) * 4;
        data.copy(out, (y * width + left + x) * 3, from, from + 3);
      }
    }
    left += info.width;
  }
  return { width, height: band, data: out };
}

/** Left edge and width of each frame: ⌈width / (maxAspect · height)⌉ frames of (nearly) equal width. */
export function frameColumns(width: number, height: number, maxAspect = 2): { left: number; width: number }[] {
  const count = Math.max(1, Math.ceil(width / (maxAspect * height)));
  return Array.from({ length: count }, (_, i) => {
    const left = Math.round((i * width) / count);
    return { left, width: Math.round(((i + 1) * width) / count) - left };
  });
}
