/**
 * Messages between the pool (main thread) and its inference workers. Tensor and pixel buffers
 * travel in transfer lists, so a request's data is moved, not copied, across the thread boundary.
 */
import type { HwcImage } from '../imaging/tensor.ts';
import type { DeviceSetting, ImageInputSpec, ImageOutputSpec, InputTensor, OutputTensor, RowEncoding, SessionInfo } from './contract.ts';

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

export type WorkerRequest =
  | { kind: 'load'; id: number; model: string; onnxPath: string; settings: SessionSettings }
  /** solo: run on the model's solo session, if it has one (the pool is otherwise idle). */
  | {
      kind: 'run';
      id: number;
      model: string;
      feeds: Record<string, InputTensor>;
      outputs?: string[];
      encodeRows?: RowEncoding;
      solo?: boolean;
    }
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
