/**
 * Worker side of tests/server/device-lock.test.ts. workerData: { lock, counter, iterations, mode }.
 * 'count': adds 1 to counter[0] `iterations` times under the lock, with an await between the read
 * and the write (where another holder would slip in); 'hold': takes the lock and never lets go.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DeviceLock } from '../../server/inference/device-lock.ts';

const { lock, counter, iterations, mode } = workerData as {
  lock: SharedArrayBuffer;
  counter: SharedArrayBuffer;
  iterations: number;
  mode: 'count' | 'hold';
};
const deviceLock = new DeviceLock(lock);
const cells = new Int32Array(counter);

if (mode === 'hold') {
  void deviceLock.hold(() => {
    parentPort!.postMessage('holding');
    return new Promise<never>(() => {});
  });
} else {
  const tasks: Array<Promise<void>> = [];
  // Several tasks at once from this thread too: they must queue, not deadlock.
  for (let i = 0; i < iterations; i++) {
    tasks.push(
      deviceLock.hold(async () => {
        const value = cells[0]!;
        await nextTurn();
        cells[0] = value + 1;
      }),
    );
  }
  await Promise.all(tasks);
  parentPort!.postMessage('done');
}
