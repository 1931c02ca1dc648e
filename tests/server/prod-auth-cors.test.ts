import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { matchesKey } from '../../server/http/auth.ts';
import { createLogger } from '../../server/log.ts';
import { colourMixModel, imageManifest, rotateAndInvert, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

function modelsDir(): string {
  const dir = tempModelsDir();
  writeModel(dir, 'mix', imageManifest('mix'), colourMixModel('NCHW', rotateAndInvert([-1, 1])));
  return dir;
}

describe('API keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    const keyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'ganserve-keys-')), 'keys');
    writeFileSync(keyFile, '# team keys\nfile-key-1\n\n  file-key-2  \n');
    server = await startTestServer(modelsDir(), { API_KEYS: 'env-key-a, env-key-b', API_KEYS_FILE: keyFile });
  });
  afterAll(async () => server?.close());

  it('answers 401 problem+json with a Bearer challenge without a valid key', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: 'Basic ZW52LWtleS1hOg==' },
      { Authorization: 'Bearer env-key-a-but-longer' },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${server.url}/v1/models`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="ganserve"/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ type: 'urn:ganserve:problem:unauthorized', status: 401, title: 'Unauthorized' });
      expect(String(body.detail)).toMatch(/key|Bearer/);
    }
    // Also before the body is read on per-model endpoints.
    const post = await fetch(`${server.url}/v1/models/mix/translate`, {
      method: 'POST',
      body: 'x',
      headers: { 'Content-Type': 'image/png' },
    });
    expect(post.status).toBe(401);
  });

  it('accepts every key from API_KEYS and API_KEYS_FILE', async () => {
    for (const key of ['env-key-a', 'env-key-b', 'file-key-1', 'file-key-2']) {
      const res = await fetch(`${server.url}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });
      expect(res.status, key).toBe(200);
    }
    const lower = await fetch(`${server.url}/v1/models/mix`, { headers: { Authorization: 'bearer env-key-b' } });
    expect(lower.status).toBe(200);
  });

  it('leaves health, readiness and metrics open', async () => {
    for (const probe of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`${server.url}${probe}`)).status, probe).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/ganserve_inference_request_total\{model="",endpoint="models",status="401"\} [1-9]/);
  });

  it('logs each request with an allowlist of headers, so keys and cookies stay out of the log', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const logged = await startTestServer(modelsDir(), { API_KEYS: 'secret-key-123' }, logger);
    try {
      expect(
        (await fetch(`${logged.url}/v1/models`, { headers: { Authorization: 'Bearer secret-key-123', Cookie: 'session=abc' } })).status,
      ).toBe(200);
      expect((await fetch(`${logged.url}/v1/models`, { headers: { Authorization: 'Bearer wrong-key-456' } })).status).toBe(401);
    } finally {
      await logged.close();
    }
    type Line = { req?: { id: string; method: string; url: string; headers: Record<string, string> }; res?: { statusCode: number } };
    const requests = lines.map((line) => JSON.parse(line) as Line).filter((entry) => entry.req?.url === '/v1/models');
    expect(requests.map((entry) => entry.res?.statusCode)).toEqual([200, 401]);
    for (const { req } of requests) {
      expect(req).toMatchObject({ method: 'GET', id: expect.stringMatching(/^[\w-]{36}$/) });
      expect(Object.keys(req!.headers).sort()).toEqual(['accept', 'host', 'user-agent']);
    }
    expect(lines.join('')).not.toMatch(/secret-key-123|wrong-key-456|session=abc/);
  });

  it('compares keys by digest, whatever their lengths', () => {
    const keys = ['abc', 'a much longer key'].map((k) => createHash('sha256').update(k).digest());
    expect(matchesKey('abc', keys)).toBe(true);
    expect(matchesKey('a much longer key', keys)).toBe(true);
    expect(matchesKey('ab', keys)).toBe(false);
    expect(matchesKey('', keys)).toBe(false);
  });

  it('refuses to start with an unreadable or empty key file', () => {
    expect(() => loadConfig({ API_KEYS_FILE: '/nonexistent/keys' }, 2)).toThrow(/API_KEYS_FILE: cannot read/);
    const empty = path.join(mkdtempSync(path.join(os.tmpdir(), 'ganserve-keys-')), 'keys');
    writeFileSync(empty, '# nothing\n\n');
    expect(() => loadConfig({ API_KEYS_FILE: empty }, 2)).toThrow(/holds no key/);
    expect(loadConfig({}, 2).apiKeys).toEqual([]);
  });
});

describe('CORS', () => {
  let open: TestServer;
  let listed: TestServer;
  beforeAll(async () => {
    const dir = modelsDir();
    open = await startTestServer(dir);
    listed = await startTestServer(dir, { CORS_ORIGINS: 'https://app.example, https://admin.example', API_KEYS: 'k' });
  });
  afterAll(async () => {
    await open?.close();
    await listed?.close();
  });

  it('is off unless CORS_ORIGINS is set', async () => {
    const res = await fetch(`${open.url}/v1/models`, { headers: { Origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows only the listed origins, answers preflights without a key, and exposes the API headers', async () => {
    const preflight = await fetch(`${listed.url}/v1/models/mix/translate`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/i);

    const allowed = await fetch(`${listed.url}/v1/models`, { headers: { Origin: 'https://admin.example', Authorization: 'Bearer k' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example');
    expect(allowed.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/);

    const other = await fetch(`${listed.url}/v1/models`, { headers: { Origin: 'https://evil.example', Authorization: 'Bearer k' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('reads CORS_ORIGINS=* as any origin', async () => {
    const config = loadConfig({ CORS_ORIGINS: '*' }, 2);
    expect(config.corsOrigins).toEqual(['*']);
  });
});
