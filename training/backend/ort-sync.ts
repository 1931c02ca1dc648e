/**
 * Synchronous onnxruntime sessions for tfjs kernels.
 *
 * tfjs kernels must return synchronously, but onnxruntime-node's public `InferenceSession.run`
 * returns a Promise. That Promise is only a wrapper: `dist/backend.js` defers to `setImmediate`
 * and then calls the native binding's `InferenceSession.run(feeds, fetches, options)`, which is a
 * plain synchronous N-API call (see `dist/binding.d.ts`: "a simple synchronized inference session
 * object wrap"). We call that binding directly.
 *
 * Why this is safe:
 * - The binding blocks the JS thread until onnxruntime has finished: its intra-op thread pool is
 *   joined before `run` returns, so no native thread touches our buffers afterwards.
 * - While it blocks, no JS runs, so the wasm heap cannot grow (which would detach the
 *   `ArrayBuffer` behind our views) and no tfjs tensor can be freed or reused mid-call.
 * - Feeds are zero-copy views of the wasm heap; fetches are preallocated views of freshly
 *   allocated tfjs output tensors, which onnxruntime writes into directly. V8 never moves an
 *   `ArrayBuffer` backing store, so the pointers stay valid for the whole call.
 *
 * The binding path is internal to onnxruntime-node, so package.json pins it to exactly 1.30.0 and
 * tests/training/backend-ort-sync.test.ts fails loudly if the path moves or changes shape.
 */
import { createRequire } from 'node:module';
import type { Binding } from 'onnxruntime-node/dist/binding.js';
import type { Tensor as OrtTensor, TensorConstructor } from 'onnxruntime-common';
import { availableCores } from '../../server/shared.ts';
import { OnnxGraph } from '../export/onnx-graph.ts';

const require = createRequire(import.meta.url);

/** The onnxruntime-node version whose internal binding layout this file relies on. */
export const PINNED_ORT_VERSION = '1.30.0';

interface BindingModule {
  binding: { InferenceSession: Binding.InferenceSessionConstructor };
  initOrt: () => void;
}

let loaded: { module: BindingModule; Tensor: TensorConstructor } | undefined;

/** Loads the native binding (and the CommonJS Tensor class it was initialised with) once. */
function ortBinding(): { module: BindingModule; Tensor: TensorConstructor } {
  if (loaded) return loaded;
  const version = (require('onnxruntime-node/package.json') as { version: string }).version;
  if (version !== PINNED_ORT_VERSION) {
    throw new Error(
      `onnxruntime-node ${version} is installed, but the synchronous kernel path was verified against ${PINNED_ORT_VERSION} only`,
    );
  }
  const module = require('onnxruntime-node/dist/binding.js') as BindingModule;
  if (typeof module.initOrt !== 'function' || typeof module.binding?.InferenceSession !== 'function') {
    throw new Error('onnxruntime-node/dist/binding.js no longer exposes { binding.InferenceSession, initOrt }');
  }
  module.initOrt();
  const { Tensor } = require('onnxruntime-common') as { Tensor: TensorConstructor };
  loaded = { module, Tensor };
  return loaded;
}

/** A float32 buffer with its dims: the only kind of value the training kernels exchange. */
export interface FloatValue {
  data: Float32Array;
  dims: readonly number[];
}

/** Threads for onnxruntime's intra-op pool: the cores the CPU quota allows; TRAIN_ORT_THREADS overrides. */
export function ortThreadCount(): number {
  const fromEnv = Number(process.env.TRAIN_ORT_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableCores();
}

/** One loaded ONNX graph whose `run` is synchronous and writes into caller-provided outputs. */
export class SyncSession {
  private readonly session: Binding.InferenceSession;
  private readonly Tensor: TensorConstructor;

  constructor(model: Uint8Array, threads = ortThreadCount()) {
    const { module, Tensor } = ortBinding();
    this.Tensor = Tensor;
    this.session = new module.binding.InferenceSession();
    this.session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Idle pool threads sleep instead of spinning: tfjs runs many small wasm ops between
      // onnxruntime calls, and spinning threads would steal those cores (measured 2-3x slower
      // convolutions on a loaded 2-core machine with spinning on).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  }

  /** Runs the graph; every output is written in place into the given preallocated buffers. */
  run(inputs: Record<string, FloatValue>, outputs: Record<string, FloatValue>): void {
    const feeds: Record<string, OrtTensor> = {};
    for (const [name, value] of Object.entries(inputs)) feeds[name] = new this.Tensor('float32', value.data, value.dims);
    const fetches: Record<string, OrtTensor> = {};
    for (const [name, value] of Object.entries(outputs)) fetches[name] = new this.Tensor('float32', value.data, value.dims);
    this.session.run(feeds, fetches, {});
  }
}

/** Sessions keyed by op signature: one small graph per distinct (op, shapes, attributes). */
export class SessionCache {
  private readonly sessions = new Map<string, SyncSession>();

  get(key: string, build: () => OnnxGraph): SyncSession {
    let session = this.sessions.get(key);
    if (!session) {
      session = new SyncSession(build().toBytes());
      this.sessions.set(key, session);
    }
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }
}

/**
 * Proves the synchronous path end to end: builds a one-node graph, runs it through the binding and
 * checks that the preallocated output was written in place. Throws with the reason when an
 * onnxruntime-node change broke the path, so backend selection fails loudly instead of training
 * on garbage.
 */
export function checkOrtSyncPath(): void {
  const graph = new OnnxGraph('sync_check');
  graph.input('x', 'float', [4]);
  graph.output(graph.op('Neg', ['x'], {}, 'y'), 'float', [4]);
  const output = new Float32Array(4);
  new SyncSession(graph.toBytes(), 1).run({ x: { data: Float32Array.of(1, -2, 3, -4), dims: [4] } }, { y: { data: output, dims: [4] } });
  if (output.join(',') !== '-1,2,-3,4') {
    throw new Error(`onnxruntime-node's synchronous binding did not write its output in place (got ${output.join(',')})`);
  }
}
