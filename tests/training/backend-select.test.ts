/**
 * Backend selection: explicit choices, TRAIN_BACKEND, the 'auto' fallback chain (tfjs-node-gpu and
 * tfjs-node are optional and absent here), idempotence, and switching between wasm-ort and wasm.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ortKernelsRegistered } from '../../training/backend/ort-kernels.ts';
import { selectBackend } from '../../training/backend/select.ts';

const require = createRequire(import.meta.url);
const installed = (name: string) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};
const nativeTfInstalled = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

function collect(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

afterAll(async () => {
  await selectBackend('wasm-ort', { log: () => {} });
});

describe('selectBackend', () => {
  it('runs an explicit choice and prints which backend runs', async () => {
    const out = collect();
    await expect(selectBackend('cpu', out)).resolves.toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(out.lines).toEqual([expect.stringMatching(/^\[train\] backend: cpu \(/)]);
  });

  it('is idempotent: the same request again neither re-initialises nor prints', async () => {
    const out = collect();
    await expect(selectBackend('cpu', out)).resolves.toBe('cpu');
    expect(out.lines).toEqual([]);
  });

  it('re-activates when something else switched tfjs away from the selected backend', async () => {
    await tf.setBackend('wasm');
    const out = collect();
    await expect(selectBackend('cpu', out)).resolves.toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(out.lines).toHaveLength(1);
  });

  it.skipIf(nativeTfInstalled)("'auto' falls through the absent tfjs-node packages to wasm-ort and says why", async () => {
    const out = collect();
    await expect(selectBackend('auto', { ...out, env: {} })).resolves.toBe('wasm-ort');
    expect(tf.getBackend()).toBe('wasm');
    expect(ortKernelsRegistered()).toBe(true);
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatch(
      /backend: wasm-ort \(.*Conv2DBackpropFilter.*onnxruntime-node 1\.30\.0.*skipped tfjs-node-gpu: .*; tfjs-node: /,
    );
  });

  it('TRAIN_BACKEND forces a backend when no explicit one is asked for', async () => {
    await expect(selectBackend('auto', { log: () => {}, env: { TRAIN_BACKEND: 'cpu' } })).resolves.toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an unknown TRAIN_BACKEND or preference with the valid choices', async () => {
    await expect(selectBackend('auto', { log: () => {}, env: { TRAIN_BACKEND: 'gpu' } })).rejects.toThrow(
      /TRAIN_BACKEND='gpu' is not one of auto, tfjs-node-gpu, tfjs-node, wasm-ort, wasm, cpu/,
    );
    await expect(selectBackend('metal' as never, { log: () => {} })).rejects.toThrow(/unknown backend 'metal'/);
  });

  it.skipIf(nativeTfInstalled)('a forced backend that cannot load is an error, not a silent fallback', async () => {
    await expect(selectBackend('tfjs-node', { log: () => {} })).rejects.toThrow();
  });

  it("switches between 'wasm' (stock kernels) and 'wasm-ort' (delegated kernels)", async () => {
    await selectBackend('wasm', { log: () => {} });
    expect(tf.getBackend()).toBe('wasm');
    expect(ortKernelsRegistered()).toBe(false);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeUndefined();
    await selectBackend('wasm-ort', { log: () => {} });
    expect(ortKernelsRegistered()).toBe(true);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
  });
});
