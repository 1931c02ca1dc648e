/**
 * RFC 9457 problem details. Handlers throw a ProblemError (or one of the helpers below), the
 * domain throws its own errors (server/errors.ts); the error middleware turns both, and the errors
 * of the body parsers, into `application/problem+json`. Any other error is a server fault: logged
 * with its stack, answered 500 without internals.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MulterError } from 'multer';
import {
  InvalidRequestError,
  ModelNotFoundError,
  ModelNotLoadedError,
  ModelUnavailableError,
  NoKnownWordError,
  PoolClosedError,
  QueueFullError,
  UnprocessableImageError,
  UnsupportedImageError,
  WrongTaskError,
} from '../errors.ts';
import { allowedMethods } from './allowed-methods.ts';
import { TASK_ENDPOINTS } from './endpoints.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    /** Short slug, also the end of the `type` URI: `urn:ganserve:problem:<slug>`. */
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
  }

  toJSON(instance?: string): ProblemDetails {
    return {
      type: `urn:ganserve:problem:${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance === undefined ? {} : { instance }),
      ...this.extensions,
    };
  }
}

export const problems = {
  badRequest: (detail: string, extensions?: Record<string, unknown>) =>
    new ProblemError(400, 'bad-request', 'Bad request', detail, {}, extensions),
  wrongTask: (detail: string) => new ProblemError(400, 'wrong-task', 'Endpoint not valid for this model', detail),
  missingImage: (detail: string) => new ProblemError(400, 'missing-image', 'No image in the request', detail),
  notFound: (detail: string) => new ProblemError(404, 'not-found', 'Not found', detail),
  methodNotAllowed: (detail: string, allow: string[]) =>
    new ProblemError(405, 'method-not-allowed', 'Method not allowed', detail, { Allow: allow.join(', ') }),
  tooLarge: (detail: string) => new ProblemError(413, 'payload-too-large', 'Request body too large', detail),
  unsupportedMediaType: (detail: string) => new ProblemError(415, 'unsupported-media-type', 'Unsupported media type', detail),
  unprocessableImage: (detail: string) => new ProblemError(422, 'unprocessable-image', 'Image cannot be processed', detail),
  unavailable: (detail: string, retryAfterSeconds?: number) =>
    new ProblemError(
      503,
      'service-unavailable',
      'Service unavailable',
      detail,
      retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) },
    ),
  internal: (detail = 'the server failed to process the request') => new ProblemError(500, 'internal', 'Internal server error', detail),
};

/** Seconds a client is told to wait when the pool has not loaded the model yet. */
const NOT_LOADED_RETRY_AFTER_SECONDS = 5;

/** The problem for a domain error (server/errors.ts), or null when `err` is none of them. */
function domainProblemOf(err: unknown): ProblemError | null {
  if (err instanceof InvalidRequestError) return problems.badRequest(err.message, err.details);
  if (err instanceof WrongTaskError) {
    return problems.wrongTask(
      `${err.message}: use POST /v1/models/${err.model}/${TASK_ENDPOINTS[err.task as keyof typeof TASK_ENDPOINTS]}`,
    );
  }
  if (err instanceof ModelNotFoundError) return problems.notFound(err.message);
  if (err instanceof UnsupportedImageError) return problems.unsupportedMediaType(err.message);
  if (err instanceof UnprocessableImageError) return problems.unprocessableImage(err.message);
  if (err instanceof NoKnownWordError) {
    return new ProblemError(
      422,
      'no-known-words',
      'Prompt has no known word',
      err.message,
      {},
      {
        ignoredWords: err.ignoredWords,
        vocabulary: err.vocabulary,
        vocabularySize: err.vocabularySize,
      },
    );
  }
  if (err instanceof ModelUnavailableError) return problems.unavailable(err.message, err.retryAfterSeconds);
  if (err instanceof QueueFullError) return problems.unavailable(err.message, err.retryAfterSeconds);
  if (err instanceof ModelNotLoadedError) return problems.unavailable(err.message, NOT_LOADED_RETRY_AFTER_SECONDS);
  if (err instanceof PoolClosedError) return problems.unavailable(err.message);
  return null;
}

/**
 * Maps a client mistake or a temporary refusal (a domain error, a body parser's or multer's error,
 * a full queue) to a ProblemError; returns null for server faults.
 */
export function clientErrorOf(err: unknown): ProblemError | null {
  if (err instanceof ProblemError) return err;
  const domainProblem = domainProblemOf(err);
  if (domainProblem !== null) return domainProblem;
  if (err instanceof MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE' || err.code === 'LIMIT_FIELD_VALUE') {
      return problems.tooLarge('the uploaded image is over the body size limit');
    }
    if (err.code === 'LIMIT_UNEXPECTED_FILE') {
      return problems.badRequest(`unexpected file field "${err.field ?? ''}": send the image in the field "image"`);
    }
    return problems.badRequest(`malformed multipart body: ${err.message}`);
  }
  if (typeof err === 'object' && err !== null) {
    const e = err as { type?: unknown; status?: unknown; message?: unknown };
    if (e.type === 'entity.too.large') return problems.tooLarge('the request body is over the size limit');
    const status = typeof e.status === 'number' ? e.status : 0;
    if (status >= 400 && status < 500) {
      // body-parser and busboy client errors (aborted, bad encoding, malformed multipart)
      const message = typeof e.message === 'string' ? e.message : 'malformed request';
      if (status === 413) return problems.tooLarge(message);
      if (status === 415) return problems.unsupportedMediaType(message);
      return problems.badRequest(message);
    }
    // busboy's own errors are thrown without a status: they are malformed multipart bodies
    if (typeof e.message === 'string' && /^(Malformed|Unexpected end of form|Multipart:)/i.test(e.message)) {
      return problems.badRequest(`malformed multipart body: ${e.message}`);
    }
  }
  return null;
}

/** Writes a problem response. */
export function sendProblem(res: Parameters<RequestHandler>[1], problem: ProblemError, instance?: string): void {
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem.toJSON(instance)));
}

/** The final handler for requests no route took: 405 on a known path (with Allow), else 404. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  const allow = allowedMethods(req.path);
  if (allow !== null && !allow.includes(req.method)) {
    next(problems.methodNotAllowed(`${req.method} is not allowed on ${req.path}: use ${allow.join(' or ')}`, allow));
    return;
  }
  next(problems.notFound(`no route for ${req.method} ${req.path}`));
};

/** The error middleware: problem+json for everything, 4xx for client mistakes, 500 only for faults. */
export const problemHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const clientError = clientErrorOf(err);
  if (clientError === null) req.log?.error({ err }, 'request failed');
  sendProblem(res, clientError ?? problems.internal(), req.originalUrl);
};
