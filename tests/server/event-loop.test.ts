import { monitorEventLoopDelay } from 'node:perf_hooks';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyConvModel, imageManifest, mulberry32, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

let server: TestServer;
let jpeg: Buffer;

beforeAll(async () => {
  const dir = tempModelsDir();
  writeModel(dir, 'busy', imageManifest('busy', { maxSide: 1024 }), busyConvModel(96)); // heavy enough that a run outlasts the per-request pixel conversions
  server = await startTestServer(dir, { INFERENCE_WORKERS: '2', INFERENCE_THREADS: '1', QUEUE_LIMIT: '16' });
  const random = mulberry32(3);
  const pixels = Buffer.from(Array.from({ length: 1024 * 1024 * 3 }, () => Math.floor(random() * 256)));
  jpeg = await sharp(pixels, { raw: { width: 1024, height: 1024, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
});
afterAll(() => server?.close());

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

describe('inference runs off the event loop', () => {
  it('/healthz keeps answering while 8 concurrent 1024² translates keep the CPU busy', async () => {
    // The server runs in this process, so its event loop delay is measured directly.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const started = performance.now();
    let done = false;
    const translates = Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${server.url}/v1/models/busy/translate?format=jpeg`, {
          method: 'POST',
          body: new Uint8Array(jpeg),
          headers: { 'Content-Type': 'image/jpeg' },
        }).then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        }),
      ),
    ).finally(() => (done = true));

    const latencies: number[] = [];
    while (!done) {
      const t = performance.now();
      const res = await fetch(`${server.url}/healthz`);
      await res.text();
      if (!done) latencies.push(performance.now() - t);
      expect(res.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const statuses = await translates;
    const loadMs = performance.now() - started;
    loopDelay.disable();
    const maxLoopDelayMs = loopDelay.max / 1e6;
    expect(statuses).toEqual(Array(8).fill(200));
    // A loop blocked by session.run would stall for a whole run at a time and hold each probe
    // until the run ends (probe latency spread over 0..runMs, median runMs/2). A free loop only
    // stalls for the per-request pixel conversions. The bounds are relative to the run time so
    // they hold on fast and on heavily shared machines alike.
    const runMs = loadMs / 4; // 8 requests on 2 workers: 4 waves
    expect(maxLoopDelayMs).toBeLessThan(runMs / 2);
    const sorted = [...latencies].sort((a, b) => a - b);
    expect(sorted.length).toBeGreaterThan(5);
    expect(percentile(sorted, 0.5)).toBeLessThan(Math.min(150, runMs / 4));
    expect(percentile(sorted, 0.9)).toBeLessThan(runMs / 2);
  });
});
