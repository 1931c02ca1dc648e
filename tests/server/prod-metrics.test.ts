import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourMixModel, imageManifest, rotateAndInvert, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { exactLabelGenerator, writeModelFolder } from '../helpers/generator-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

/** The value of one sample line `name{labels} value` in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inside = /\{(.*)\}/.exec(line)?.[1]?.split(',') ?? [];
    if (want.every((w) => inside.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics', () => {
  let server: TestServer;
  let other: TestServer;
  beforeAll(async () => {
    const dir = tempModelsDir();
    writeModel(dir, 'mix', imageManifest('mix'), colourMixModel('NCHW', rotateAndInvert([-1, 1])));
    const generator = exactLabelGenerator({ name: 'digits' });
    await writeModelFolder(dir, generator.manifest, generator.onnx);
    server = await startTestServer(dir);
    // A second server in the same process: each app has its own registry, so both start.
    other = await startTestServer(dir);
  });
  afterAll(async () => {
    await server?.close();
    await other?.close();
  });

  it('counts requests by model, endpoint and status, and times queue, inference and encode per model', async () => {
    const png = await sharp({ create: { width: 20, height: 12, channels: 3, background: '#369' } })
      .png()
      .toBuffer();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${server.url}/v1/models/mix/translate`, {
        method: 'POST',
        body: png,
        headers: { 'Content-Type': 'image/png' },
      });
      expect(res.status).toBe(200);
    }
    expect(
      (await fetch(`${server.url}/v1/models/mix/translate`, { method: 'POST', body: 'nope', headers: { 'Content-Type': 'image/png' } }))
        .status,
    ).toBe(415);
    expect((await fetch(`${server.url}/v1/models/nosuch/translate`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${server.url}/v1/models/digits/generate?label=3&count=5&seed=1`)).status).toBe(200);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();

    expect(sample(text, 'ganserve_inference_request_total', { model: 'mix', endpoint: 'translate', status: '200' })).toBe(3);
    expect(sample(text, 'ganserve_inference_request_total', { model: 'mix', endpoint: 'translate', status: '415' })).toBe(1);
    // An unknown model name does not become a label value (bounded cardinality).
    expect(sample(text, 'ganserve_inference_request_total', { model: '', endpoint: 'translate', status: '404' })).toBe(1);
    expect(text).not.toContain('nosuch');
    expect(sample(text, 'ganserve_inference_request_total', { model: 'digits', endpoint: 'generate', status: '200' })).toBe(1);

    expect(sample(text, 'ganserve_inference_queue_duration_seconds_count', { model: 'mix' })).toBe(3);
    expect(sample(text, 'ganserve_inference_compute_duration_seconds_count', { model: 'mix' })).toBe(3);
    expect(sample(text, 'ganserve_inference_compute_duration_seconds_sum', { model: 'mix' })).toBeGreaterThan(0);
    expect(sample(text, 'ganserve_encode_duration_seconds_count', { model: 'mix' })).toBe(3);
    expect(sample(text, 'ganserve_encode_duration_seconds_count', { model: 'digits' })).toBe(1);
    expect(sample(text, 'ganserve_request_duration_seconds_count', { model: 'mix', endpoint: 'translate' })).toBe(4);

    // One generate request of 5 images ran as one batch of 5 rows.
    expect(sample(text, 'ganserve_inference_batch_size_count', { model: 'digits' })).toBe(1);
    expect(sample(text, 'ganserve_inference_batch_size_sum', { model: 'digits' })).toBe(5);
    expect(sample(text, 'ganserve_inference_batch_size_bucket', { model: 'digits', le: '4' })).toBe(0);
    expect(sample(text, 'ganserve_inference_batch_size_bucket', { model: 'digits', le: '8' })).toBe(1);
    // Its wait in the batcher is counted once, apart from the pool's queue.
    expect(sample(text, 'ganserve_batch_wait_duration_seconds_count', { model: 'digits' })).toBe(1);

    expect(sample(text, 'ganserve_inference_queue_depth', { model: 'mix' })).toBe(0);
    expect(sample(text, 'ganserve_inference_running', { model: 'mix' })).toBe(0);
    expect(text).toContain('# TYPE ganserve_process_cpu_seconds_total counter');

    // The other app's registry saw none of this.
    const otherText = await (await fetch(`${other.url}/metrics`)).text();
    expect(sample(otherText, 'ganserve_inference_request_total', { model: 'mix', endpoint: 'translate', status: '200' })).toBeUndefined();
  });

  it('shows waiting runs in the queue-depth gauge while the workers are busy', async () => {
    const big = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#abc' } })
      .png()
      .toBuffer();
    const requests = Array.from({ length: 6 }, () =>
      fetch(`${server.url}/v1/models/mix/translate`, { method: 'POST', body: big, headers: { 'Content-Type': 'image/png' } }),
    );
    let deepest = 0;
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      deepest = Math.max(deepest, sample(text, 'ganserve_inference_queue_depth', { model: 'mix' }) ?? 0);
      if (deepest > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const statuses = await Promise.all(requests.map(async (r) => (await r).status));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(deepest).toBeGreaterThan(0);
  });
});
