/**
 * Composition: config → repository → inference pool → app → listening HTTP server. The server
 * listens at once; models load in the background (readyz answers 503 until they are done).
 * main.ts, the tests and the benchmarks all start the server through here.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import type { RouteFactory } from './http/deps.ts';
import { preparePhotoPng } from './imaging/png.ts';
import { DEVICE_LABELS, settleDeviceSetting } from './inference/device.ts';
import { InferencePool } from './inference/pool.ts';
import type { Logger } from './log.ts';
import { ModelRepository } from './models/repository.ts';
import { ServerMetrics } from './observability/metrics.ts';
import { watchModels, type ModelWatcher } from './models/watcher.ts';

export interface RunningServer {
  server: Server;
  /** The bound port (useful with PORT=0). */
  port: number;
  repository: ModelRepository;
  pool: InferencePool;
  metrics: ServerMetrics;
  /** Resolves when every valid model has been loaded (or marked unavailable). */
  loaded: Promise<void>;
  /**
   * Turns /readyz to 503, keeps serving for SHUTDOWN_DELAY_MS, then stops accepting, lets
   * in-flight requests finish, and ends the workers.
   */
  close(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger, routes?: RouteFactory[]): Promise<RunningServer> {
  await preparePhotoPng();
  const device = settleDeviceSetting(config.device);
  if (device !== config.device)
    logger.info({ device: config.device }, 'DEVICE=auto: no NVIDIA driver on this machine; running every model on the CPU');
  const repository = await ModelRepository.scan(config.modelsDir, device);
  for (const entry of repository.list()) {
    if (entry.status === 'unavailable') logger.warn({ model: entry.name, reason: entry.reason }, 'model unavailable');
  }
  const lifecycle = { draining: false };
  // The gauges read the pool's queues at scrape time; the pool reports each run to the metrics.
  const metrics: ServerMetrics = new ServerMetrics(() => pool.loads());
  const pool: InferencePool = new InferencePool({
    workers: config.workers,
    threadsPerWorker: config.threadsPerWorker,
    soloThreads: config.soloThreads,
    device,
    queueLimit: config.queueLimit,
    onWorkerError: (err) => logger.error({ err }, 'inference worker failed and was replaced'),
    observer: metrics,
    cudaDeviceId: config.cudaDeviceId,
  });
  try {
    const resolved = await pool.resolveDevice();
    if (resolved.skipped.length > 0) {
      const names = resolved.skipped.map((s) => DEVICE_LABELS[s.provider]);
      const reason = resolved.skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
      logger.warn(
        { device: config.device, reason },
        `DEVICE=auto: the ${names.join(' and ')} execution provider${names.length > 1 ? 's' : ''} cannot be loaded; running every model on ${DEVICE_LABELS[resolved.device]}`,
      );
    } else {
      logger.info({ device: resolved.device }, 'execution provider');
    }
  } catch (err) {
    await pool.close();
    throw err;
  }
  const app = createApp({ config, repository, pool, logger, metrics, lifecycle }, routes);
  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  logger.info(
    {
      host: config.host,
      port,
      modelsDir: config.modelsDir,
      workers: config.workers,
      threadsPerWorker: config.threadsPerWorker,
      soloThreads: config.soloThreads,
    },
    'listening',
  );

  const loaded = repository.loadAll(pool, (entry) => {
    if (entry.status === 'ready') logger.info({ model: entry.name, provider: entry.provider }, 'model ready');
    else logger.warn({ model: entry.name, reason: entry.reason }, 'model unavailable');
  });
  loaded.then(() => logger.info({ models: repository.list().length }, 'all models loaded'));
  // Watching starts after the first load, so start-up writes do not trigger reloads.
  let watcher: ModelWatcher | undefined;
  const watching = config.modelsWatch
    ? loaded.then(() => {
        if (!lifecycle.draining) watcher = watchModels(repository, pool, logger, config.modelsWatchDebounceMs);
      })
    : Promise.resolve();

  const close = async (): Promise<void> => {
    lifecycle.draining = true;
    await watching;
    watcher?.close();
    if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await pool.close();
  };
  return { server, port, repository, pool, metrics, loaded, close };
}
