/** The process logger (pino, JSON lines). LOG_LEVEL=silent keeps tests quiet. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Request headers that carry credentials (API keys arrive as `Authorization: Bearer …`): logged as [Redacted]. */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key'];

/** Writes JSON lines to stdout, or to `destination` (tests). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, base: { service: 'ganserve' }, redact: { paths: SECRET_HEADERS.map((header) => `req.headers["${header}"]`), censor: '[Redacted]' } },
    destination ?? pino.destination(1),
  );
}
