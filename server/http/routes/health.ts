/** Liveness and readiness probes. */
import { Router } from 'express';
import type { AppDeps } from '../deps.ts';

export function healthRoutes({ repository, lifecycle }: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    if (lifecycle.draining) {
      res.status(503).json({ ready: false, draining: true, loading: [] });
      return;
    }
    const loading = repository
      .list()
      .filter((m) => m.status === 'loading')
      .map((m) => m.name);
    res.status(loading.length === 0 ? 200 : 503).json({ ready: loading.length === 0, loading });
  });
  return router;
}
