/**
 * Messages between the pool (main thread) and its inference workers. Tensor buffers travel in
 * transfer lists, so a request's pixels are moved, never copied, across the thread boundary.
 */
import type { DeviceSetting } from '../config.ts';

export type InputTensor =
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'int64'; data: BigInt64Array; dims: number[] };

export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

export interface SessionSettings {
  intraOpThreads: number;
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
  /** With DEVICE=auto: why CUDA was not used. */
  fallbackReason?: string;
}

export type WorkerRequest =
  | { kind: 'load'; id: number; model: string; onnxPath: string; settings: SessionSettings }
  | { kind: 'run'; id: number; model: string; feeds: Record<string, InputTensor>; outputs?: string[] }
  | { kind: 'unload'; id: number; model: string }
  | { kind: 'probe'; id: number; settings: SessionSettings };

export type WorkerReply =
  | { kind: 'loaded'; id: number; info: SessionInfo }
  /**
   * runMs: session.run's own time in the worker, without the thread hops. returned: the feeds'
   * buffers, handed back (transferred) for reuse now that the run is over.
   */
  | { kind: 'result'; id: number; outputs: Record<string, OutputTensor>; runMs: number; returned: ArrayBuffer[] }
  | { kind: 'unloaded'; id: number }
  | { kind: 'probed'; id: number; info: SessionInfo }
  | { kind: 'error'; id: number; message: string };
