/**
 * CORS, off unless CORS_ORIGINS is set: `*` allows any origin, otherwise a comma-separated list
 * of exact origins. Browsers may read the headers the API answers with (seed, request id, ...).
 */
import cors from 'cors';
import { Router } from 'express';
import type { AppDeps } from './deps.ts';

const EXPOSED_HEADERS = [
  'X-Request-Id',
  'X-Seed',
  'X-Image-Size',
  'Server-Timing',
  'X-Ignored-Words',
  'Retry-After',
  'ETag',
  'WWW-Authenticate',
];

export function corsRoutes({ config }: AppDeps): Router {
  const router = Router();
  if (config.corsOrigins.length === 0) return router;
  const origin = config.corsOrigins.includes('*') ? '*' : config.corsOrigins;
  router.use(cors({ origin, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 }));
  return router;
}
