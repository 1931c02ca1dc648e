import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPoolShape, loadConfig } from '../../server/config.ts';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, 8);
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      modelsDir: path.resolve('./models'),
      maxBodyBytes: 20 * 1024 * 1024,
      maxInputPixels: 40_000_000,
      workers: 4,
      threadsPerWorker: 2,
      soloThreads: 8,
      device: 'auto',
      logLevel: 'info',
    });
  });

  it('reads environment variables, sizing threads from the worker count', () => {
    const config = loadConfig(
      { PORT: '9000', HOST: '127.0.0.1', MODELS_DIR: '/srv/models', MAX_BODY_BYTES: '1000', INFERENCE_WORKERS: '3', LOG_LEVEL: 'silent' },
      12,
    );
    expect(config).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      modelsDir: '/srv/models',
      maxBodyBytes: 1000,
      workers: 3,
      threadsPerWorker: 4,
      logLevel: 'silent',
    });
    expect(loadConfig({ INFERENCE_WORKERS: '1', INFERENCE_THREADS: '6' }, 2).threadsPerWorker).toBe(6);
  });

  it("gives a lone run the whole pool's threads unless INFERENCE_SOLO_THREADS says otherwise", () => {
    expect(loadConfig({ INFERENCE_WORKERS: '3', INFERENCE_THREADS: '5' }, 2).soloThreads).toBe(15);
    expect(loadConfig({ INFERENCE_SOLO_THREADS: '0' }, 8).soloThreads).toBe(0);
    expect(loadConfig({ INFERENCE_SOLO_THREADS: '6' }, 8).soloThreads).toBe(6);
  });

  it('never oversubscribes by default: workers × threads ≤ cores', () => {
    for (const cores of [1, 2, 3, 4, 6, 8, 16, 64]) {
      const { workers, threadsPerWorker } = defaultPoolShape(cores);
      expect(workers * threadsPerWorker).toBeLessThanOrEqual(cores);
      expect(workers * threadsPerWorker).toBeGreaterThan(cores / 2);
    }
  });

  it.each([
    { PORT: 'eighty' },
    { PORT: '70000' },
    { MAX_BODY_BYTES: '-1' },
    { INFERENCE_WORKERS: '0' },
    { INFERENCE_SOLO_THREADS: '-2' },
    { DEVICE: 'tpu' },
    { LOG_LEVEL: 'loud' },
  ])('refuses %j naming the variable', (env) => {
    expect(() => loadConfig(env, 2)).toThrow(new RegExp(`invalid configuration: ${Object.keys(env)[0]}`));
  });
});
