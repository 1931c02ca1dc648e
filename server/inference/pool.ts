/**
 * A pool of inference worker threads. Each worker holds one onnxruntime session per model, so
 * requests for any model run on any idle worker while the main event loop only moves buffers.
 * Requests wait in a bounded queue per model; a full queue is refused at once (503 + Retry-After)
 * rather than growing without bound. A worker that dies is replaced and its models reloaded.
 */
import { abortError, InferenceError, ModelNotLoadedError, PoolClosedError, QueueFullError } from '../errors.ts';
import { BufferShelf } from '../imaging/buffer-shelf.ts';
import type { HwcImage } from '../imaging/tensor.ts';
import type {
  Device,
  ImageInference,
  ImageInputSpec,
  ImageOutputSpec,
  Inference,
  InputTensor,
  LoadOptions,
  OutputTensor,
  PoolOptions,
  ResolvedDevice,
  RunOptions,
  SessionInfo,
  TranslateRunOptions,
} from './contract.ts';
import { DeviceUnavailableError } from './device.ts';
import type { EncodedRows, SessionSettings, WorkerReply, WorkerRequest } from './protocol.ts';
import { Slot } from './worker-slot.ts';

/** A run or translate message for a worker, without its id. */
type JobMessage = Omit<Extract<WorkerRequest, { kind: 'run' }>, 'id'> | Omit<Extract<WorkerRequest, { kind: 'translate' }>, 'id'>;

interface Job {
  model: string;
  message: JobMessage;
  transfer: ArrayBuffer[];
  /** Rows in the batch, for metrics. */
  rows: number;
  /** Resolves the caller's promise from the worker's reply; false when the reply was not the expected kind. */
  settle: (reply: WorkerReply, queueMs: number) => boolean;
  reject: (error: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  enqueuedAt: number;
}

interface ModelState {
  onnxPath: string;
  /** Loaded with LoadOptions.solo. */
  solo: boolean;
  queueLimit: number;
  queue: Job[];
  running: number;
  /** Moving average of run time, for Retry-After. */
  averageRunMs: number;
}

export class InferencePool implements Inference, ImageInference {
  private readonly slots: Slot[] = [];
  private readonly models = new Map<string, ModelState>();
  /** Retired model keys → the key that replaced them. */
  private readonly successors = new Map<string, string>();
  private closing = false;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  /** Translates on their way to the pool (see incoming). */
  private incomingTranslates = 0;
  /** Round-robin cursor over models, so one busy model cannot starve the others. */
  private cursor = 0;
  /** Workers that died young in a row; respawns back off so a broken setup cannot spin. */
  private quickDeaths = 0;
  /** The provider check, made once (see resolveDevice). */
  private resolution: Promise<ResolvedDevice> | undefined;
  /** Two buffers per worker: one image in the worker, one being decoded or encoded. 16 MiB holds a 2048² RGB image. */
  private readonly pixelShelf: BufferShelf;

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < options.workers; i++) this.slots.push(this.spawn());
    this.pixelShelf = new BufferShelf(2 * options.workers, 16 * 2 ** 20);
  }

  get concurrency(): number {
    return this.options.workers;
  }

  /**
   * Settles, once, which provider sessions get, with a one-node model in one worker, and pins the
   * pool to it: DEVICE=auto becomes 'cuda', 'webgpu' or 'cpu' (with the providers skipped and
   * why), so workers do not retry a provider that cannot load. DEVICE=cuda or webgpu that cannot
   * load rejects with DeviceUnavailableError. loadModel waits for it, so no session is made before.
   */
  resolveDevice(): Promise<ResolvedDevice> {
    this.resolution ??= this.probeDevice();
    return this.resolution;
  }

  private async probeDevice(): Promise<ResolvedDevice> {
    const slot = this.slots.find((s) => !s.dead);
    if (!slot) throw new InferenceError('no inference worker is running');
    const asked = this.options.device;
    let reply: WorkerReply;
    try {
      reply = await slot.request({ kind: 'probe', settings: this.sessionSettings() });
    } catch (err) {
      if (asked === 'cuda' || asked === 'webgpu') throw new DeviceUnavailableError(asked, (err as Error).message);
      throw err;
    }
    if (reply.kind !== 'probed') throw new InferenceError(`unexpected worker reply "${reply.kind}" to probe`);
    const device = reply.info.provider as Device;
    this.options.device = device;
    return { device, skipped: reply.info.skipped ?? [] };
  }

  /** Loads (or reloads) a model's session in every worker; rejects with the ONNX error if it cannot load. */
  async loadModel(model: string, onnxPath: string, options: LoadOptions = {}): Promise<SessionInfo> {
    if (this.closing) throw new PoolClosedError();
    await this.resolveDevice();
    // A dead worker waiting for its replacement is skipped: the replacement loads every model.
    const live = this.slots.filter((slot) => !slot.dead);
    if (live.length === 0) throw new InferenceError('no inference worker is running');
    const solo = options.solo ?? false;
    const infos = await Promise.all(live.map((slot) => this.loadInto(slot, model, onnxPath, solo && this.holdsSolo(slot))));
    const queueLimit = options.queueLimit ?? this.options.queueLimit;
    const existing = this.models.get(model);
    if (existing) Object.assign(existing, { onnxPath, solo, queueLimit });
    else this.models.set(model, { onnxPath, solo, queueLimit, queue: [], running: 0, averageRunMs: 100 });
    return infos[0]!;
  }

  /**
   * Runs the feeds once on every session of the model in every worker (each run gets its own
   * copy), outside the queues, so the first requests do not pay a session's first-run cost. Call
   * it before announcing the model.
   */
  async warmup(model: string, feeds: Record<string, InputTensor>): Promise<void> {
    const ready = this.slots.filter((slot) => slot.models.has(model));
    const hasSolo = this.models.get(model)?.solo ?? false;
    await Promise.all(
      ready.map(async (slot) => {
        for (const solo of hasSolo && this.holdsSolo(slot) ? [false, true] : [false]) {
          const copies = Object.fromEntries(
            Object.entries(feeds).map(([name, t]) => [name, { ...t, data: t.data.slice() } as InputTensor]),
          );
          await slot.request({ kind: 'run', model, feeds: copies, solo }, transferListOf(copies));
        }
      }),
    );
  }

  run(model: string, feeds: Record<string, InputTensor>, options: RunOptions = {}): Promise<Record<string, OutputTensor>> {
    return this.enqueue<Record<string, OutputTensor>>(model, options.signal, (resolved, resolve) => ({
      message: {
        kind: 'run',
        model: resolved,
        feeds,
        outputs: options.outputs,
        ...(options.encodeRows ? { encodeRows: options.encodeRows } : {}),
      },
      transfer: transferListOf(feeds),
      rows: Object.values(feeds)[0]?.dims[0] ?? 1,
      settle: (reply, queueMs) => {
        if (reply.kind !== 'result') return false;
        options.onTiming?.({ queueMs, runMs: reply.runMs, threads: reply.threads });
        if (reply.encoded) options.onEncoded?.(splitRows(reply.encoded), reply.encoded.encodeMs);
        resolve(reply.outputs);
        return true;
      },
    }));
  }

  translate(
    model: string,
    image: HwcImage,
    io: { input: ImageInputSpec; output: ImageOutputSpec },
    options: TranslateRunOptions = {},
  ): Promise<HwcImage> {
    return this.enqueue<HwcImage>(model, options.signal, (resolved, resolve) => {
      // Node 20 cannot transfer a buffer that sharp allocated (it copies one silently on both
      // threads instead), so the pixels travel in a shelved buffer, and the worker writes the
      // model's pixels back into it.
      const buffer = this.pixelShelf.take(image.data.length);
      const data = new Uint8Array(buffer, 0, image.data.length);
      data.set(image.data);
      return {
        message: { kind: 'translate', model: resolved, image: { ...image, data }, input: io.input, output: io.output },
        transfer: [buffer],
        rows: 1,
        settle: (reply, queueMs) => {
          if (reply.kind !== 'translated') return false;
          options.onTiming?.({
            queueMs,
            runMs: reply.runMs,
            threads: reply.threads,
            toTensorMs: reply.toTensorMs,
            fromTensorMs: reply.fromTensorMs,
          });
          resolve(reply.image);
          return true;
        },
      };
    });
  }

  /**
   * Queues a job for a model (following reloads to the current version), or dispatches it at once
   * to an idle worker. `build` gets the resolved model key and the promise's resolve.
   */
  private enqueue<T>(
    model: string,
    signal: AbortSignal | undefined,
    build: (resolved: string, resolve: (value: T) => void) => Pick<Job, 'message' | 'transfer' | 'rows' | 'settle'>,
  ): Promise<T> {
    if (this.closing) return Promise.reject(new PoolClosedError());
    for (let hops = 0; !this.models.has(model) && this.successors.has(model) && hops < 1000; hops++) model = this.successors.get(model)!;
    const state = this.models.get(model);
    if (!state) return Promise.reject(new ModelNotLoadedError(model));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<T>((resolve, reject) => {
      const job: Job = { model, ...build(model, resolve), reject, signal, enqueuedAt: performance.now() };
      const slot = this.idleSlotFor(model);
      if (slot) {
        this.dispatch(slot, job);
        return;
      }
      if (state.queue.length >= state.queueLimit) {
        const waves = Math.ceil((state.queue.length + state.running + 1) / this.options.workers);
        reject(new QueueFullError(model, Math.max(1, Math.ceil((waves * state.averageRunMs) / 1000))));
        return;
      }
      if (job.signal) {
        job.onAbort = () => {
          const index = state.queue.indexOf(job);
          if (index >= 0) {
            state.queue.splice(index, 1);
            job.reject(abortError(job.signal!));
            this.pump(); // wakes close() and unloadModel() waiting for this queue to empty
          }
        };
        job.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      state.queue.push(job);
    });
  }

  incoming(): () => void {
    this.incomingTranslates += 1;
    let arrived = false;
    return () => {
      if (arrived) return;
      arrived = true;
      this.incomingTranslates -= 1;
    };
  }

  pixelBuffer(bytes: number): ArrayBuffer {
    return this.pixelShelf.take(bytes);
  }

  recycle(buffer: ArrayBufferLike): void {
    if (buffer instanceof ArrayBuffer) this.pixelShelf.give(buffer);
  }

  load(model: string): { queued: number; running: number } {
    const state = this.models.get(model);
    return { queued: state?.queue.length ?? 0, running: state?.running ?? 0 };
  }

  /**
   * Frees a model's sessions in every worker once its waiting and running requests are done
   * (a reload retires the old version this way). Later requests for it go to `successor`, if
   * given, and are refused otherwise.
   */
  async unloadModel(model: string, successor?: string): Promise<void> {
    const state = this.models.get(model);
    if (!state) return;
    while (state.queue.length > 0 || state.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.models.delete(model);
    // A request that picked the old version but had not reached the pool yet runs on the new one.
    if (successor !== undefined) this.successors.set(model, successor);
    await Promise.all(
      this.slots
        .filter((slot) => slot.models.has(model) && !slot.dead)
        .map(async (slot) => {
          slot.models.delete(model);
          await slot.request({ kind: 'unload', model });
        }),
    );
  }

  /** Waiting and running requests of every loaded model. */
  loads(): Array<{ model: string; queued: number; running: number }> {
    return [...this.models.entries()].map(([model, state]) => ({ model, queued: state.queue.length, running: state.running }));
  }

  /** Stops taking work, lets queued and running requests finish, then ends the workers. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.hasWork()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.closed = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private hasWork(): boolean {
    for (const state of this.models.values()) if (state.queue.length > 0 || state.running > 0) return true;
    return false;
  }

  private spawn(): Slot {
    return new Slot((slot, error) => this.replace(slot, error));
  }

  /**
   * A worker died: start a fresh one in its place and load every model into it. Deaths within
   * seconds of starting back off exponentially (up to 30 s), so a worker that cannot start at
   * all does not respawn in a tight loop.
   */
  private replace(dead: Slot, error: Error): void {
    if (this.closed || !this.slots.includes(dead)) return;
    this.options.onWorkerError?.(error);
    this.quickDeaths = performance.now() - dead.startedAt < 10_000 ? this.quickDeaths + 1 : 0;
    const delay = this.quickDeaths <= 1 ? 0 : Math.min(30_000, 500 * 2 ** (this.quickDeaths - 1));
    setTimeout(() => {
      const index = this.slots.indexOf(dead);
      if (this.closed || index < 0) return;
      const fresh = this.spawn();
      this.slots[index] = fresh;
      for (const [model, state] of this.models) {
        this.loadInto(fresh, model, state.onnxPath, state.solo && this.holdsSolo(fresh)).then(
          () => this.pump(),
          (loadError: Error) => this.options.onWorkerError?.(loadError),
        );
      }
    }, delay).unref();
  }

  private async loadInto(slot: Slot, model: string, onnxPath: string, solo: boolean): Promise<SessionInfo> {
    const reply = await slot.request({ kind: 'load', model, onnxPath, settings: this.sessionSettings(solo) });
    if (reply.kind !== 'loaded') throw new InferenceError(`unexpected worker reply "${reply.kind}" to load`);
    slot.models.add(model);
    return reply.info;
  }

  private sessionSettings(solo = false): SessionSettings {
    return {
      intraOpThreads: this.options.threadsPerWorker,
      soloThreads: solo ? (this.options.soloThreads ?? 0) : 0,
      device: this.options.device,
      cudaDeviceId: this.options.cudaDeviceId ?? 0,
    };
  }

  /**
   * The first worker (or its replacement) holds the solo sessions: a lone job lands there, since
   * idleSlotFor takes the first idle worker.
   */
  private holdsSolo(slot: Slot): boolean {
    return slot === this.slots[0];
  }

  private idleSlotFor(model: string): Slot | undefined {
    return this.slots.find((slot) => !slot.busy && slot.models.has(model));
  }

  private dispatch(slot: Slot, job: Job): void {
    const state = this.models.get(job.model)!;
    if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort);
    // Alone: every other worker is idle and no translate is on its way, so this run may take
    // their cores too. A run that starts later, while this one goes on, shares the cores with it
    // until it ends.
    const solo = this.holdsSolo(slot) && this.incomingTranslates === 0 && this.slots.every((other) => !other.busy);
    slot.busy = true;
    state.running += 1;
    const started = performance.now();
    let ok = false;
    slot
      .request({ ...job.message, solo }, job.transfer)
      .then(
        (reply) => {
          ok = job.settle(reply, started - job.enqueuedAt);
          if (!ok) job.reject(new InferenceError(`unexpected worker reply "${reply.kind}" to ${job.message.kind}`));
        },
        (error: Error) => job.reject(error instanceof InferenceError ? error : new InferenceError(error.message)),
      )
      .finally(() => {
        const finished = performance.now();
        this.options.observer?.onRun({
          model: job.model,
          rows: job.rows,
          queueSeconds: (started - job.enqueuedAt) / 1000,
          inferenceSeconds: (finished - started) / 1000,
          ok,
        });
        state.running -= 1;
        state.averageRunMs = 0.8 * state.averageRunMs + 0.2 * (finished - started);
        slot.busy = false;
        this.pump();
      });
  }

  /** Gives every idle worker the next waiting job, taking models in turn. */
  private pump(): void {
    const names = [...this.models.keys()];
    for (const slot of this.slots) {
      if (slot.busy) continue;
      for (let step = 0; step < names.length; step++) {
        const model = names[(this.cursor + step) % names.length]!;
        const state = this.models.get(model)!;
        if (state.queue.length === 0 || !slot.models.has(model)) continue;
        this.cursor = (this.cursor + step + 1) % names.length;
        this.dispatch(slot, state.queue.shift()!);
        break;
      }
    }
    // Waiters re-check their own condition (all idle for close, one model idle for unload).
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

/** Views of each encoded row on the one transferred buffer (null where none was asked for). */
function splitRows({ data, ends }: EncodedRows): Array<Buffer | null> {
  return ends.map((end, i) => {
    const start = i === 0 ? 0 : ends[i - 1]!;
    return end > start ? Buffer.from(data.buffer, data.byteOffset + start, end - start) : null;
  });
}

/** The distinct whole buffers behind the feeds; views on part of a buffer are copied first. */
function transferListOf(feeds: Record<string, InputTensor>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const [name, tensor] of Object.entries(feeds)) {
    let data = tensor.data;
    if (
      !(data.buffer instanceof ArrayBuffer) ||
      data.byteOffset !== 0 ||
      data.byteLength !== data.buffer.byteLength ||
      buffers.has(data.buffer)
    ) {
      data = data.slice() as typeof data;
      feeds[name] = { ...tensor, data } as InputTensor;
    }
    buffers.add(data.buffer as ArrayBuffer);
  }
  return [...buffers];
}
