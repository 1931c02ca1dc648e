/**
 * Entry point (`npm start`): read the config, start the server, and on SIGTERM/SIGINT stop
 * accepting, drain in-flight requests, end the workers and exit 0.
 */
import { loadConfig, type Config } from './config.ts';
import { createLogger } from './log.ts';
import { startServer } from './server.ts';

let config: Config;
try {
  config = loadConfig(process.env, undefined, process.argv.slice(2));
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
const logger = createLogger(config.logLevel);
let running: Awaited<ReturnType<typeof startServer>>;
try {
  running = await startServer(config, logger);
} catch (err) {
  // e.g. DEVICE=cuda without a loadable CUDA provider, or the port in use: one clear line, exit 1.
  logger.fatal({ err }, (err as Error).message);
  process.exit(1);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: draining in-flight requests');
  const timer = setTimeout(() => {
    logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'drain timed out; exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs);
  timer.unref();
  await running.close();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
