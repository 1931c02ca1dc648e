import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';
import { DeviceUnavailableError, nvidiaDriverPresent, providerCandidates, settleDeviceSetting } from '../../server/inference/device.ts';
import { InferencePool } from '../../server/inference/pool.ts';
import { colourMixModel, imageManifest, rotateAndInvert, tempModelsDir, writeModel } from '../helpers/image-models.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function modelsDir(): string {
  const dir = tempModelsDir();
  writeModel(
    dir,
    'mix',
    { ...imageManifest('mix'), input: { ...imageManifest('mix').input, warmupSide: 64 } },
    colourMixModel('NCHW', rotateAndInvert([-1, 1])),
  );
  return dir;
}

// No GPU and no CUDA provider library here (onnxruntime-node-install=skip): session creation with
// the 'cuda' provider throws "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library".
describe('DEVICE', () => {
  it('reads DEVICE, and --device over it', () => {
    expect(loadConfig({}, 2).device).toBe('auto');
    expect(loadConfig({ DEVICE: 'auto' }, 2).device).toBe('auto');
    expect(loadConfig({ DEVICE: 'cpu' }, 2, ['--device', 'cuda']).device).toBe('cuda');
    expect(loadConfig({}, 2, ['--device=auto']).device).toBe('auto');
    expect(() => loadConfig({ DEVICE: 'gpu' }, 2)).toThrow(/DEVICE/);
    expect(loadConfig({ CUDA_DEVICE_ID: '1' }, 2).cudaDeviceId).toBe(1);
  });

  it('auto tries CUDA only where an NVIDIA driver is', () => {
    expect(settleDeviceSetting('auto', false)).toBe('cpu');
    expect(settleDeviceSetting('auto', true)).toBe('auto');
    expect(settleDeviceSetting('cuda', false)).toBe('cuda');
    expect(settleDeviceSetting('cpu', true)).toBe('cpu');
    const dir = tempModelsDir();
    expect(nvidiaDriverPresent([path.join(dir, 'missing')])).toBe(false);
    expect(nvidiaDriverPresent([path.join(dir, 'missing'), dir])).toBe(true);
  });

  it('auto tries CUDA, then WebGPU, then the CPU', () => {
    expect(providerCandidates('auto')).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(providerCandidates('webgpu')).toEqual(['webgpu']);
    expect(loadConfig({ DEVICE: 'webgpu' }, 2).device).toBe('webgpu');
  });

  it('a pool asked for auto falls back past the providers that cannot load, and says why', async () => {
    const pool = new InferencePool({ workers: 2, threadsPerWorker: 1, device: 'auto', queueLimit: 4 });
    try {
      const resolved = await pool.resolveDevice();
      expect(resolved.skipped[0]).toEqual({ provider: 'cuda', reason: expect.stringMatching(/Cuda|CUDA|shared library/) });
      if (resolved.device === 'cpu') {
        // No GPU adapter either (this machine): WebGPU was tried and skipped too.
        expect(resolved.skipped.map((s) => s.provider)).toEqual(['cuda', 'webgpu']);
        expect(resolved.skipped[1]!.reason).toMatch(/adapter/);
      } else {
        expect(resolved.device).toBe('webgpu');
      }
      expect(await pool.resolveDevice()).toBe(resolved); // settled once
    } finally {
      await pool.close();
    }
  });

  it('webgpu without a GPU adapter refuses to start, naming what it needs', async () => {
    const pool = new InferencePool({ workers: 2, threadsPerWorker: 1, device: 'webgpu', queueLimit: 4 });
    try {
      const outcome = await pool.resolveDevice().then(
        (resolved) => resolved,
        (err: Error) => err,
      );
      if (outcome instanceof Error) {
        expect(outcome).toBeInstanceOf(DeviceUnavailableError);
        expect(outcome.message).toMatch(
          /^DEVICE=webgpu, but onnxruntime's WebGPU execution provider cannot be loaded: .*adapter.*Vulkan.* set DEVICE=auto/,
        );
        // No model can load on a pool whose provider is unusable.
        await expect(pool.loadModel('mix', 'missing.onnx')).rejects.toBeInstanceOf(DeviceUnavailableError);
      } else {
        // A machine with a GPU adapter.
        expect(outcome).toEqual({ device: 'webgpu', skipped: [] });
      }
    } finally {
      await pool.close();
    }
  });

  it('auto serves on the CPU, with one log line saying why, and /v1/models shows the provider in use', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text));
        done();
      },
    });
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MODELS_DIR: modelsDir(), INFERENCE_WORKERS: '2', DEVICE: 'auto' });
    const running = await startServer(config, pino({ level: 'info' }, sink));
    try {
      await running.loaded;
      const warnings = lines.filter((l) => l.level === 40);
      let provider = 'cpu';
      if (nvidiaDriverPresent()) {
        // A GPU machine without onnxruntime's CUDA provider: tried, failed, one warning; then
        // WebGPU where a Vulkan adapter is found, else the CPU.
        expect(warnings).toHaveLength(1);
        const on = /running every model on (the CPU|WebGPU)$/.exec(String(warnings[0]!.msg))?.[1];
        expect(warnings[0]!.msg).toMatch(
          on === 'WebGPU'
            ? /^DEVICE=auto: the CUDA execution provider cannot be loaded;/
            : /^DEVICE=auto: the CUDA and WebGPU execution providers cannot be loaded;/,
        );
        expect(String(warnings[0]!.reason)).toMatch(/^cuda: .*(Cuda|CUDA|shared library)/);
        if (on === 'WebGPU') provider = 'webgpu';
      } else {
        // No NVIDIA driver: CUDA is not tried at all, so nothing to warn about.
        expect(warnings).toHaveLength(0);
        expect(lines.filter((l) => l.msg === 'DEVICE=auto: no NVIDIA driver on this machine; running every model on the CPU')).toHaveLength(
          1,
        );
      }
      const body = (await (await fetch(`http://127.0.0.1:${running.port}/v1/models`)).json()) as {
        models: Array<{ name: string; status: string; provider: string }>;
      };
      expect(body.models).toEqual([expect.objectContaining({ name: 'mix', status: 'ready', provider })]);
    } finally {
      await running.close();
    }
  });

  it('cuda exits at start with status 1 and a clear message when the CUDA provider cannot load', async () => {
    const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['server/main.ts', '--device', 'cuda'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MODELS_DIR: modelsDir(), INFERENCE_WORKERS: '1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    const fatal = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.level === 60);
    expect(fatal?.msg).toMatch(/^DEVICE=cuda, but onnxruntime's CUDA execution provider cannot be loaded: .+ set DEVICE=auto/);
    expect(stdout).not.toMatch(/"msg":"listening"/);
  }, 30_000);
});
