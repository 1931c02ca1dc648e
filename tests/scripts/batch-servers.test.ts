/**
 * Scale-out: the CLI spreads files over two real servers and, when one dies mid-run, retries its
 * files on the other and still completes. The retry rules (503 and connection errors retried with
 * backoff, other 4xx failing the file at once) are checked against a scripted server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranslateCommand } from '../../scripts/batch/args.ts';
import { RemoteConverter } from '../../scripts/batch/remote-runner.ts';
import { readFileSync } from 'node:fs';
import { exactLabelGenerator, writeModelFolder } from '../helpers/generator-models.ts';
import { busyConvModel, imageManifest, writeModel } from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from '../server/harness.ts';
import { outputImages, readReport, runCli, spawnCli, tempDir, waitFor, writeImage } from './batch-harness.ts';

describe('across two servers', () => {
  const IMAGES = 16;
  let servers: TestServer[] = [];
  let input: string;
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = tempDir('models');
    writeModel(modelsDir, 'busy', imageManifest('busy'), busyConvModel(32));
    const digits = exactLabelGenerator({ name: 'digits' });
    await writeModelFolder(modelsDir, digits.manifest, digits.onnx);
    input = tempDir('in');
    for (let i = 0; i < IMAGES; i++) await writeImage(path.join(input, `set-${i % 3}`, `p${i}.png`), 192, 160, 200 + i, 'png');
    servers = await Promise.all([0, 1].map(() => startTestServer(modelsDir, { INFERENCE_WORKERS: '1', INFERENCE_THREADS: '1' })));
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('completes when one server is killed mid-run', async () => {
    const [survivor, victim] = servers as [TestServer, TestServer];
    const output = tempDir('out');
    const { done } = spawnCli([
      'translate',
      '--model',
      'busy',
      '--input',
      input,
      '--output',
      output,
      '--server',
      survivor.url,
      '--server',
      victim.url,
      '--concurrency',
      '4',
    ]);

    await waitFor(() => outputImages(output).length >= 3, 60_000, 'the first outputs');
    // Kill the second server: drop its open connections (requests in flight break) and stop listening.
    victim.server.close();
    victim.server.closeAllConnections();
    const result = await done;

    expect(result.code, result.stderr).toBe(0);
    expect(outputImages(output)).toHaveLength(IMAGES);
    for (const file of outputImages(output))
      expect(await sharp(path.join(output, file)).metadata()).toMatchObject({ width: 192, height: 160 });
    const report = readReport(output);
    expect(report.totals).toMatchObject({ converted: IMAGES, failed: 0 });
    const usedServers = new Set(report.files.map((f) => f.server));
    expect(usedServers.has(survivor.url)).toBe(true);
    expect([...usedServers].every((url) => url === survivor.url || url === victim.url)).toBe(true);
    // The requests the victim had in flight broke off and were retried.
    expect(report.files.some((f) => (f.retries ?? 0) > 0)).toBe(true);
  });

  it('generates on a server the same files as in-process', async () => {
    const [survivor] = servers as [TestServer];
    const remote = tempDir('gen');
    const local = tempDir('gen');
    const argv = ['generate', '--model', 'digits', '--labels', '3,5', '--count', '3', '--seed', '9'];
    const remoteRun = await runCli([...argv, '--output', remote, '--server', survivor.url]);
    expect(remoteRun.code, remoteRun.stderr).toBe(0);
    const localRun = await runCli([...argv, '--output', local], { MODELS_DIR: modelsDir, INFERENCE_WORKERS: '1', INFERENCE_THREADS: '1' });
    expect(localRun.code, localRun.stderr).toBe(0);
    expect(outputImages(remote)).toEqual(['3/10.png', '3/11.png', '3/9.png', '5/10.png', '5/11.png', '5/9.png']);
    for (const file of outputImages(remote)) expect(readFileSync(path.join(remote, file))).toEqual(readFileSync(path.join(local, file)));
  });
});

describe('retry rules', () => {
  /** A server that answers translate requests from a script of statuses, then 200s. */
  function scriptedServer(statuses: number[], modelStatus = 'ready'): Promise<{ server: Server; url: string; calls: () => number }> {
    let calls = 0;
    const server = createServer((req, res) => {
      if (req.method === 'GET') {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ name: 'm', task: 'image-to-image', status: modelStatus, reason: 'scripted reason' }));
        return;
      }
      req.resume();
      req.on('end', () => {
        const status = statuses[calls++] ?? 200;
        if (status === 200) {
          res.setHeader('Content-Type', 'image/png');
          res.end('converted');
          return;
        }
        res.statusCode = status;
        res.setHeader('Content-Type', 'application/problem+json');
        if (status === 503) res.setHeader('Retry-After', '0');
        res.end(JSON.stringify({ type: 'urn:x', title: 't', status, detail: `scripted ${status}` }));
      });
    });
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () =>
        resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls }),
      ),
    );
  }

  function command(servers: string[]): TranslateCommand {
    return { kind: 'translate', model: 'm', input: '/unused', output: '/unused', servers, overwrite: false, format: 'png' };
  }

  /** A URL nothing listens on: a port that was just freed. */
  async function deadUrl(): Promise<string> {
    const { server, url } = await scriptedServer([]);
    await new Promise((resolve) => server.close(resolve));
    return url;
  }

  const policy = { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 20, requestTimeoutMs: 5000, giveUpAfterMs: 60_000 };

  it('retries 503s and refused connections on the servers that work, and fails a 422 at once', async () => {
    const dead = await deadUrl();
    const flaky = await scriptedServer([503, 503, 200, 422]);
    const file = path.join(tempDir('in'), 'x.png');
    await writeImage(file, 4, 4, 1, 'png');
    try {
      const converter = await RemoteConverter.create(command([dead, flaky.url]), policy);
      const converted = await converter.convert({ kind: 'translate', inputPath: file });
      expect(converted).toMatchObject({ body: Buffer.from('converted'), server: flaky.url });
      expect(flaky.calls()).toBe(3);
      expect(converted.retries).toBeGreaterThanOrEqual(3); // two 503s and at least one refused connection
      await expect(converter.convert({ kind: 'translate', inputPath: file })).rejects.toThrow('HTTP 422: scripted 422');
      expect(flaky.calls()).toBe(4);
    } finally {
      flaky.server.close();
    }
  });

  it('gives up after the attempt limit when every server refuses', async () => {
    const always503 = await scriptedServer(Array(10).fill(503));
    const file = path.join(tempDir('in'), 'x.png');
    await writeImage(file, 4, 4, 1, 'png');
    try {
      const converter = await RemoteConverter.create(command([always503.url]), policy);
      await expect(converter.convert({ kind: 'translate', inputPath: file })).rejects.toThrow(
        /gave up after 5 attempts; last: .*HTTP 503: scripted 503/,
      );
      expect(always503.calls()).toBe(5);
      await expect(RemoteConverter.create(command([await deadUrl()]), policy)).rejects.toThrow(/no server answered.*ECONNREFUSED/);
    } finally {
      always503.server.close();
    }
  });

  it('stops retrying once every server has been failing for the give-up time, and refuses a model no server can serve', async () => {
    const always503 = await scriptedServer(Array(10).fill(503));
    const unavailable = await scriptedServer([], 'unavailable');
    const file = path.join(tempDir('in'), 'x.png');
    await writeImage(file, 4, 4, 1, 'png');
    try {
      const converter = await RemoteConverter.create(command([always503.url]), { ...policy, giveUpAfterMs: 0 });
      await expect(converter.convert({ kind: 'translate', inputPath: file })).rejects.toThrow(
        /every server is failing and none has converted a file/,
      );
      expect(always503.calls()).toBe(1);
      await expect(converter.convert({ kind: 'translate', inputPath: file })).rejects.toThrow(/every server is failing/);
      expect(always503.calls()).toBe(1); // failed at once, nothing sent
      await expect(RemoteConverter.create(command([unavailable.url]), policy)).rejects.toThrow(
        /unavailable on every server: .*scripted reason/,
      );
    } finally {
      always503.server.close();
      unavailable.server.close();
    }
  });
});
