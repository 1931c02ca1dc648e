/**
 * Express wiring only: logging, the routers, problem+json errors. Endpoints live in
 * server/http/routes/, one router factory each; add a factory to ROUTES to mount a new one.
 */
import express, { type Express, type Router } from 'express';
import type { Config } from './config.ts';
import { healthRoutes } from './http/routes/health.ts';
import { metricsRoutes } from './http/routes/metrics.ts';
import { authRoutes } from './http/auth.ts';
import { corsRoutes } from './http/cors.ts';
import { modelsRoutes } from './http/routes/models.ts';
import { generateRoutes } from './http/routes/generate.ts';
import { translateRoutes } from './http/routes/translate.ts';
import { docsRoutes } from './http/routes/docs.ts';
import { demoRoutes } from './http/routes/demo.ts';
import { notFoundHandler, problemHandler } from './http/problem.ts';
import { requestLog } from './http/request-log.ts';
import type { ImageInference, Inference } from './inference/pool.ts';
import type { Logger } from './log.ts';
import type { ModelRepository, VersionedLoader } from './models/repository.ts';
import type { ServerMetrics } from './observability/metrics.ts';

/** Everything a router may use. */
export interface AppDeps {
  config: Config;
  repository: ModelRepository;
  /** Runs requests; also loads and retires model versions (reload). */
  pool: Inference & ImageInference & VersionedLoader;
  logger: Logger;
  metrics: ServerMetrics;
  /** Set when shutdown begins: /readyz turns 503 and responses close their connections. */
  lifecycle: { draining: boolean };
}

export type RouteFactory = (deps: AppDeps) => Router;

/**
 * The routers, in mount order: metrics first (it counts every request, refusals included), then
 * CORS (preflights answer before the key check), then the API-key check, then the endpoints.
 */
export const ROUTES: RouteFactory[] = [metricsRoutes, corsRoutes, authRoutes, healthRoutes, modelsRoutes, translateRoutes, generateRoutes, docsRoutes, demoRoutes];

export function createApp(deps: AppDeps, routes: RouteFactory[] = ROUTES): Express {
  const app = express();
  app.disable('x-powered-by');
  // No automatic weak ETag: hashing every POST answer (translated images, generated digits) buys
  // nothing; seeded GET generate responses set their own strong ETag.
  app.set('etag', false);
  app.use(requestLog(deps.logger));
  app.use((_req, res, next) => {
    // While draining, keep-alive clients are told to reconnect (to another replica).
    if (deps.lifecycle.draining) res.setHeader('Connection', 'close');
    next();
  });
  for (const factory of routes) app.use(factory(deps));
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
