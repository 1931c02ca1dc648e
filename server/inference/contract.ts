/**
 * The inference layer's public contract: the devices sessions run on, tensors, and what callers
 * (the HTTP routes, the batcher, the translate pipeline, the batch CLI) need of a pool. The pool
 * (pool.ts) implements it; its errors are in server/errors.ts.
 */
import { z } from 'zod';
import type { HwcImage } from '../imaging/tensor.ts';
import type { Layout, PixelRange } from '../models/manifest.ts';
import type { RunObserver } from '../observability/metrics.ts';

/**
 * An execution provider a session can run on. 'webgpu' is onnxruntime-node's bundled WebGPU
 * provider (Dawn, over Vulkan on Linux): a GPU path that needs no extra download, unlike CUDA's.
 */
export const Device = z.enum(['cpu', 'cuda', 'webgpu']);
export type Device = z.infer<typeof Device>;
/**
 * DEVICE: a provider, or 'auto': where an NVIDIA driver is, CUDA if its provider loads, else
 * WebGPU if a GPU adapter is found, else the CPU; without a driver, the CPU.
 */
export const DeviceSetting = z.enum(['auto', 'cpu', 'cuda', 'webgpu']);
export type DeviceSetting = z.infer<typeof DeviceSetting>;

export type InputTensor = { type: 'float32'; data: Float32Array; dims: number[] } | { type: 'int64'; data: BigInt64Array; dims: number[] };

export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

/** How an image model takes its input: the graph input's name and the manifest's pixel mapping. */
export interface ImageInputSpec {
  name: string;
  layout: Layout;
  range: PixelRange;
  channels: 1 | 3;
}

/** How an image model's output maps back to pixels. */
export interface ImageOutputSpec {
  name: string;
  layout: Layout;
  range: PixelRange;
}

/**
 * Rows of a generator's image output for the worker to encode as PNG itself, so neither the byte
 * conversion nor the deflate runs on the event loop. `scales[i]` is row i's nearest-neighbour
 * upscale factor, or 0 to leave that row to the caller.
 */
export interface RowEncoding {
  output: string;
  layout: Layout;
  range: PixelRange;
  scales: number[];
}

export interface SkippedProvider {
  provider: Device;
  reason: string;
}

export interface SessionInfo {
  inputNames: string[];
  outputNames: string[];
  /** Each input's shape as the graph declares it: numbers for fixed axes, names for dynamic ones. */
  inputShapes: Record<string, Array<number | string>>;
  /** The execution provider the session runs on, e.g. 'cpu'. */
  provider: string;
  /** The solo session's intra-op threads, when the model has one (see SessionSettings). */
  soloThreads?: number;
  /** With DEVICE=auto: the providers tried before this one, and why each could not be used. */
  skipped?: SkippedProvider[];
}

export interface PoolOptions {
  workers: number;
  threadsPerWorker: number;
  /**
   * Intra-op threads for a run that starts while no other run is in flight (CPU only): a lone
   * request borrows the cores the idle workers would use. The first worker then holds a second
   * session with this many threads for every model loaded with `solo`. One worker is enough,
   * since a lone job always lands on it, and each session keeps its own memory arena (≈ 0.5 GB
   * after a 1024² photo2anime run). 0 (the default), or no more than threadsPerWorker: none.
   */
  soloThreads?: number;
  /** 'auto' tries CUDA, then WebGPU, then the CPU; resolveDevice() settles it once for every worker. */
  device: DeviceSetting;
  /** The GPU for the CUDA provider (default 0). */
  cudaDeviceId?: number;
  /** Default bound on waiting requests per model (loadModel may override per model). */
  queueLimit: number;
  /** Called when a worker dies unexpectedly (it is replaced). */
  onWorkerError?: (error: Error) => void;
  /** Told of every finished run (queue and run time, rows), for metrics. */
  observer?: RunObserver;
}

/** The provider a pool's sessions run on, and (DEVICE=auto) the ones skipped before it. */
export interface ResolvedDevice {
  device: Device;
  skipped: SkippedProvider[];
}

export interface LoadOptions {
  /** Bound on waiting requests for this model; the pool's default otherwise. */
  queueLimit?: number;
  /**
   * Give the model a solo session (see PoolOptions.soloThreads). Worth it for models whose runs
   * are long, like image translation; a run of a tiny generator lasts less than waking the extra
   * threads costs.
   */
  solo?: boolean;
}

export interface RunOptions {
  /** Output names to fetch; all of the model's outputs by default. */
  outputs?: string[];
  /** Aborting removes a request that is still waiting in the queue. */
  signal?: AbortSignal;
  /** Told, on success, how long the request queued and how long onnxruntime itself ran. */
  onTiming?: (timing: RunTiming) => void;
  /** Rows of an image output to encode as PNG in the worker. */
  encodeRows?: RowEncoding;
  /** Told, on success, the PNG of each row asked for in `encodeRows` (null for the others), and the worker's time making them. */
  onEncoded?: (rows: Array<Buffer | null>, encodeMs: number) => void;
}

export interface RunTiming {
  /** Waiting for a free worker. */
  queueMs: number;
  /** session.run in the worker, without the thread hops around it. */
  runMs: number;
  /** Intra-op threads of the session that ran: threadsPerWorker, or soloThreads for a lone run. */
  threads: number;
}

export interface TranslateRunOptions {
  /** Aborting removes a request that is still waiting in the queue. */
  signal?: AbortSignal;
  /** Told, on success, where the time went. */
  onTiming?: (timing: TranslateRunTiming) => void;
}

export interface TranslateRunTiming extends RunTiming {
  /** Pixels → input tensor, in the worker. */
  toTensorMs: number;
  /** Output tensor → pixels, in the worker. */
  fromTensorMs: number;
}

/**
 * What the HTTP layer and the generation batcher need from the pool. Feeds' buffers are
 * transferred to the worker: after `run` the caller's input arrays are detached (length 0).
 */
export interface Inference {
  run(model: string, feeds: Record<string, InputTensor>, options?: RunOptions): Promise<Record<string, OutputTensor>>;
  /** Requests of this model waiting and running now. */
  load(model: string): { queued: number; running: number };
  /** Workers that run requests concurrently (batchers size their parallelism from it). */
  readonly concurrency: number;
}

/** What the translate pipeline needs from the pool: pixels in, the model's pixels out. */
export interface ImageInference {
  /**
   * Runs an image model on HWC bytes. The worker converts them to the input tensor and the
   * output tensor back to RGB bytes. The caller's image is copied before translate returns,
   * never detached, so its buffer may be reused at once.
   */
  translate(
    model: string,
    image: HwcImage,
    io: { input: ImageInputSpec; output: ImageOutputSpec },
    options?: TranslateRunOptions,
  ): Promise<HwcImage>;
  /**
   * A buffer of at least `bytes` bytes to decode an image into, from the same shelf as the
   * buffers translate's results come back in (see BufferShelf). Hand it back with recycle.
   */
  pixelBuffer(bytes: number): ArrayBuffer;
  /** Hands back a translate result's buffer, or a pixelBuffer, once it is no longer read, so a later image reuses it. */
  recycle(buffer: ArrayBufferLike): void;
  /**
   * Says that a translate is on its way (its image is being decoded); call the returned function
   * once it has been handed to `translate`, or has failed. While one is on its way, a run that
   * starts alone does not take every core (see PoolOptions.soloThreads): the newcomer would
   * share them for the whole run, slower for both than one core each.
   */
  incoming(): () => void;
}
