/**
 * Messages between the pool (main thread) and its inference workers. Tensor buffers travel in
 * transfer lists, so a request's pixels are moved, never copied, across the thread boundary.
 */
import type { Device } from '../config.ts';

export type InputTensor =
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'int64'; data: BigInt64Array; dims: number[] };

export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

export interface SessionSettings {
  intraOpThreads: number;
  device: Device;
}

export interface SessionInfo {
  inputNames: string[];
  outputNames: string[];
  /** The execution provider the session runs on, e.g. 'cpu'. */
  provider: string;
}

export type WorkerRequest =
  | { kind: 'load'; id: number; model: string; onnxPath: string; settings: SessionSettings }
  | { kind: 'run'; id: number; model: string; feeds: Record<string, InputTensor>; outputs?: string[] }
  | { kind: 'unload'; id: number; model: string };

export type WorkerReply =
  | { kind: 'loaded'; id: number; info: SessionInfo }
  | { kind: 'result'; id: number; outputs: Record<string, OutputTensor> }
  | { kind: 'unloaded'; id: number }
  | { kind: 'error'; id: number; message: string };
