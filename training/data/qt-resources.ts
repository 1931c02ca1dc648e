/**
 * Reads a Qt binary resource file (`.rcc`, made by `rcc -binary`). GCompris ships each activity's
 * images inside one, so its photos are reachable only through this format:
 *
 *   header  "qres", version, tree offset, data offset, names offset (, flags from version 3)
 *   tree    fixed-size nodes: name offset u32, flags u16, then for a directory child count u32 and
 *           first child index u32, for a file country u16, language u16, data offset u32;
 *           from version 2 a u64 modification time follows
 *   names   length u16, hash u32, UTF-16BE characters
 *   data    length u32, bytes; zlib-compressed entries (flag 1) start with their u32 inflated size
 *
 * All integers are big-endian. zstd-compressed entries (flag 4) are refused.
 */
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';

const COMPRESSED = 0x01;
const DIRECTORY = 0x02;
const COMPRESSED_ZSTD = 0x04;

/** Every file of a resource file by its path (`/gcompris/src/...`), read on demand. */
export interface QtResources {
  paths: string[];
  read(path: string): Buffer;
}

export function parseQtResources(bytes: Buffer, origin = 'resource file'): QtResources {
  if (bytes.length < 20 || bytes.toString('latin1', 0, 4) !== 'qres')
    throw new Error(`${origin}: not a Qt resource file (no "qres" magic)`);
  const version = bytes.readUInt32BE(4);
  if (version < 1 || version > 3) throw new Error(`${origin}: unsupported rcc version ${version}`);
  const treeOffset = bytes.readUInt32BE(8);
  const dataOffset = bytes.readUInt32BE(12);
  const namesOffset = bytes.readUInt32BE(16);
  const nodeSize = version >= 2 ? 22 : 14;

  const nameAt = (offset: number): string => {
    const start = namesOffset + offset;
    const length = bytes.readUInt16BE(start);
    const chars = bytes.subarray(start + 6, start + 6 + 2 * length);
    // UTF-16BE → UTF-16LE for Node's decoder.
    return Buffer.from(chars).swap16().toString('utf16le');
  };

  const files = new Map<string, { flags: number; data: number }>();
  const visit = (index: number, prefix: string, depth: number) => {
    if (depth > 64) throw new Error(`${origin}: resource tree nested too deep`);
    const node = treeOffset + index * nodeSize;
    const flags = bytes.readUInt16BE(node + 4);
    const path = index === 0 ? '' : `${prefix}/${nameAt(bytes.readUInt32BE(node))}`;
    if (flags & DIRECTORY) {
      const count = bytes.readUInt32BE(node + 6);
      const first = bytes.readUInt32BE(node + 10);
      for (let child = first; child < first + count; child++) visit(child, path, depth + 1);
    } else {
      files.set(path, { flags, data: bytes.readUInt32BE(node + 10) });
    }
  };
  visit(0, '', 0);

  return {
    paths: [...files.keys()].sort(),
    read(path) {
      const entry = files.get(path);
      if (entry === undefined) throw new Error(`${origin}: no resource ${path}`);
      if (entry.flags & COMPRESSED_ZSTD) throw new Error(`${origin}: ${path} is zstd-compressed, which this reader does not support`);
      const start = dataOffset + entry.data;
      const payload = bytes.subarray(start + 4, start + 4 + bytes.readUInt32BE(start));
      return entry.flags & COMPRESSED ? inflateSync(payload.subarray(4)) : Buffer.from(payload);
    },
  };
}

export async function readQtResources(file: string): Promise<QtResources> {
  return parseQtResources(await readFile(file), file);
}
