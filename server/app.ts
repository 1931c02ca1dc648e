/**
 * Express wiring only: logging, the routers, problem+json errors. Endpoints live in
 * server/http/routes/, one router factory each; add a factory to ROUTES to mount a new one.
 */
import express, { type Express } from 'express';
import { authRoutes } from './http/auth.ts';
import { corsRoutes } from './http/cors.ts';
import type { AppDeps, RouteFactory } from './http/deps.ts';
import { notFoundHandler, problemHandler } from './http/problem.ts';
import { requestLog } from './http/request-log.ts';
import { demoRoutes } from './http/routes/demo.ts';
import { docsRoutes } from './http/routes/docs.ts';
import { generateRoutes } from './http/routes/generate.ts';
import { healthRoutes } from './http/routes/health.ts';
import { metricsRoutes } from './http/routes/metrics.ts';
import { modelsRoutes } from './http/routes/models.ts';
import { translateRoutes } from './http/routes/translate.ts';

/**
 * The routers, in mount order: metrics first (it counts every request, refusals included), then
 * CORS (preflights answer before the key check), then the API-key check, then the endpoints.
 */
export const ROUTES: RouteFactory[] = [
  metricsRoutes,
  corsRoutes,
  authRoutes,
  healthRoutes,
  modelsRoutes,
  translateRoutes,
  generateRoutes,
  docsRoutes,
  demoRoutes,
];

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
