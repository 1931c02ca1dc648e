/**
 * Fuzzing the HTTP surface of a real server: mutated uploads (bit flips, truncations, header
 * edits of valid JPEG, PNG and WebP files) to translate, and random JSON bodies and query strings
 * to every documented operation. No answer may be a 5xx, the process must stay healthy, and its
 * memory must stay bounded. Mutations come from a seeded PRNG, so a failure replays exactly.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_DOCUMENT } from '../../server/http/openapi.ts';
import { colourMixModel, imageManifest, mulberry32, rotateAndInvert, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { exactLabelGenerator, exactTextGenerator, writeModelFolder } from '../helpers/generator-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

const UPLOADS = 1200;
const JSON_REQUESTS = 600;
const CONCURRENCY = 6;
/** Growth allowed over the warmed-up resident set (workers included: they share the process). */
const RSS_GROWTH_LIMIT_BYTES = 200 * 1024 * 1024;

const random = mulberry32(20261126);
const randomInt = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)]!;

let server: TestServer;
let seeds: Array<{ mime: string; bytes: Buffer }>;

beforeAll(async () => {
  const modelsDir = tempModelsDir();
  writeModel(modelsDir, 'photo', imageManifest('photo', { maxSide: 96 }), colourMixModel('NCHW', rotateAndInvert([-1, 1])));
  const digits = exactLabelGenerator({ name: 'digits', side: 6 });
  await writeModelFolder(modelsDir, digits.manifest, digits.onnx);
  const text = exactTextGenerator({ name: 'text', side: 6, vocabulary: ['a', 'thick', 'seven'], maxTokens: 4 });
  await writeModelFolder(modelsDir, text.manifest, text.onnx, text.files);
  server = await startTestServer(modelsDir, { QUEUE_LIMIT: '1000' });

  const pixels = Buffer.alloc(40 * 30 * 4);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + (i >> 7)) % 256;
  const image = () => sharp(pixels, { raw: { width: 40, height: 30, channels: 4 } });
  seeds = [
    { mime: 'image/jpeg', bytes: await image().jpeg({ quality: 80 }).toBuffer() },
    { mime: 'image/jpeg', bytes: await image().jpeg({ progressive: true }).withMetadata({ orientation: 6 }).toBuffer() },
    { mime: 'image/png', bytes: await image().png().toBuffer() },
    { mime: 'image/png', bytes: await image().png({ palette: true }).toBuffer() },
    { mime: 'image/webp', bytes: await image().webp().toBuffer() },
    { mime: 'image/webp', bytes: await image().webp({ lossless: true }).toBuffer() },
  ];
}, 60_000);
afterAll(() => server?.close());

/** Sets the big-endian uint32 at `offset`, if the buffer is long enough. */
function writeUint32(bytes: Buffer, offset: number, value: number): void {
  if (bytes.length >= offset + 4) bytes.writeUInt32BE(value >>> 0, offset);
}

/** Rewrites the declared dimensions in the format's header: tiny, huge or zero. */
function editDimensions(bytes: Buffer, mime: string): void {
  const dimension = pick([0, 1, 65535, 0xffffffff, randomInt(100_000)]);
  if (mime === 'image/png') {
    writeUint32(bytes, 16, dimension); // IHDR width
    writeUint32(bytes, 20, pick([0, 1, 65535, dimension])); // IHDR height
  } else if (mime === 'image/jpeg') {
    for (let i = 2; i + 8 < bytes.length; i++) {
      if (bytes[i] === 0xff && (bytes[i + 1] === 0xc0 || bytes[i + 1] === 0xc2)) {
        bytes.writeUInt16BE(dimension & 0xffff, i + 5);
        bytes.writeUInt16BE(pick([0, 1, 65535]), i + 7);
        return;
      }
    }
  } else if (bytes.length > 30) {
    bytes.writeUInt16LE(dimension & 0xffff, 26); // VP8 frame width (lossy) / VP8L bits
    bytes.writeUInt16LE(pick([0, 0x3fff, 0xffff]), 28);
  }
}

/** One mutation of a valid image: bit flips, a truncation, a header edit, or several at once. */
function mutate(seed: { mime: string; bytes: Buffer }): Buffer {
  let bytes = Buffer.from(seed.bytes);
  const operations = 1 + randomInt(3);
  for (let op = 0; op < operations; op++) {
    switch (randomInt(5)) {
      case 0: // bit flips anywhere
        for (let i = 0, n = 1 + randomInt(16); i < n; i++) bytes[randomInt(bytes.length)]! ^= 1 << randomInt(8);
        break;
      case 1: // truncation
        bytes = bytes.subarray(0, randomInt(bytes.length));
        break;
      case 2: // header bytes overwritten
        for (let i = 0, n = 1 + randomInt(4); i < n; i++) bytes[randomInt(Math.min(64, bytes.length))] = randomInt(256);
        break;
      case 3:
        editDimensions(bytes, seed.mime);
        break;
      default: // a chunk duplicated or appended garbage
        bytes = Buffer.concat([
          bytes,
          bytes.subarray(randomInt(bytes.length)),
          Buffer.from(Array.from({ length: randomInt(64) }, () => randomInt(256))),
        ]);
    }
    if (bytes.length === 0) break;
  }
  return bytes;
}

/** A random JSON value, biased towards the generate fields and their edge values. */
function randomJson(depth = 0): unknown {
  const scalars = [
    0,
    -1,
    1,
    7,
    64,
    65,
    2 ** 32,
    2 ** 53,
    1.5,
    -0.0,
    1e308,
    '',
    '7',
    'seven',
    'a thick seven',
    'x'.repeat(2000),
    true,
    false,
    null,
  ];
  if (depth > 2) return pick(scalars);
  switch (randomInt(4)) {
    case 0: {
      const keys = [
        'label',
        'labels',
        'prompt',
        'count',
        'seed',
        'format',
        'scale',
        '__proto__',
        'constructor',
        'image',
        String(randomInt(9)),
      ];
      return Object.fromEntries(Array.from({ length: randomInt(5) }, () => [pick(keys), randomJson(depth + 1)]));
    }
    case 1:
      return Array.from({ length: randomInt(70) }, () => randomJson(depth + 1));
    case 2:
      return pick(['png', 'jpeg', 'webp', 'gif', 'PNG']);
    default:
      return pick(scalars);
  }
}

/** A random query string on the generate/translate parameter names. */
function randomQuery(): string {
  const names = ['label', 'prompt', 'count', 'seed', 'format', 'scale', 'quality', 'max_side', 'x'];
  const values = ['', '0', '-1', '7', '65', '1e3', '4294967296', 'png', 'gif', 'seven', '%ZZ', 'a+thick+seven', '[]'];
  const parts = Array.from({ length: randomInt(4) }, () => `${pick(names)}=${pick(values)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

interface Outcome {
  label: string;
  status: number;
}

/** Runs the requests with bounded concurrency, keeping each one's status. */
async function runAll(requests: Array<() => Promise<Outcome>>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests.length) outcomes.push(await requests[next++]!());
    }),
  );
  return outcomes;
}

async function send(label: string, path: string, init: RequestInit): Promise<Outcome> {
  const response = await fetch(server.url + path, init);
  await response.arrayBuffer();
  return { label, status: response.status };
}

describe('fuzzing', () => {
  it(`answers ${UPLOADS} mutated uploads and ${JSON_REQUESTS} random JSON requests without a 5xx, within bounded memory`, async () => {
    // Warm up (worker sessions, allocator pools) before the baseline.
    await runAll(
      seeds.map(
        (s) => () =>
          send('warm', '/v1/models/photo/translate', {
            method: 'POST',
            body: new Uint8Array(s.bytes),
            headers: { 'Content-Type': s.mime },
          }),
      ),
    );
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    let halfwayRss = baselineRss;

    const uploads = Array.from({ length: UPLOADS }, (_, i) => {
      const seed = pick(seeds);
      const body = mutate(seed);
      const asMultipart = i % 4 === 0;
      const declared = pick([seed.mime, seed.mime, 'image/png', 'image/gif', 'application/octet-stream']);
      return async () => {
        if (i % 50 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (i === UPLOADS / 2) halfwayRss = process.memoryUsage().rss;
        if (asMultipart) {
          const form = new FormData();
          form.append('image', new Blob([new Uint8Array(body)], { type: declared }), 'fuzz.bin');
          return send(`multipart #${i}`, `/v1/models/photo/translate${randomQuery()}`, { method: 'POST', body: form });
        }
        return send(`raw #${i} ${declared}`, `/v1/models/photo/translate${randomQuery()}`, {
          method: 'POST',
          body: new Uint8Array(body),
          headers: { 'Content-Type': declared },
        });
      };
    });

    const operations = Object.entries(OPENAPI_DOCUMENT.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => ({ path, method: method.toUpperCase() })),
    );
    const names = ['photo', 'digits', 'text', 'nope', '..%2F..', 'a'.repeat(80)];
    const jsonRequests = Array.from({ length: JSON_REQUESTS }, (_, i) => {
      const operation = operations[i % operations.length]!;
      // Reload only unknown names: reloading served models is not what this test exercises.
      const name = operation.path.endsWith('/reload') ? pick(['nope', 'a'.repeat(80)]) : pick(names);
      const path = operation.path.replace('{name}', name) + randomQuery();
      const malformed = i % 7 === 0;
      const body = malformed ? pick(['{', '{"label": 7,}', 'null', '"', '{"label": 7}'.repeat(3), '\u0000']) : JSON.stringify(randomJson());
      const init: RequestInit =
        operation.method === 'GET'
          ? { method: 'GET', headers: { Accept: pick(['application/json', 'image/*', '*/*', 'text/html']) } }
          : {
              method: operation.method,
              body,
              headers: {
                'Content-Type': pick(['application/json', 'application/json', 'text/plain', 'image/png']),
                Accept: pick(['application/json', 'image/png']),
              },
            };
      return () => send(`${init.method} ${path} ${malformed ? 'malformed' : ''}`, path, init);
    });

    const started = Date.now();
    const outcomes = await runAll([...uploads, ...jsonRequests]);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    expect(outcomes).toHaveLength(UPLOADS + JSON_REQUESTS);
    expect(outcomes.filter((o) => o.status >= 500)).toEqual([]);
    // The mutations reach both the rejecting and the accepting paths.
    expect(outcomes.some((o) => o.status === 200)).toBe(true);
    for (const status of [400, 404, 415, 422])
      expect(
        outcomes.some((o) => o.status === status),
        `some ${status}`,
      ).toBe(true);

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const translated = await fetch(`${server.url}/v1/models/photo/translate`, {
      method: 'POST',
      body: new Uint8Array(seeds[0]!.bytes),
      headers: { 'Content-Type': 'image/jpeg' },
    });
    expect(translated.status).toBe(200);
    expect(peakRss - baselineRss).toBeLessThan(RSS_GROWTH_LIMIT_BYTES);
    // A per-request leak would keep growing; allocator warm-up levels off by the second half.
    const endRss = process.memoryUsage().rss;
    expect(endRss - halfwayRss).toBeLessThan(RSS_GROWTH_LIMIT_BYTES / 2);
    console.info(
      `fuzz: ${outcomes.length} requests in ${Date.now() - started} ms; rss baseline ${(baselineRss / 2 ** 20).toFixed(0)} MiB, peak +${((peakRss - baselineRss) / 2 ** 20).toFixed(0)} MiB, halfway → end ${((endRss - halfwayRss) / 2 ** 20).toFixed(0)} MiB`,
    );
  }, 60_000);
});
