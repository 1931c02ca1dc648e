/**
 * One JSON log line per request (pino-http), with the request id every answer echoes in
 * X-Request-Id. Requests are logged through an allowlist of headers, so credentials
 * (`Authorization: Bearer <API key>`, cookies, any custom token header) never reach the log; an
 * allowlist is also far cheaper per request than serializing every header and redacting some.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../log.ts';

/** Request headers worth a line in the log; every other header is left out. */
const LOGGED_HEADERS = ['host', 'user-agent', 'accept', 'content-type', 'content-length', 'x-forwarded-for', 'referer'] as const;

/** Probes polled by orchestrators: not logged unless they fail. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function requestForLog(req: IncomingMessage & { id?: unknown; originalUrl?: string }) {
  const headers: Record<string, string | string[]> = {};
  for (const name of LOGGED_HEADERS) {
    const value = req.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return { id: req.id, method: req.method, url: req.originalUrl ?? req.url, headers, remoteAddress: req.socket?.remoteAddress };
}

function responseForLog(res: ServerResponse) {
  return { statusCode: res.statusCode, contentType: res.getHeader('content-type'), contentLength: res.getHeader('content-length') };
}

export function requestLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    wrapSerializers: false,
    serializers: { req: requestForLog, res: responseForLog, err: pino.stdSerializers.err },
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    autoLogging: { ignore: (req) => QUIET_PATHS.has(req.url ?? '') },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
  }) as RequestHandler;
}
