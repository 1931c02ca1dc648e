/**
 * Optional API keys: when any are configured, every /v1/* request needs
 * `Authorization: Bearer <key>`; without a valid one the answer is 401 problem+json with a
 * WWW-Authenticate challenge. Health, readiness, metrics and anything outside /v1 stay open, so
 * probes and scrapers need no secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { AppDeps } from './deps.ts';
import { ProblemError } from './problem.ts';

/** Keys are compared as SHA-256 digests: equal length, so timingSafeEqual applies to any key. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** True if `candidate` equals one of the keys; every key is compared, in constant time each. */
export function matchesKey(candidate: string, keyDigests: Buffer[]): boolean {
  const given = digest(candidate);
  let matched = false;
  for (const key of keyDigests) matched = timingSafeEqual(given, key) || matched;
  return matched;
}

function unauthorized(detail: string, error?: 'invalid_token'): ProblemError {
  const challenge = `Bearer realm="ganserve"${error ? `, error="${error}"` : ''}`;
  return new ProblemError(401, 'unauthorized', 'Unauthorized', detail, { 'WWW-Authenticate': challenge });
}

export function authRoutes({ config }: AppDeps): Router {
  const router = Router();
  if (config.apiKeys.length === 0) return router;
  const keyDigests = config.apiKeys.map(digest);
  router.use('/v1', (req, _res, next) => {
    if (req.method === 'OPTIONS') return next(); // CORS preflights carry no credentials
    const header = req.headers.authorization;
    if (header === undefined) return next(unauthorized('this API needs a key: send "Authorization: Bearer <key>"'));
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) return next(unauthorized('the Authorization header must be "Bearer <key>"', 'invalid_token'));
    if (!matchesKey(match[1]!, keyDigests)) return next(unauthorized('the API key is not valid', 'invalid_token'));
    next();
  });
  return router;
}
