import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { busyConvModel, imageManifest, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { startTestServer } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function busyModels(): string {
  const dir = tempModelsDir();
  writeModel(dir, 'busy', imageManifest('busy', { maxSide: 1024 }), busyConvModel(16));
  return dir;
}

async function bigPng() {
  return sharp({ create: { width: 768, height: 768, channels: 3, background: '#468' } })
    .png()
    .toBuffer();
}

describe('graceful shutdown', () => {
  it('answers /readyz 503 while draining, keeps serving through SHUTDOWN_DELAY_MS, and finishes in-flight work', async () => {
    const server = await startTestServer(busyModels(), { SHUTDOWN_DELAY_MS: '400', INFERENCE_WORKERS: '1' });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const png = await bigPng();
    const inFlight = fetch(`${server.url}/v1/models/busy/translate`, {
      method: 'POST',
      body: png,
      headers: { 'Content-Type': 'image/png' },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = server.close();

    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, draining: true });
    expect(ready.headers.get('connection')).toBe('close');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // Still accepted during the delay, and finished before close resolves.
    const late = fetch(`${server.url}/v1/models/busy/translate`, { method: 'POST', body: png, headers: { 'Content-Type': 'image/png' } });

    expect((await inFlight).status).toBe(200);
    expect((await late).status).toBe(200);
    await closed;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  }, 60_000);

  it('npm start: SIGTERM turns /readyz 503, finishes the in-flight request within SHUTDOWN_TIMEOUT_MS, and exits 0', async () => {
    // What `npm start` execs: plain node on the compiled server (npm test builds dist/ first).
    const child = spawn(process.execPath, ['dist/server/main.js'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        MODELS_DIR: busyModels(),
        LOG_LEVEL: 'info',
        INFERENCE_WORKERS: '1',
        SHUTDOWN_DELAY_MS: '500',
        SHUTDOWN_TIMEOUT_MS: '20000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout! });
      const url = await new Promise<string>((resolve) => {
        lines.on('line', (text) => {
          const line = JSON.parse(text) as { msg: string; port?: number };
          if (line.msg === 'listening') resolve(`http://127.0.0.1:${line.port}`);
        });
      });
      while ((await fetch(`${url}/readyz`)).status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
      const inFlight = fetch(`${url}/v1/models/busy/translate`, {
        method: 'POST',
        body: await bigPng(),
        headers: { 'Content-Type': 'image/png' },
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
      expect((await inFlight).status).toBe(200);
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
