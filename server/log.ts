/** The process logger (pino, JSON lines). LOG_LEVEL=silent keeps tests quiet. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Writes JSON lines to stdout, or to `destination` (tests). Requests are logged by http/request-log.ts. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'ganserve' } }, destination ?? pino.destination(1));
}
