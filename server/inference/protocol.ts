/**
 * Messages between the pool (main thread) and its inference workers. Tensor and pixel buffers
 * travel in transfer lists, so a request's data is moved, not copied, across the thread boundary.
 */
import type { Device, DeviceSetting } from '../config.ts';
import type { HwcImage } from '../imaging/tensor.ts';
import type { Layout, PixelRange } from '../models/manifest.ts';

export type InputTensor =
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'int64'; data: BigInt64Array; dims: number[] };

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

/** The encoded rows, back to back in one buffer; row i is bytes [ends[i − 1] (or 0), ends[i]), empty when not asked for. */
export interface EncodedRows {
  data: Uint8Array;
  ends: number[];
  /** The worker's time making them. */
  encodeMs: number;
}

/** What every inference worker gets at start. */
export interface WorkerData {
  /** The memory of the process's DeviceLock. */
  deviceLock: SharedArrayBuffer;
}

export interface SkippedProvider {
  provider: Device;
  reason: string;
}

export interface SessionSettings {
  intraOpThreads: number;
  /**
   * Intra-op threads of each model's second, solo session (CPU only), for runs that start while
   * no other run is in flight; no solo session unless this is above intraOpThreads.
   */
  soloThreads: number;
  device: DeviceSetting;
  cudaDeviceId: number;
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

export type WorkerRequest =
  | { kind: 'load'; id: number; model: string; onnxPath: string; settings: SessionSettings }
  /** solo: run on the model's solo session, if it has one (the pool is otherwise idle). */
  | { kind: 'run'; id: number; model: string; feeds: Record<string, InputTensor>; outputs?: string[]; encodeRows?: RowEncoding; solo?: boolean }
  /** Pixels in, pixels out: the worker converts to and from tensors itself (off the event loop). */
  | { kind: 'translate'; id: number; model: string; image: HwcImage; input: ImageInputSpec; output: ImageOutputSpec; solo?: boolean }
  | { kind: 'unload'; id: number; model: string }
  | { kind: 'probe'; id: number; settings: SessionSettings };

export type WorkerReply =
  | { kind: 'loaded'; id: number; info: SessionInfo }
  /** runMs: session.run's own time in the worker, without the thread hops; threads: the intra-op threads of the session that ran. */
  | { kind: 'result'; id: number; outputs: Record<string, OutputTensor>; runMs: number; threads: number; encoded?: EncodedRows }
  /** RGB bytes of the model's output; toTensorMs and fromTensorMs: the conversions around the run. */
  | { kind: 'translated'; id: number; image: HwcImage; toTensorMs: number; runMs: number; threads: number; fromTensorMs: number }
  | { kind: 'unloaded'; id: number }
  | { kind: 'probed'; id: number; info: SessionInfo }
  | { kind: 'error'; id: number; message: string };
