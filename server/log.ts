/** The process logger (pino, JSON lines). LOG_LEVEL=silent keeps tests quiet. */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'ganserve' } });
}
