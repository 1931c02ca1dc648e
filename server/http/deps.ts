/** What the HTTP layer gets from the composition root (server/server.ts): everything a router may use. */
import type { Router } from 'express';
import type { Config } from '../config.ts';
import type { ImageInference, Inference } from '../inference/contract.ts';
import type { Logger } from '../log.ts';
import type { ModelRepository, VersionedLoader } from '../models/repository.ts';
import type { ServerMetrics } from '../observability/metrics.ts';

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

/** One endpoint group: a router built from the app's dependencies. */
export type RouteFactory = (deps: AppDeps) => Router;
