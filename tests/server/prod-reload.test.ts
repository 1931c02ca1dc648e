import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { translateImage } from '../../server/pipeline/translate.ts';
import type { ImageToImageManifest } from '../../server/models/manifest.ts';
import { colourMixModel, imageManifest, rotateAndInvert, tempModelsDir, writeModel, type ColourMix } from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

const IDENTITY: ColourMix = {
  weights: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  bias: [0, 0, 0],
};
// Solid #3366cc: version A (rotate + invert) turns red into 0x66, version B (identity) keeps 0x33.
const RED_A = 0x66;
const RED_B = 0x33;

async function firstRed(png: Buffer | Uint8Array): Promise<number> {
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return data[0]!;
}

describe('model reload', () => {
  let dir: string;
  let server: TestServer;
  let image: Buffer;
  const translate = () =>
    fetch(`${server.url}/v1/models/mix/translate`, {
      method: 'POST',
      body: new Uint8Array(image),
      headers: { 'Content-Type': 'image/png' },
    });
  const reload = () => fetch(`${server.url}/v1/models/mix/reload`, { method: 'POST' });
  const writeVersion = (mix: ColourMix | 'corrupt') =>
    writeModel(dir, 'mix', imageManifest('mix'), mix === 'corrupt' ? 'this is not an onnx file' : colourMixModel('NCHW', mix));

  beforeAll(async () => {
    dir = tempModelsDir();
    writeVersion(rotateAndInvert([-1, 1]));
    image = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    server = await startTestServer(dir, { INFERENCE_WORKERS: '1' });
  });
  afterAll(async () => server?.close());

  it('swaps in a new version; requests that hold the old version finish on it, then the old sessions are freed', async () => {
    expect(await firstRed(Buffer.from(await (await translate()).arrayBuffer()))).toBe(RED_A);
    const old = server.repository.get('mix')!;
    // What the translate route does once it has resolved the model: these hold version A.
    const holding = Array.from({ length: 6 }, () =>
      translateImage(image, { name: old.poolKey, manifest: old.manifest as ImageToImageManifest }, server.pool, {
        format: 'png',
        maxPixels: 1e7,
      }),
    );
    writeVersion(IDENTITY);
    const res = await reload();
    expect(res.status).toBe(200);
    const body = (await res.json()) as { reloaded: boolean; model: { status: string; provider: string } };
    expect(body).toMatchObject({ reloaded: true, model: { status: 'ready', provider: 'cpu' } });

    for (const done of await Promise.all(holding)) expect(await firstRed(done.body)).toBe(RED_A);
    expect(await firstRed(Buffer.from(await (await translate()).arrayBuffer()))).toBe(RED_B);
    // The old version's sessions leave the pool once idle.
    const deadline = Date.now() + 5000;
    while (server.pool.loads().some((l) => l.model === old.poolKey) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(server.pool.loads().map((l) => l.model)).toEqual([server.repository.get('mix')!.poolKey]);
    // A request that picked version A but reaches the pool only now runs on its successor.
    const late = await translateImage(image, { name: old.poolKey, manifest: old.manifest as ImageToImageManifest }, server.pool, {
      format: 'png',
      maxPixels: 1e7,
    });
    expect(await firstRed(late.body)).toBe(RED_B);
  });

  it('serves every request through a reload under load, without an error', async () => {
    writeVersion(rotateAndInvert([-1, 1]));
    const requests = Array.from({ length: 12 }, () => translate());
    const swap = reload();
    const statuses = await Promise.all(requests.map(async (r) => (await r).status));
    expect((await swap).status).toBe(200);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await firstRed(Buffer.from(await (await translate()).arrayBuffer()))).toBe(RED_A);
  });

  it('keeps the old version serving when the new one is broken, and says why in the response and the listing', async () => {
    for (const broken of ['corrupt', 'manifest'] as const) {
      if (broken === 'corrupt') writeVersion('corrupt');
      else writeFileSync(path.join(dir, 'mix', 'model.json'), '{"name": "mix", "task": "image-to-image"');
      const res = await reload();
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await res.json()) as {
        type: string;
        detail: string;
        model: { status: string; lastReloadError: { reason: string } };
      };
      expect(problem.type).toBe('urn:ganserve:problem:reload-failed');
      expect(problem.detail).toMatch(broken === 'corrupt' ? /could not be loaded/ : /not valid JSON/);
      expect(problem.model.status).toBe('ready');

      expect(await firstRed(Buffer.from(await (await translate()).arrayBuffer()))).toBe(RED_A);
      const listed = (await (await fetch(`${server.url}/v1/models`)).json()) as {
        models: Array<{ name: string; status: string; lastReloadError?: { reason: string; at: string } }>;
      };
      const mix = listed.models.find((m) => m.name === 'mix')!;
      expect(mix.status).toBe('ready');
      expect(mix.lastReloadError?.reason).toBe(problem.model.lastReloadError.reason);
      expect(Date.parse(mix.lastReloadError!.at)).not.toBeNaN();
    }
    // A good version afterwards clears the error.
    writeVersion(IDENTITY);
    expect((await reload()).status).toBe(200);
    const entry = (await (await fetch(`${server.url}/v1/models/mix`)).json()) as Record<string, unknown>;
    expect(entry.lastReloadError).toBeUndefined();
    expect(await firstRed(Buffer.from(await (await translate()).arrayBuffer()))).toBe(RED_B);
  });

  it('answers 404 for a name with no model folder', async () => {
    const res = await fetch(`${server.url}/v1/models/nothing-here/reload`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await fetch(`${server.url}/v1/models/..%2Fetc/reload`, { method: 'POST' })).status).toBe(404);
  });
});

describe('MODELS_WATCH=1', () => {
  it('reloads a model when its folder changes, keeps the old version on a broken change, and picks up new folders', async () => {
    const dir = tempModelsDir();
    writeModel(dir, 'mix', imageManifest('mix'), colourMixModel('NCHW', rotateAndInvert([-1, 1])));
    const image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    const server = await startTestServer(dir, { MODELS_WATCH: '1', MODELS_WATCH_DEBOUNCE_MS: '100' });
    const redOf = async (model: string) => {
      const res = await fetch(`${server.url}/v1/models/${model}/translate`, {
        method: 'POST',
        body: new Uint8Array(image),
        headers: { 'Content-Type': 'image/png' },
      });
      return res.status === 200 ? firstRed(Buffer.from(await res.arrayBuffer())) : res.status;
    };
    const eventually = async (check: () => Promise<boolean>) => {
      const deadline = Date.now() + 10_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the watcher');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      expect(await redOf('mix')).toBe(RED_A);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the watcher starts once loading is done
      writeModel(dir, 'mix', imageManifest('mix'), colourMixModel('NCHW', IDENTITY));
      await eventually(async () => (await redOf('mix')) === RED_B);

      writeModel(dir, 'mix', imageManifest('mix'), 'not onnx');
      await eventually(async () => {
        const entry = (await (await fetch(`${server.url}/v1/models/mix`)).json()) as { lastReloadError?: { reason: string } };
        return /could not be loaded/.test(entry.lastReloadError?.reason ?? '');
      });
      expect(await redOf('mix')).toBe(RED_B);

      writeModel(dir, 'added', imageManifest('added'), colourMixModel('NCHW', rotateAndInvert([-1, 1])));
      await eventually(async () => (await redOf('added')) === RED_A);
    } finally {
      await server.close();
    }
  }, 30_000);
});
