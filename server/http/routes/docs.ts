/** The OpenAPI document and its interactive page (server/public/docs.html renders it in-browser). */
import { Router } from 'express';
import type { AppDeps } from '../deps.ts';
import { OPENAPI_DOCUMENT } from '../openapi.ts';
import { PUBLIC_DIR } from './demo.ts';

export function docsRoutes(_deps: AppDeps): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI_DOCUMENT);
  });
  router.get('/docs', (_req, res) => {
    res.sendFile('docs.html', { root: PUBLIC_DIR });
  });
  return router;
}
