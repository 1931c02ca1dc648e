/**
 * GET /metrics (Prometheus text format), and the middleware that counts and times every request.
 * Mounted first so that it sees every request, 404s and refusals included. Labels stay bounded:
 * `model` is a known model's name or empty, `endpoint` one of a fixed set.
 */
import { Router, type Request } from 'express';
import type { AppDeps } from '../deps.ts';
import type { ModelRepository } from '../../models/repository.ts';

const PER_MODEL_PATH = /^\/v1\/models\/([^/]+)\/(translate|generate|reload)\/?$/;
const FIXED_ENDPOINTS = new Map([
  ['/healthz', 'healthz'],
  ['/readyz', 'readyz'],
  ['/metrics', 'metrics'],
  ['/v1/models', 'models'],
]);

/** The (model, endpoint) labels of a request; unknown models and paths fold into '' and 'other'. */
export function requestLabels(req: Request, repository: ModelRepository): { model: string; endpoint: string } {
  const path = req.path;
  const perModel = PER_MODEL_PATH.exec(path);
  if (perModel) {
    const name = safeDecode(perModel[1]!);
    return { model: repository.get(name) ? name : '', endpoint: perModel[2]! };
  }
  const fixed = FIXED_ENDPOINTS.get(path);
  if (fixed) return { model: '', endpoint: fixed };
  const modelInfo = /^\/v1\/models\/([^/]+)\/?$/.exec(path);
  if (modelInfo) {
    const name = safeDecode(modelInfo[1]!);
    return { model: repository.get(name) ? name : '', endpoint: 'model' };
  }
  return { model: '', endpoint: 'other' };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function metricsRoutes({ metrics, repository }: AppDeps): Router {
  const router = Router();
  router.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const labels = requestLabels(req, repository);
      metrics.requests.inc({ ...labels, status: String(res.statusCode) });
      metrics.requestDuration.observe(labels, (performance.now() - started) / 1000);
    });
    next();
  });
  router.get('/metrics', async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.type(metrics.registry.contentType).send(body);
  });
  return router;
}
