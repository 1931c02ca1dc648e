import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DeviceLock } from '../../server/inference/device-lock.ts';
import { startWorker } from '../../server/inference/worker-slot.ts';

const HELPER = new URL('../helpers/device-lock-worker.ts', import.meta.url);

const startHelper = (workerData: Record<string, unknown>): Worker => startWorker(HELPER, workerData);

const message = (worker: Worker) =>
  new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });

describe('DeviceLock', () => {
  it('lets one thread at a time through, so read-await-write updates from three workers are never lost', async () => {
    const lock = DeviceLock.createBuffer();
    const counter = new SharedArrayBuffer(4);
    const workers = [0, 1, 2].map(() => startHelper({ lock, counter, iterations: 200, mode: 'count' }));
    try {
      await Promise.all(workers.map(message));
      expect(new Int32Array(counter)[0]).toBe(600);
      expect(new Int32Array(lock)[0]).toBe(0); // free again
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }, 30_000);

  it('runs a thread’s own tasks one after another, in order, even when one fails', async () => {
    const lock = new DeviceLock(DeviceLock.createBuffer());
    const order: string[] = [];
    const slow = lock.hold(async () => {
      order.push('a start');
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push('a end');
    });
    const failing = lock.hold(async () => {
      order.push('b');
      throw new Error('b failed');
    });
    const last = lock.hold(async () => order.push('c'));
    await slow;
    await expect(failing).rejects.toThrow('b failed');
    await last;
    expect(order).toEqual(['a start', 'a end', 'b', 'c']);
  });

  it('can be freed when its holder died, and only then', async () => {
    const lock = DeviceLock.createBuffer();
    const counter = new SharedArrayBuffer(4);
    const holder = startHelper({ lock, counter, iterations: 0, mode: 'hold' });
    // Read now: the holder's event loop may empty and the thread end (threadId then reads -1)
    // as soon as it has said it holds the lock.
    const holderThreadId = holder.threadId;
    expect(await message(holder)).toBe('holding');
    expect(DeviceLock.releaseHeldBy(lock, holderThreadId + 1)).toBe(false); // not the holder
    await holder.terminate();
    // Still taken: the dead thread never released it, and a waiter would wait for ever.
    expect(new Int32Array(lock)[0]).toBe(holderThreadId + 1);
    expect(DeviceLock.releaseHeldBy(lock, holderThreadId)).toBe(true);
    const next = startHelper({ lock, counter, iterations: 5, mode: 'count' });
    try {
      expect(await message(next)).toBe('done');
      expect(new Int32Array(counter)[0]).toBe(5);
    } finally {
      await next.terminate();
    }
  }, 30_000);
});
