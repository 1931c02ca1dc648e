import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamicBatcher } from '../../server/inference/batcher.ts';
import { checkBatchingEnv, resolveBatching, type BatchingSettings } from '../../server/inference/batching-settings.ts';
import { QueueFullError } from '../../server/errors.ts';
import type { Inference, InputTensor, OutputTensor } from '../../server/inference/contract.ts';
import { InferencePool } from '../../server/inference/pool.ts';
import { noiseBatch } from '../../server/generation/noise.ts';
import { upscaleNearest } from '../../server/imaging/grid.ts';
import { encodePng } from '../../server/imaging/png.ts';
import { outputRowToImage } from '../../server/imaging/rows.ts';
import type { Layout, PixelRange } from '../../server/models/manifest.ts';
import { convLabelGenerator } from '../helpers/generator-models.ts';

/**
 * A stand-in for the pool: records each run's batch size and answers when the test says so. Its
 * "model" doubles the noise and adds the label, so every row's output identifies its input row.
 */
class FakeInference implements Inference {
  readonly batches: number[] = [];
  private readonly waiting: Array<() => void> = [];
  running = 0;
  failNext = false;

  constructor(readonly concurrency = 1) {}

  run(_model: string, feeds: Record<string, InputTensor>): Promise<Record<string, OutputTensor>> {
    const noise = feeds.noise!.data as Float32Array;
    const labels = feeds.label!.data as BigInt64Array;
    const rows = feeds.noise!.dims[0]!;
    const width = feeds.noise!.dims[1]!;
    this.batches.push(rows);
    this.running += 1;
    const fail = this.failNext;
    this.failNext = false;
    return new Promise((resolve, reject) => {
      this.waiting.push(() => {
        this.running -= 1;
        if (fail) return reject(new Error('session failed'));
        const data = Float32Array.from(noise, (v, i) => v * 2 + Number(labels[Math.floor(i / width)]));
        resolve({ image: { data, dims: [rows, 1, 1, width] } });
      });
    });
  }

  load() {
    return { queued: 0, running: this.running };
  }

  /** Completes every run started so far. */
  finishAll(): void {
    for (const finish of this.waiting.splice(0)) finish();
  }
}

function feeds(rows: number, label: number, start: number): Record<string, InputTensor> {
  return {
    noise: { type: 'float32', data: Float32Array.from({ length: rows * 2 }, (_, i) => start + i), dims: [rows, 2] },
    label: { type: 'int64', data: new BigInt64Array(rows).fill(BigInt(label)), dims: [rows] },
  };
}

/** Past the timers and the end-of-turn (setImmediate) phase of the event loop. */
const tick = () => new Promise((resolve) => setTimeout(() => setImmediate(resolve), 0));
const settings = (partial: Partial<BatchingSettings>): BatchingSettings => ({ maxBatch: 8, maxWaitMs: 0, maxQueue: 100, ...partial });

describe('DynamicBatcher', () => {
  it('merges concurrent requests arriving within maxWaitMs into one run and gives each its own rows', async () => {
    const inference = new FakeInference();
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxWaitMs: 20 }));
    const results = [batcher.run(feeds(1, 1, 0)), batcher.run(feeds(2, 2, 10)), batcher.run(feeds(1, 3, 20))];
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(inference.batches).toEqual([4]);
    inference.finishAll();
    const [a, b, c] = await Promise.all(results);
    expect(a!.dims).toEqual([1, 1, 1, 2]);
    expect(Array.from(a!.data)).toEqual([1, 3]);
    expect(b!.dims).toEqual([2, 1, 1, 2]);
    expect(Array.from(b!.data)).toEqual([22, 24, 26, 28]);
    expect(Array.from(c!.data)).toEqual([43, 45]);
    // Every request knows it ran in a batch of 4 rows, after waiting for the batch to form.
    for (const result of [a, b, c]) {
      expect(result!.timing.batchRows).toBe(4);
      expect(result!.timing.queueMs).toBeGreaterThanOrEqual(15);
    }
  });

  it('with maxWaitMs 0, sends what arrived in one event-loop turn as one batch, and a lone later request at once', async () => {
    const inference = new FakeInference(2);
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxBatch: 16, maxWaitMs: 0 }));
    const together = [batcher.run(feeds(1, 0, 0)), batcher.run(feeds(2, 0, 1)), batcher.run(feeds(1, 0, 2))];
    expect(inference.batches).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(inference.batches).toEqual([4]);
    const lone = batcher.run(feeds(1, 0, 3));
    await new Promise((resolve) => setImmediate(resolve));
    expect(inference.batches).toEqual([4, 1]);
    inference.finishAll();
    await Promise.all([...together, lone]);
  });

  it('dispatches a full batch at once, without waiting for maxWaitMs', async () => {
    const inference = new FakeInference();
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxBatch: 2, maxWaitMs: 10_000 }));
    const results = [batcher.run(feeds(1, 0, 0)), batcher.run(feeds(1, 0, 0))];
    await tick();
    expect(inference.batches).toEqual([2]);
    inference.finishAll();
    await Promise.all(results);
  });

  it('keeps accumulating while every worker is busy, then sends the backlog as one batch', async () => {
    const inference = new FakeInference(1);
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxBatch: 16 }));
    const first = batcher.run(feeds(1, 0, 0));
    await tick();
    const later = Array.from({ length: 5 }, (_, i) => batcher.run(feeds(1, 0, i)));
    await tick();
    expect(inference.batches).toEqual([1]);
    expect(batcher.queued).toBe(5);
    inference.finishAll();
    await first;
    await tick();
    expect(inference.batches).toEqual([1, 5]);
    inference.finishAll();
    await Promise.all(later);
  });

  it('splits a request larger than maxBatch across runs and reassembles it in order', async () => {
    const inference = new FakeInference(2);
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxBatch: 4 }));
    const big = batcher.run(feeds(10, 1, 0));
    await tick();
    expect(inference.batches).toEqual([4, 4]);
    inference.finishAll();
    await tick();
    expect(inference.batches).toEqual([4, 4, 2]);
    inference.finishAll();
    const output = await big;
    expect(output.dims).toEqual([10, 1, 1, 2]);
    expect(Array.from(output.data)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2 + 1));
  });

  it('runs each request alone when maxBatch is 1 (batching off)', async () => {
    const inference = new FakeInference(1);
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxBatch: 1 }));
    const results = Array.from({ length: 3 }, () => batcher.run(feeds(1, 0, 0)));
    for (let i = 0; i < 3; i++) {
      await tick();
      inference.finishAll();
    }
    await Promise.all(results);
    expect(inference.batches).toEqual([1, 1, 1]);
  });

  it('refuses requests beyond maxQueue with a QueueFullError carrying Retry-After', async () => {
    const inference = new FakeInference(1);
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxBatch: 1, maxQueue: 2 }));
    const accepted = [batcher.run(feeds(1, 0, 0)), batcher.run(feeds(1, 0, 0)), batcher.run(feeds(1, 0, 0))];
    const refused = batcher.run(feeds(1, 0, 0));
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await refused.catch((error: QueueFullError) => expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1));
    for (let i = 0; i < 3; i++) {
      await tick();
      inference.finishAll();
    }
    await Promise.all(accepted);
  });

  it('drops a request whose client went away before any of its rows was dispatched', async () => {
    const inference = new FakeInference(1);
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxBatch: 4 }));
    const running = batcher.run(feeds(1, 0, 0));
    await tick();
    const controller = new AbortController();
    const abandoned = batcher.run(feeds(1, 0, 0), { signal: controller.signal });
    const kept = batcher.run(feeds(1, 0, 0));
    await tick();
    controller.abort(new Error('client disconnected'));
    await expect(abandoned).rejects.toThrow('client disconnected');
    inference.finishAll();
    await running;
    await tick();
    inference.finishAll();
    await kept;
    expect(inference.batches).toEqual([1, 1]);
  });

  it('fails every request of a failed run and keeps serving the next ones', async () => {
    const inference = new FakeInference(1);
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image' }, settings({ maxWaitMs: 5 }));
    inference.failNext = true;
    const doomed = [batcher.run(feeds(1, 0, 0)), batcher.run(feeds(1, 0, 0))];
    await new Promise((resolve) => setTimeout(resolve, 20));
    inference.finishAll();
    for (const result of doomed) await expect(result).rejects.toThrow('session failed');
    const next = batcher.run(feeds(1, 4, 0));
    await new Promise((resolve) => setTimeout(resolve, 20));
    inference.finishAll();
    expect(Array.from((await next).data)).toEqual([4, 6]);
  });
});

describe('resolveBatching', () => {
  const defaults: BatchingSettings = { maxBatch: 32, maxWaitMs: 2, maxQueue: 256 };

  it('takes per-model env over global env over the manifest over the defaults', () => {
    expect(resolveBatching('digits', undefined, {}, defaults)).toEqual(defaults);
    expect(resolveBatching('digits', { maxBatch: 8, maxWaitMs: 1 }, {}, defaults)).toEqual({ maxBatch: 8, maxWaitMs: 1, maxQueue: 256 });
    const env = { BATCH_MAX_SIZE: '4', BATCH_MAX_SIZE_DIGITS_TEXT: '1', BATCH_MAX_WAIT_MS: '0', BATCH_MAX_QUEUE: '9' };
    expect(resolveBatching('digits', { maxBatch: 8, maxWaitMs: 1 }, env, defaults)).toEqual({ maxBatch: 4, maxWaitMs: 0, maxQueue: 9 });
    expect(resolveBatching('digits-text', { maxBatch: 8, maxWaitMs: 1 }, env, defaults)).toEqual({
      maxBatch: 1,
      maxWaitMs: 0,
      maxQueue: 9,
    });
  });

  it('checks every global and per-model variable up front', () => {
    expect(() => checkBatchingEnv({ BATCH_MAX_SIZE: '8', BATCH_MAX_WAIT_MS_DIGITS: '1.5', PATH: '/bin' })).not.toThrow();
    expect(() => checkBatchingEnv({ BATCH_MAX_QUEUE_PHOTO2ANIME: 'lots' })).toThrow(/BATCH_MAX_QUEUE_PHOTO2ANIME=lots/);
    expect(() => checkBatchingEnv({ BATCH_MAX_WAIT_MS: '-1' })).toThrow(/BATCH_MAX_WAIT_MS=-1/);
  });

  it('rejects malformed values', () => {
    expect(() => resolveBatching('m', undefined, { BATCH_MAX_SIZE: '0' })).toThrow(/BATCH_MAX_SIZE=0/);
    expect(() => resolveBatching('m', undefined, { BATCH_MAX_WAIT_MS: 'soon' })).toThrow(/BATCH_MAX_WAIT_MS/);
    expect(() => resolveBatching('m', undefined, { BATCH_MAX_QUEUE_M: '2.5' })).toThrow(/BATCH_MAX_QUEUE_M/);
  });
});

describe('batched runs on onnxruntime', () => {
  let dir: string;
  let pool: InferencePool;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'batcher-'));
    const model = convLabelGenerator({ name: 'conv' });
    await writeFile(path.join(dir, 'model.onnx'), model.onnx);
    pool = new InferencePool({ workers: 2, threadsPerWorker: 1, device: 'cpu', queueLimit: 64 });
    await pool.loadModel('conv', path.join(dir, 'model.onnx'));
  });

  afterAll(async () => {
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Row `i` of a generation: seed 100 + i, label i mod 10. */
  const rowFeeds = (first: number, rows: number): Record<string, InputTensor> => ({
    noise: { type: 'float32', data: Float32Array.from(noiseBatch(100 + first, rows, 64, 'normal')), dims: [rows, 64] },
    label: { type: 'int64', data: BigInt64Array.from({ length: rows }, (_, i) => BigInt((first + i) % 10)), dims: [rows] },
  });

  it('gives every row the same floats whether it runs alone or inside batches of any composition', async () => {
    const alone: Float32Array[] = [];
    for (let i = 0; i < 12; i++) alone.push((await pool.run('conv', rowFeeds(i, 1))).image!.data);
    for (const maxBatch of [3, 5, 12]) {
      const batcher = new DynamicBatcher(pool, 'conv', { name: 'image' }, settings({ maxBatch, maxWaitMs: 5 }));
      // Requests of 1, 2 and 3 rows, all in flight at once.
      const spans = [
        [0, 1],
        [1, 2],
        [3, 3],
        [6, 1],
        [7, 2],
        [9, 3],
      ] as const;
      const outputs = await Promise.all(spans.map(([first, rows]) => batcher.run(rowFeeds(first, rows))));
      spans.forEach(([first, rows], k) => {
        for (let r = 0; r < rows; r++) {
          expect(outputs[k]!.data.subarray(r * 784, (r + 1) * 784)).toEqual(alone[first + r]);
        }
      });
    }
  });

  it('has the worker encode the rows of requests that ask for PNGs, byte for byte as the main thread would', async () => {
    const pixels: { layout: Layout; range: PixelRange } = { layout: 'NCHW', range: [-1, 1] };
    // maxBatch 3 splits the 4-row request across runs; requests without pngScale share batches with the others.
    const batcher = new DynamicBatcher(pool, 'conv', { name: 'image', ...pixels }, settings({ maxBatch: 3, maxWaitMs: 5 }));
    const asks = [
      { first: 0, rows: 1, pngScale: 1 },
      { first: 1, rows: 2, pngScale: 0 },
      { first: 3, rows: 4, pngScale: 3 },
      { first: 7, rows: 1, pngScale: 2 },
    ];
    const outputs = await Promise.all(
      asks.map(({ first, rows, pngScale }) => batcher.run(rowFeeds(first, rows), pngScale ? { pngScale } : {})),
    );
    for (const [k, { rows, pngScale }] of asks.entries()) {
      const output = outputs[k]!;
      if (pngScale === 0) {
        expect(output.pngs).toBeUndefined();
        expect(output.timing.encodeMs).toBe(0);
        continue;
      }
      expect(output.pngs).toHaveLength(rows);
      expect(output.timing.encodeMs).toBeGreaterThan(0);
      for (let r = 0; r < rows; r++) {
        const expected = await encodePng(upscaleNearest(outputRowToImage(output, r, pixels.layout, pixels.range), pngScale));
        expect(output.pngs![r]).toEqual(expected);
      }
    }
    const decoded = await sharp(outputs[2]!.pngs![0]!).metadata();
    expect([decoded.width, decoded.height, decoded.channels]).toEqual([84, 84, 1]);
  });

  it('leaves the encoding to the caller when the Inference does not report PNGs', async () => {
    const inference = new FakeInference();
    const batcher = new DynamicBatcher(inference, 'm', { name: 'image', layout: 'NCHW', range: [-1, 1] }, settings({}));
    const result = batcher.run(feeds(2, 0, 0), { pngScale: 2 });
    await tick();
    inference.finishAll();
    expect((await result).pngs).toEqual([null, null]);
  });
});
