/**
 * One GPU shared by worker threads. onnxruntime's WebGPU provider keeps a single device per
 * process for the sessions of every thread, and two threads using it at once break it (seen on an
 * H100: "CommandEncoder is already finished", then a segfault). The workers take this lock around
 * each call that touches that device (session create, run, release), so the calls follow one
 * another while the other workers' pixel conversions go on beside them.
 *
 * The lock is one Int32 in a SharedArrayBuffer, taken with Atomics (a worker thread may block); it
 * holds the holder's thread id + 1, so the pool can free it when a worker dies holding it.
 * Within a thread the calls are chained first: onnxruntime-node's run does its native work after
 * an await, so a thread that blocked on a lock it already holds would never get it back.
 */
import { threadId } from 'node:worker_threads';

export class DeviceLock {
  private readonly cell: Int32Array;
  /** This thread's last task, so the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(buffer: SharedArrayBuffer) {
    this.cell = new Int32Array(buffer, 0, 1);
  }

  /** The shared memory of a new lock, to hand to every thread that takes it. */
  static createBuffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  }

  /** Runs `task` holding the lock: after this thread's earlier tasks, while no other thread holds it. */
  hold<T>(task: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.acquire();
      try {
        return await task();
      } finally {
        this.release();
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Frees the lock if the thread `holderThreadId` holds it (a worker that died holding it). */
  static releaseHeldBy(buffer: SharedArrayBuffer, holderThreadId: number): boolean {
    const cell = new Int32Array(buffer, 0, 1);
    if (Atomics.compareExchange(cell, 0, holderThreadId + 1, 0) !== holderThreadId + 1) return false;
    Atomics.notify(cell, 0, 1);
    return true;
  }

  private acquire(): void {
    for (;;) {
      const holder = Atomics.compareExchange(this.cell, 0, 0, threadId + 1);
      if (holder === 0) return;
      Atomics.wait(this.cell, 0, holder);
    }
  }

  private release(): void {
    Atomics.store(this.cell, 0, 0);
    Atomics.notify(this.cell, 0, 1);
  }
}
