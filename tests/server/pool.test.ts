import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceError, ModelNotLoadedError, PoolClosedError, QueueFullError } from '../../server/errors.ts';
import type { ImageInputSpec, ImageOutputSpec, InputTensor, TranslateRunTiming } from '../../server/inference/contract.ts';
import { InferencePool } from '../../server/inference/pool.ts';
import { ElemType, OnnxGraph } from '../../training/export/onnx-graph.ts';
import { busyConvModel, colourMixModel, rotateAndInvert, tempModelsDir } from '../helpers/image-models.ts';

let mixPath: string;
let busyPath: string;
let toBytesPath: string;

beforeAll(() => {
  const dir = tempModelsDir();
  mixPath = path.join(dir, 'mix.onnx');
  busyPath = path.join(dir, 'busy.onnx');
  writeFileSync(mixPath, colourMixModel('NCHW', rotateAndInvert([0, 255])));
  writeFileSync(busyPath, busyConvModel(32));
  toBytesPath = path.join(dir, 'to-bytes.onnx');
  // Values in [0, 255] → uint8: the same pixels back, through a non-float output.
  const graph = new OnnxGraph('to_bytes');
  graph.op('Cast', [graph.input('input', 'float', ['N', 3, 'H', 'W'])], { to: ElemType.uint8 }, 'output');
  graph.output('output', 'uint8', ['N', 3, 'H', 'W']);
  writeFileSync(toBytesPath, graph.toBytes());
});

const image = (side: number): Record<string, InputTensor> => ({
  input: { type: 'float32', data: new Float32Array(3 * side * side).fill(0.5), dims: [1, 3, side, side] },
});

const mixIo: { input: ImageInputSpec; output: ImageOutputSpec } = {
  input: { name: 'input', layout: 'NCHW', range: [0, 255], channels: 3 },
  output: { name: 'output', layout: 'NCHW', range: [0, 255] },
};

describe('InferencePool', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = new InferencePool({ workers: 2, threadsPerWorker: 1, device: 'cpu', queueLimit: 2 });
    await pool.loadModel('mix', mixPath);
    await pool.loadModel('busy', busyPath);
    await pool.loadModel('to-bytes', toBytesPath);
  });
  afterAll(() => pool.close());

  it('runs a model in a worker and moves the input buffers instead of copying them', async () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i);
    const outputs = await pool.run('mix', { input: { type: 'float32', data, dims: [1, 3, 2, 2] } });
    expect(outputs.output!.dims).toEqual([1, 3, 2, 2]);
    expect(Array.from(outputs.output!.data)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 255, 254, 253, 252]);
    expect(data.length).toBe(0); // detached: transferred to the worker
  });

  it('copies a view on part of a buffer rather than detaching the whole buffer', async () => {
    const whole = new Float32Array(24);
    const view = whole.subarray(12);
    await pool.run('mix', { input: { type: 'float32', data: view, dims: [1, 3, 2, 2] } });
    expect(whole.length).toBe(24);
  });

  it('translates pixels in the worker: bytes → tensor → model → bytes, with the conversions timed', async () => {
    // Two pixels in [0, 255] NCHW; the mix model maps (r, g, b) → (g, b, 255 − r).
    const data = Uint8Array.from([10, 20, 30, 200, 100, 0]);
    let timing: TranslateRunTiming | undefined;
    const out = await pool.translate('mix', { width: 2, height: 1, channels: 3, data }, mixIo, { onTiming: (t) => (timing = t) });
    expect([out.width, out.height, out.channels]).toEqual([2, 1, 3]);
    expect(Array.from(out.data)).toEqual([20, 30, 245, 100, 0, 55]);
    expect(Array.from(data)).toEqual([10, 20, 30, 200, 100, 0]); // copied, not detached
    expect(timing!.toTensorMs).toBeGreaterThanOrEqual(0);
    expect(timing!.fromTensorMs).toBeGreaterThanOrEqual(0);
    expect(timing!.runMs).toBeGreaterThan(0);
  });

  it('translates an image that is a view on part of a buffer', async () => {
    const whole = new Uint8Array(12).fill(7);
    const out = await pool.translate('mix', { width: 2, height: 1, channels: 3, data: whole.subarray(6) }, mixIo);
    expect(Array.from(out.data)).toEqual([7, 7, 248, 7, 7, 248]);
    expect(whole.length).toBe(12);
  });

  it('sends a recycled result buffer with the next translate, and the worker writes that image’s pixels into it', async () => {
    const pixels = (data: number[]) => ({ width: data.length / 3, height: 1, channels: 3 as const, data: Uint8Array.from(data) });
    const kept = await pool.translate('mix', pixels([1, 2, 3]), mixIo);
    const recycled = await pool.translate('mix', pixels([10, 20, 30, 200, 100, 0]), mixIo);
    pool.recycle(recycled.data.buffer);
    // The smaller image takes the recycled 6-byte buffer (transferred: detached here), and its result is a view on it.
    const smaller = await pool.translate('mix', pixels([4, 5, 6]), mixIo);
    expect(recycled.data.buffer.byteLength).toBe(0);
    expect(Array.from(smaller.data)).toEqual([5, 6, 251]);
    expect(smaller.data.buffer.byteLength).toBe(6);
    // A result that was not recycled stays the caller's.
    await pool.translate('mix', pixels([7, 8, 9]), mixIo);
    expect(Array.from(kept.data)).toEqual([2, 3, 254]);
  });

  it('translates with a model whose output is not float32 (a graph ending in a uint8 Cast)', async () => {
    const out = await pool.translate(
      'to-bytes',
      { width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 9, 99, 128, 200, 255]) },
      mixIo,
    );
    expect(Array.from(out.data)).toEqual([0, 9, 99, 128, 200, 255]);
  });

  it('rejects a translate whose output name the model does not have, and keeps serving', async () => {
    const wrongOutput = { ...mixIo, output: { ...mixIo.output, name: 'nope' } };
    await expect(pool.translate('mix', { width: 1, height: 1, channels: 3, data: new Uint8Array(3) }, wrongOutput)).rejects.toBeInstanceOf(
      InferenceError,
    );
    const out = await pool.translate('mix', { width: 1, height: 1, channels: 3, data: Uint8Array.from([1, 2, 3]) }, mixIo);
    expect(Array.from(out.data)).toEqual([2, 3, 254]);
  });

  it('refuses work for a model it has not loaded', async () => {
    await expect(pool.run('ghost', image(4))).rejects.toBeInstanceOf(ModelNotLoadedError);
  });

  it('runs a warm-up in every worker', async () => {
    await expect(pool.warmup('busy', image(16))).resolves.toBeUndefined();
  });

  it('bounds the queue: beyond workers + queueLimit it rejects with a Retry-After estimate', async () => {
    const runs = Array.from({ length: 6 }, () =>
      pool.run('busy', image(256)).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    expect(pool.load('busy')).toEqual({ queued: 2, running: 2 });
    const results = await Promise.all(runs);
    expect(results.filter((r) => r === 'ok')).toHaveLength(4);
    const refused = results.filter((r) => r instanceof QueueFullError) as QueueFullError[];
    expect(refused).toHaveLength(2);
    expect(refused[0]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('drops a queued request when its signal aborts', async () => {
    const running = [pool.run('busy', image(256)), pool.run('busy', image(256))];
    const controller = new AbortController();
    const queued = pool.run('busy', image(256), { signal: controller.signal });
    expect(pool.load('busy').queued).toBe(1);
    controller.abort(new Error('client went away'));
    await expect(queued).rejects.toThrow('client went away');
    expect(pool.load('busy').queued).toBe(0);
    await Promise.all(running);
  });

  it('shares workers fairly between models', async () => {
    const busy = Array.from({ length: 4 }, () => pool.run('busy', image(128)));
    const quick = pool.run('mix', image(8)).then(() => performance.now());
    const lastBusy = Promise.all(busy).then(() => performance.now());
    expect(await quick).toBeLessThan(await lastBusy);
  });
});

describe('InferencePool solo runs', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = new InferencePool({ workers: 2, threadsPerWorker: 1, soloThreads: 2, device: 'cpu', queueLimit: 4 });
    expect((await pool.loadModel('busy', busyPath, { solo: true })).soloThreads).toBe(2);
    await pool.loadModel('mix', mixPath, { solo: true });
  });
  afterAll(() => pool.close());

  const threadsOf = async (run: (onTiming: (t: { threads: number }) => void) => Promise<unknown>) => {
    let threads = -1;
    await run((t) => (threads = t.threads));
    return threads;
  };

  it('runs a lone request on the solo session, with every thread of the pool', async () => {
    expect(await threadsOf((onTiming) => pool.run('busy', image(64), { onTiming }))).toBe(2);
    const data = Uint8Array.from([10, 20, 30, 200, 100, 0]);
    expect(await threadsOf((onTiming) => pool.translate('mix', { width: 2, height: 1, channels: 3, data }, mixIo, { onTiming }))).toBe(2);
  });

  it('runs a request that starts while another runs on the shared session; the first keeps its solo session', async () => {
    const [first, second] = await Promise.all([
      threadsOf((onTiming) => pool.run('busy', image(192), { onTiming })),
      threadsOf((onTiming) => pool.run('busy', image(192), { onTiming })),
    ]);
    expect([first, second]).toEqual([2, 1]);
  });

  it('keeps a lone run off the solo session while a translate is on its way to the pool', async () => {
    const arrived = pool.incoming();
    expect(await threadsOf((onTiming) => pool.run('busy', image(32), { onTiming }))).toBe(1);
    arrived();
    arrived(); // a second call changes nothing
    expect(await threadsOf((onTiming) => pool.run('busy', image(32), { onTiming }))).toBe(2);
  });

  it('answers the same from both sessions', async () => {
    const lone = await pool.run('busy', image(48));
    const pair = await Promise.all([pool.run('busy', image(256)), pool.run('busy', image(48))]);
    expect(Array.from(pair[1].output!.data)).toEqual(Array.from(lone.output!.data));
  });

  it('warms up every session: the first worker’s two, the other worker’s one', async () => {
    const sent: Array<{ slot: number; solo: unknown }> = [];
    const slots = pool['slots'];
    const originals = slots.map((slot) => slot.request.bind(slot));
    slots.forEach((slot, index) => {
      slot.request = (message, transfer) => {
        sent.push({ slot: index, solo: (message as { solo?: boolean }).solo });
        return originals[index]!(message, transfer);
      };
    });
    try {
      await pool.warmup('busy', image(16));
    } finally {
      slots.forEach((slot, index) => (slot.request = originals[index]!));
    }
    expect(sent).toEqual(
      expect.arrayContaining([
        { slot: 0, solo: false },
        { slot: 0, solo: true },
        { slot: 1, solo: false },
      ]),
    );
    expect(sent).toHaveLength(3);
  });

  it('gives no solo session to a model loaded without `solo`', async () => {
    expect((await pool.loadModel('plain', busyPath)).soloThreads).toBeUndefined();
    expect(await threadsOf((onTiming) => pool.run('plain', image(16), { onTiming }))).toBe(1);
  });

  it('gives the replacement of a dead first worker the solo sessions again', async () => {
    const crashing = new InferencePool({
      workers: 2,
      threadsPerWorker: 1,
      soloThreads: 2,
      device: 'cpu',
      queueLimit: 4,
      onWorkerError: () => {},
    });
    await crashing.loadModel('busy', busyPath, { solo: true });
    const first = crashing['slots'][0]!;
    await first.worker.terminate();
    // The replacement takes the first place once it has loaded the model; until then the other worker serves.
    while (crashing['slots'][0] === first || !crashing['slots'][0]!.models.has('busy'))
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await threadsOf((onTiming) => crashing.run('busy', image(16), { onTiming }))).toBe(2);
    await crashing.close();
  });

  it('has no solo session when soloThreads is not above threadsPerWorker', async () => {
    const plain = new InferencePool({ workers: 2, threadsPerWorker: 1, soloThreads: 1, device: 'cpu', queueLimit: 4 });
    const info = await plain.loadModel('busy', busyPath, { solo: true });
    expect(info.soloThreads).toBeUndefined();
    expect(await threadsOf((onTiming) => plain.run('busy', image(16), { onTiming }))).toBe(1);
    await plain.close();
  });
});

describe('InferencePool.close', () => {
  it('finishes queued and running requests, then refuses new ones', async () => {
    const pool = new InferencePool({ workers: 1, threadsPerWorker: 1, device: 'cpu', queueLimit: 4 });
    await pool.loadModel('busy', busyPath);
    const runs = [pool.run('busy', image(128)), pool.run('busy', image(128)), pool.run('busy', image(128))];
    const closed = pool.close();
    await expect(pool.run('busy', image(8))).rejects.toBeInstanceOf(PoolClosedError);
    const outputs = await Promise.all(runs);
    expect(outputs.every((o) => o.output!.dims[2] === 128)).toBe(true);
    await closed;
  });

  it('replaces a worker that dies: its request fails, later ones run on the replacement', async () => {
    const errors: Error[] = [];
    const pool = new InferencePool({ workers: 1, threadsPerWorker: 1, device: 'cpu', queueLimit: 4, onWorkerError: (e) => errors.push(e) });
    await pool.loadModel('busy', busyPath);
    // Simulate a crash of the pool's only worker (reached through its private field). It is stopped
    // while idle, with a request sent to it before its exit is noticed: terminating a thread in the
    // middle of onnxruntime's native run can abort the whole process (the binding throws a C++
    // Napi::Error as the thread's environment goes away), which no pool can recover from.
    const stopped = pool['slots'][0]!.worker.terminate();
    const inFlight = pool.run('busy', image(256));
    await stopped;
    await expect(inFlight).rejects.toThrow(/exited/);
    expect(errors).toHaveLength(1);
    const outputs = await pool.run('busy', image(32)); // queued until the replacement has loaded the model
    expect(outputs.output!.dims).toEqual([1, 3, 32, 32]);
    await pool.close();
  });

  it('reports an ONNX file that cannot load', async () => {
    const pool = new InferencePool({ workers: 1, threadsPerWorker: 1, device: 'cpu', queueLimit: 4 });
    const corrupt = path.join(tempModelsDir(), 'corrupt.onnx');
    writeFileSync(corrupt, 'not onnx');
    await expect(pool.loadModel('corrupt', corrupt)).rejects.toThrow(/protobuf|load/i);
    await pool.close();
  });
});
