/**
 * One inference worker thread and the requests it has in flight. The pool (pool.ts) keeps one
 * Slot per worker and decides what runs where; a Slot only starts its thread, matches replies to
 * requests, and reports the thread's death.
 */
import { Worker } from 'node:worker_threads';
import { InferenceError } from '../errors.ts';
import { DeviceLock } from './device-lock.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './protocol.ts';

/**
 * The worker's entry: the compiled worker.js beside this module in production (dist/), the
 * TypeScript source under tsx and vitest.
 */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
/** One lock for the whole process, since onnxruntime's WebGPU device is one per process (every pool's workers share it). */
const DEVICE_LOCK = DeviceLock.createBuffer();

/**
 * Starts a worker thread on `url` with `workerData`. Under tsx or vitest the worker is
 * TypeScript, and Node 20 does not apply `--import tsx` hooks to a worker's entry module, so a
 * tiny bootstrap registers tsx's loader inside the worker first and then imports the real entry.
 * Compiled JavaScript (npm start) starts directly, without tsx.
 */
export function startWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

type Pending = { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };

/** One worker thread and the requests it has in flight. */
export class Slot {
  readonly worker: Worker;
  readonly models = new Set<string>();
  readonly startedAt = performance.now();
  busy = false;
  dead = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(onExit: (slot: Slot, error: Error) => void) {
    this.worker = startWorker(WORKER_URL, { deviceLock: DEVICE_LOCK } satisfies WorkerData);
    this.worker.on('message', (reply: WorkerReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      if (reply.kind === 'error') pending.reject(new InferenceError(reply.message));
      else pending.resolve(reply);
    });
    let failure: Error | null = null;
    this.worker.on('error', (error) => (failure = error));
    const workerThreadId = this.worker.threadId;
    this.worker.on('exit', (code) => {
      // A worker that dies during a WebGPU call must not leave the other workers locked out.
      DeviceLock.releaseHeldBy(DEVICE_LOCK, workerThreadId);
      const error = failure ?? new InferenceError(`inference worker exited with code ${code}`);
      this.dead = true;
      this.models.clear();
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
      onExit(this, error);
    });
  }

  request(message: WorkerRequestWithoutId, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.dead) return Promise.reject(new InferenceError('inference worker is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id } as WorkerRequest, transfer);
    });
  }
}

type WorkerRequestWithoutId = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;
