/**
 * The OpenAPI document and its interactive page: Swagger UI, from the swagger-ui-dist package,
 * served by this server (no CDN), started on /openapi.json by server/public/docs.js.
 */
import { createRequire } from 'node:module';
import express, { Router } from 'express';
import type { AppDeps } from '../deps.ts';
import { OPENAPI_DOCUMENT } from '../openapi.ts';
import { PUBLIC_DIR } from './demo.ts';

/** The package's own answer to where its files are (its main module would load the whole bundle). */
const getAbsoluteFSPath = createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js') as () => string;
/** The files of the package that the page loads; the rest of it (a demo page, maps) stays unserved. */
const SWAGGER_UI_FILES = new Set(['/swagger-ui.css', '/swagger-ui-bundle.js']);

export function docsRoutes(_deps: AppDeps): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI_DOCUMENT);
  });
  router.get('/docs', (_req, res) => {
    res.sendFile('docs.html', { root: PUBLIC_DIR });
  });
  const swaggerUi = express.static(getAbsoluteFSPath(), { index: false, maxAge: '1d' });
  router.use('/docs/swagger-ui', (req, res, next) => (SWAGGER_UI_FILES.has(req.path) ? swaggerUi(req, res, next) : next()));
  return router;
}
