/** Starts a real server (port 0, silent logs unless given a logger) over a models folder, for HTTP tests. */
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';

export interface TestServer extends RunningServer {
  url: string;
  config: Config;
}

export async function startTestServer(
  modelsDir: string,
  env: Record<string, string> = {},
  logger: Logger = pino({ level: 'silent' }),
): Promise<TestServer> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MODELS_DIR: modelsDir, LOG_LEVEL: 'silent', INFERENCE_WORKERS: '2', ...env });
  const running = await startServer(config, logger);
  await running.loaded;
  return { ...running, url: `http://127.0.0.1:${running.port}`, config };
}
