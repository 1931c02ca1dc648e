/**
 * /openapi.json is valid OpenAPI 3.1 and documents every route the running app mounts: the test
 * walks the Express router stack, so a new endpoint without documentation fails here.
 */
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_DOCUMENT } from '../../server/http/openapi.ts';
import { tempModelsDir } from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** "METHOD /path" for every route in the router tree, with Express `:param` as OpenAPI `{param}`. */
function mountedOperations(stack: Layer[]): string[] {
  const found: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const routePath of paths) {
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
          found.push(`${method.toUpperCase()} ${routePath.replace(/:(\w+)/g, '{$1}')}`);
        }
      }
    } else if (layer.handle?.stack) {
      found.push(...mountedOperations(layer.handle.stack));
    }
  }
  return found;
}

function documentedOperations(): string[] {
  return Object.entries(OPENAPI_DOCUMENT.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

let server: TestServer;
let app: Express;

beforeAll(async () => {
  server = await startTestServer(tempModelsDir());
  app = server.server.listeners('request')[0] as Express;
});
afterAll(() => server?.close());

describe('OpenAPI document', () => {
  it('is served as JSON and declares OpenAPI 3.1', async () => {
    const res = await request(server.url)
      .get('/openapi.json')
      .expect(200)
      .expect('Content-Type', /application\/json/);
    expect(res.body.openapi).toMatch(/^3\.1\.\d+$/);
    expect(res.body.info.title).toBe('ganserve');
    expect(res.body).toEqual(JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
  });

  it('documents every mounted route', () => {
    const mounted = mountedOperations((app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(mounted).toContain('POST /v1/models/{name}/translate');
    expect(mounted).toContain('GET /v1/models/{name}/generate');
    const documented = new Set(documentedOperations());
    expect(mounted.filter((op) => !documented.has(op))).toEqual([]);
  });

  it('documents nothing that is not served (the demo page at / is served by express.static, not a route)', async () => {
    const mounted = new Set(mountedOperations((app as unknown as { router: { stack: Layer[] } }).router.stack));
    expect(documentedOperations().filter((op) => !mounted.has(op))).toEqual(['GET /']);
    await request(server.url)
      .get('/')
      .expect(200)
      .expect('Content-Type', /text\/html/);
  });

  it('resolves every $ref to a component schema', () => {
    const refs = [...JSON.stringify(OPENAPI_DOCUMENT).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) expect(OPENAPI_DOCUMENT.components.schemas).toHaveProperty(ref);
  });

  it('gives every operation a problem+json schema for its error responses and path parameters for its templates', () => {
    for (const [path, item] of Object.entries(OPENAPI_DOCUMENT.paths)) {
      for (const operation of Object.values(item) as Array<{
        responses: Record<string, { content?: Record<string, unknown> }>;
        parameters?: Array<{ name: string; in: string }>;
      }>) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) >= 400 && path !== '/readyz')
            expect(response.content, `${path} ${status}`).toHaveProperty(['application/problem+json']);
        }
        for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
          expect(
            operation.parameters?.some((p) => p.in === 'path' && p.name === name),
            `${path} {${name}}`,
          ).toBe(true);
        }
      }
    }
  });

  it('serves the interactive docs page, self-contained (no external scripts or styles)', async () => {
    const res = await request(server.url)
      .get('/docs')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    expect(res.text).toContain('/openapi.json');
    expect(res.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    await request(server.url)
      .get('/docs.js')
      .expect(200)
      .expect('Content-Type', /javascript/);
  });

  it('serves Swagger UI from the swagger-ui-dist package, and nothing else of it', async () => {
    await request(server.url)
      .get('/docs/swagger-ui/swagger-ui-bundle.js')
      .expect(200)
      .expect('Content-Type', /javascript/);
    await request(server.url).get('/docs/swagger-ui/swagger-ui.css').expect(200).expect('Content-Type', /css/);
    await request(server.url)
      .get('/docs/swagger-ui/index.html')
      .expect(404)
      .expect('Content-Type', /problem\+json/);
  });
});
