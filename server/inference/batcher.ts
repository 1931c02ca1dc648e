/**
 * Dynamic batching, as Triton's `dynamic_batching`: requests for one model wait briefly in a queue
 * and leave it merged into one onnxruntime run of up to `maxBatch` rows. A batch leaves when it is
 * full, or when a worker is free and its oldest request has waited `maxWaitMs` (at least until the
 * end of the event-loop turn it arrived in); while every worker is busy, requests keep
 * accumulating, so batches grow exactly when the load does. A request with
 * more rows than `maxBatch` is split across runs and reassembled.
 *
 * Every input's first dimension is the batch (rows); the output's first dimension likewise. The
 * model must treat rows independently (generators do), so a row gives the same values whatever
 * batch it runs in.
 *
 * The queue is bounded (`maxQueue` waiting requests); past it, requests are refused at once with
 * a QueueFullError (503 + Retry-After), never queued without bound.
 *
 * A request may ask for its rows as PNG images (`pngScale`): the batch then asks the worker to
 * encode those rows after the run, so neither the byte conversion nor the deflate of each image
 * lands on the event loop. Rows an Inference did not encode come back as floats only.
 */
import { abortError, QueueFullError } from '../errors.ts';
import type { Layout, PixelRange } from '../models/manifest.ts';
import type { BatchingSettings } from './batching-settings.ts';
import type { Inference, InputTensor, OutputTensor, RunOptions, RunTiming } from './contract.ts';

/** What a batch needs of a run's timing (an Inference that reports none is timed by the batcher). */
type BatchRunTiming = Pick<RunTiming, 'queueMs' | 'runMs'>;

/** The output a batcher fetches and splits back into requests (a manifest's `output` will do). */
export interface BatchOutput {
  name: string;
  /** How the output's values map to pixels; both needed for rows to be encoded as PNG in the worker. */
  layout?: Layout;
  range?: PixelRange;
}

export interface BatchRunOptions {
  /** Aborting (the client went away) drops the request if none of its rows has been dispatched yet. */
  signal?: AbortSignal;
  /** Also encode each row as a PNG, upscaled by this integer factor, in the worker. */
  pngScale?: number;
}

/** The PNGs the worker made for a batch's rows (null where none was asked for), and its time making them. */
interface EncodedBatch {
  rows: Array<Buffer | null>;
  encodeMs: number;
}

interface PendingRequest {
  feeds: Record<string, InputTensor>;
  rows: number;
  /** 0, or the upscale factor of the PNGs asked for. */
  pngScale: number;
  /** Per row, the PNG the worker made, once one has arrived. */
  pngs: Array<Buffer | null> | null;
  /** Rows already handed to a batch. */
  dispatched: number;
  /** Rows whose output has arrived. */
  completed: number;
  output: Float32Array | null;
  rowDims: number[];
  enqueuedAt: number;
  /** Filled in as its batches run: see BatchTiming. */
  timing: BatchTiming;
  settled: boolean;
  resolve: (output: BatchedOutput) => void;
  reject: (error: Error) => void;
}

/** Where a request's time went (the generate endpoint's Server-Timing header). */
export interface BatchTiming {
  /** From arriving to its first batch starting to run: batchWaitMs plus the pool's queue. */
  queueMs: number;
  /** From arriving to its first batch leaving the batcher for the pool. */
  batchWaitMs: number;
  /** onnxruntime's run time of the batches holding its rows. */
  inferenceMs: number;
  /** Rows in the largest batch it ran in. */
  batchRows: number;
  /** The worker's time encoding this request's PNGs (its rows' share of each batch's encoding). */
  encodeMs: number;
}

/** One request's rows of the output, and how they were computed. */
export interface BatchedOutput extends OutputTensor {
  timing: BatchTiming;
  /** With `pngScale`: per row, its PNG, or null where the Inference did not encode it. */
  pngs?: Array<Buffer | null>;
}

/** Rows [offset, offset + rows) of one request inside a batch. */
interface Part {
  request: PendingRequest;
  offset: number;
  rows: number;
}

export class DynamicBatcher {
  private readonly queue: PendingRequest[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  /** A pending end-of-turn flush, so requests arriving in the same event-loop turn share a batch. */
  private flush: NodeJS.Immediate | null = null;
  /** Moving average of one run's duration, for Retry-After. */
  private averageRunMs = 20;
  /** The output's pixel mapping, when it has one. */
  private readonly pixels: { layout: Layout; range: PixelRange } | undefined;

  constructor(
    private readonly inference: Inference,
    private readonly model: string,
    private readonly output: BatchOutput,
    readonly settings: BatchingSettings,
  ) {
    const { layout, range } = output;
    this.pixels = layout && range ? { layout, range } : undefined;
  }

  /**
   * Runs the model on `feeds` (every tensor's first dimension = this request's rows) as part of
   * whatever batch forms, and resolves with this request's rows of the output.
   */
  run(feeds: Record<string, InputTensor>, { signal, pngScale = 0 }: BatchRunOptions = {}): Promise<BatchedOutput> {
    const rows = rowCountOf(feeds);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.queue.length >= this.settings.maxQueue) {
      return Promise.reject(new QueueFullError(this.model, this.retryAfterSeconds()));
    }
    return new Promise((resolve, reject) => {
      const request: PendingRequest = {
        feeds,
        rows,
        pngScale: this.pixels ? pngScale : 0,
        pngs: null,
        dispatched: 0,
        completed: 0,
        output: null,
        rowDims: [],
        enqueuedAt: performance.now(),
        timing: { queueMs: -1, batchWaitMs: 0, inferenceMs: 0, batchRows: 0, encodeMs: 0 },
        settled: false,
        resolve,
        reject,
      };
      if (signal) {
        const onAbort = () => {
          if (request.dispatched === 0) this.fail(request, abortError(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        request.resolve = (output) => {
          signal.removeEventListener('abort', onAbort);
          resolve(output);
        };
        request.reject = (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        };
      }
      this.queue.push(request);
      if (this.queuedRows() >= this.settings.maxBatch) {
        this.schedule();
        return;
      }
      // Otherwise dispatch at the end of this event-loop turn, not now: requests parsed from the
      // same round of socket reads join this one's batch, at the cost of microseconds.
      this.flush ??= setImmediate(() => {
        this.flush = null;
        this.schedule();
      });
    });
  }

  /** Requests waiting for a batch (for metrics and tests). */
  get queued(): number {
    return this.queue.length;
  }

  private queuedRows(): number {
    return this.queue.reduce((sum, request) => sum + request.rows - request.dispatched, 0);
  }

  /** Dispatches every batch that is due, and arms the timer for the next one that will be. */
  private schedule(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0 && this.inFlight < this.inference.concurrency) {
      const waited = performance.now() - this.queue[0]!.enqueuedAt;
      if (this.queuedRows() < this.settings.maxBatch && waited < this.settings.maxWaitMs) {
        this.timer = setTimeout(() => this.schedule(), this.settings.maxWaitMs - waited);
        return;
      }
      this.dispatch(this.takeBatch());
    }
  }

  /** Takes up to maxBatch rows from the head of the queue, splitting the last request if needed. */
  private takeBatch(): Part[] {
    const parts: Part[] = [];
    let room = this.settings.maxBatch;
    while (room > 0 && this.queue.length > 0) {
      const request = this.queue[0]!;
      const rows = Math.min(room, request.rows - request.dispatched);
      parts.push({ request, offset: request.dispatched, rows });
      request.dispatched += rows;
      room -= rows;
      if (request.dispatched === request.rows) this.queue.shift();
    }
    return parts;
  }

  private dispatch(parts: Part[]): void {
    this.inFlight += 1;
    const started = performance.now();
    let feeds: Record<string, InputTensor>;
    try {
      feeds = concatenateRows(parts);
    } catch (error) {
      this.inFlight -= 1;
      for (const part of parts) this.fail(part.request, error as Error);
      return;
    }
    // An Inference that does not report timings is timed from here, thread hops included.
    let timing: BatchRunTiming | undefined;
    let encoded: EncodedBatch | undefined;
    const options: RunOptions = { outputs: [this.output.name], onTiming: (reported) => (timing = reported) };
    if (this.pixels && parts.some((part) => part.request.pngScale > 0)) {
      const scales = parts.flatMap((part) => Array<number>(part.rows).fill(part.request.pngScale));
      options.encodeRows = { output: this.output.name, ...this.pixels, scales };
      options.onEncoded = (rows, encodeMs) => (encoded = { rows, encodeMs });
    }
    this.inference
      .run(this.model, feeds, options)
      .then(
        (outputs) => {
          const output = outputs[this.output.name];
          if (output === undefined) throw new Error(`model "${this.model}" returned no output "${this.output.name}"`);
          this.deliver(parts, output, encoded, started, timing ?? { queueMs: 0, runMs: performance.now() - started });
        },
        (error: Error) => {
          for (const part of parts) this.fail(part.request, error);
        },
      )
      .catch((error: Error) => {
        for (const part of parts) this.fail(part.request, error);
      })
      .finally(() => {
        this.inFlight -= 1;
        this.averageRunMs = 0.8 * this.averageRunMs + 0.2 * (performance.now() - started);
        this.schedule();
      });
  }

  /** Copies each part's rows of the batch output (and PNGs) into its request, resolving completed requests. */
  private deliver(parts: Part[], output: OutputTensor, encoded: EncodedBatch | undefined, started: number, run: BatchRunTiming): void {
    const batchRows = output.dims[0];
    const totalRows = parts.reduce((sum, part) => sum + part.rows, 0);
    if (batchRows !== totalRows) throw new Error(`model "${this.model}" returned ${batchRows} rows for a batch of ${totalRows}`);
    const rowDims = output.dims.slice(1);
    const rowSize = rowDims.reduce((a, b) => a * b, 1);
    /** Rows the worker encoded: its encoding time is shared among them. */
    const encodedRows = parts.reduce((sum, part) => sum + (part.request.pngScale > 0 ? part.rows : 0), 0);
    let batchOffset = 0;
    for (const { request, offset, rows } of parts) {
      if (!request.settled) {
        const { timing } = request;
        if (timing.queueMs < 0) {
          timing.batchWaitMs = started - request.enqueuedAt;
          timing.queueMs = timing.batchWaitMs + run.queueMs;
        }
        timing.inferenceMs += run.runMs;
        timing.batchRows = Math.max(timing.batchRows, totalRows);
        request.output ??= new Float32Array(request.rows * rowSize);
        request.rowDims = rowDims;
        request.output.set(output.data.subarray(batchOffset * rowSize, (batchOffset + rows) * rowSize), offset * rowSize);
        if (encoded && request.pngScale > 0) {
          request.pngs ??= Array<Buffer | null>(request.rows).fill(null);
          for (let row = 0; row < rows; row += 1) request.pngs[offset + row] = encoded.rows[batchOffset + row] ?? null;
          timing.encodeMs += (encoded.encodeMs * rows) / encodedRows;
        }
        request.completed += rows;
        if (request.completed === request.rows) {
          request.settled = true;
          const pngs = request.pngScale > 0 ? { pngs: request.pngs ?? Array<Buffer | null>(request.rows).fill(null) } : {};
          request.resolve({ data: request.output, dims: [request.rows, ...rowDims], timing, ...pngs });
        }
      }
      batchOffset += rows;
    }
  }

  private fail(request: PendingRequest, error: Error): void {
    if (request.settled) return;
    request.settled = true;
    const index = this.queue.indexOf(request);
    if (index >= 0) this.queue.splice(index, 1);
    request.reject(error);
  }

  private retryAfterSeconds(): number {
    const waves = Math.ceil(this.queuedRows() / this.settings.maxBatch / Math.max(1, this.inference.concurrency)) + 1;
    return Math.max(1, Math.ceil((waves * this.averageRunMs) / 1000));
  }
}

function rowCountOf(feeds: Record<string, InputTensor>): number {
  const counts = new Set(Object.values(feeds).map((tensor) => tensor.dims[0]));
  const [rows] = counts;
  if (counts.size !== 1 || rows === undefined || !Number.isInteger(rows) || rows < 1) {
    throw new RangeError('every feed needs the same positive first (batch) dimension');
  }
  return rows;
}

/** Builds the batch's feeds: each input's rows from every part, in order. */
function concatenateRows(parts: Part[]): Record<string, InputTensor> {
  const totalRows = parts.reduce((sum, part) => sum + part.rows, 0);
  const feeds: Record<string, InputTensor> = {};
  for (const [name, first] of Object.entries(parts[0]!.request.feeds)) {
    const rowDims = first.dims.slice(1);
    const rowSize = rowDims.reduce((a, b) => a * b, 1);
    const data = first.type === 'float32' ? new Float32Array(totalRows * rowSize) : new BigInt64Array(totalRows * rowSize);
    let row = 0;
    for (const { request, offset, rows } of parts) {
      const tensor = request.feeds[name];
      if (tensor === undefined || tensor.type !== first.type || tensor.dims.slice(1).join() !== rowDims.join()) {
        throw new RangeError(`input "${name}" differs in type or shape between batched requests`);
      }
      (data as Float32Array | BigInt64Array).set(tensor.data.subarray(offset * rowSize, (offset + rows) * rowSize) as never, row * rowSize);
      row += rows;
    }
    feeds[name] = { type: first.type, data, dims: [totalRows, ...rowDims] } as InputTensor;
  }
  return feeds;
}
