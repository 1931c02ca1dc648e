/**
 * The synchronous onnxruntime path the training kernels stand on. It uses onnxruntime-node's
 * internal native binding, so these tests fail loudly when an upgrade moves or changes it.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { checkOrtSyncPath, PINNED_ORT_VERSION, SyncSession } from '../../training/backend/ort-sync.ts';
import { OnnxGraph } from '../../training/export/onnx-graph.ts';

const require = createRequire(import.meta.url);

function addGraph(): Uint8Array {
  const g = new OnnxGraph('add');
  g.input('a', 'float', [2, 3]);
  g.input('b', 'float', [2, 3]);
  g.output(g.op('Add', ['a', 'b'], {}, 'y'), 'float', [2, 3]);
  return g.toBytes();
}

describe('onnxruntime-node synchronous binding', () => {
  it('is the exact version the path was verified against, pinned in package.json', () => {
    expect((require('onnxruntime-node/package.json') as { version: string }).version).toBe(PINNED_ORT_VERSION);
    const manifest = require('../../package.json') as { dependencies: Record<string, string> };
    expect(manifest.dependencies['onnxruntime-node']).toBe(PINNED_ORT_VERSION);
  });

  it('still exposes a native InferenceSession whose run returns results, not a Promise', () => {
    const { binding, initOrt } = require('onnxruntime-node/dist/binding.js') as {
      binding: { InferenceSession: new () => { loadModel: (...args: unknown[]) => void; run: (...args: unknown[]) => unknown } };
      initOrt: () => void;
    };
    initOrt();
    const { Tensor } = require('onnxruntime-common') as { Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown };
    const session = new binding.InferenceSession();
    const model = addGraph();
    session.loadModel(model.buffer, model.byteOffset, model.byteLength, {});
    const one = new Float32Array(6).fill(1);
    const result = session.run({ a: new Tensor('float32', one, [2, 3]), b: new Tensor('float32', one, [2, 3]) }, { y: null }, {});
    expect(result).not.toBeInstanceOf(Promise);
    expect(Array.from((result as { y: { data: Float32Array } }).y.data)).toEqual([2, 2, 2, 2, 2, 2]);
  });

  it('passes the end-to-end self check that selectBackend runs', () => {
    expect(() => checkOrtSyncPath()).not.toThrow();
  });

  it('reads and writes views at offsets inside a larger buffer, in place, touching nothing else', () => {
    const heap = new Float32Array(32).fill(-7);
    const a = heap.subarray(2, 8);
    const b = heap.subarray(9, 15);
    const y = heap.subarray(20, 26);
    a.set([1, 2, 3, 4, 5, 6]);
    b.set([10, 20, 30, 40, 50, 60]);
    new SyncSession(addGraph()).run({ a: { data: a, dims: [2, 3] }, b: { data: b, dims: [2, 3] } }, { y: { data: y, dims: [2, 3] } });
    expect(Array.from(y)).toEqual([11, 22, 33, 44, 55, 66]);
    expect(Array.from(heap.subarray(15, 20))).toEqual([-7, -7, -7, -7, -7]);
    expect(Array.from(heap.subarray(26))).toEqual([-7, -7, -7, -7, -7, -7]);
  });

  it('throws synchronously when onnxruntime rejects a call', () => {
    const session = new SyncSession(addGraph());
    const wrong = { data: new Float32Array(4), dims: [2, 2] };
    expect(() => session.run({ a: wrong, b: wrong }, { y: { data: new Float32Array(6), dims: [2, 3] } })).toThrow();
  });
});
