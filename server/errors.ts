/**
 * The errors the domain (models, inference, imaging, generation, pipeline) throws. They know
 * nothing of HTTP: server/http/problem.ts maps each one to its problem+json status, and the batch
 * CLI prints their messages.
 */

/** The caller asked for something the model cannot do (a label out of range, a prompt on a label model): 400. */
export class InvalidRequestError extends Error {
  constructor(
    message: string,
    /** Facts that help the caller fix the request (e.g. the model's classes). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** The bytes are not an image in a format the server reads: 415. */
export class UnsupportedImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedImageError';
  }
}

/** The image is corrupt, truncated or over the pixel limit: 422. */
export class UnprocessableImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnprocessableImageError';
  }
}

/** None of a prompt's words is in the model's vocabulary: 422, with a sample of the vocabulary. */
export class NoKnownWordError extends Error {
  constructor(
    message: string,
    readonly ignoredWords: string[],
    /** The first words of the vocabulary, as a hint. */
    readonly vocabulary: string[],
    readonly vocabularySize: number,
  ) {
    super(message);
    this.name = 'NoKnownWordError';
  }
}

/** No model of that name: 404. */
export class ModelNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

/** The endpoint does not fit the model's task (generate on a translator): 400. */
export class WrongTaskError extends Error {
  constructor(
    readonly model: string,
    /** The task the model does. */
    readonly task: string,
  ) {
    super(`model "${model}" is a ${task} model`);
    this.name = 'WrongTaskError';
  }
}

/** The model cannot serve now (loading, or failed to load): 503, with Retry-After when it is worth retrying. */
export class ModelUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ModelUnavailableError';
  }
}

/** The model's queue is full: 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(
    readonly model: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`the queue for model "${model}" is full; retry in ${retryAfterSeconds} s`);
    this.name = 'QueueFullError';
  }
}

/** The model is not loaded in the pool (still loading, failed, or unknown to it): 503. */
export class ModelNotLoadedError extends Error {
  constructor(readonly model: string) {
    super(`model "${model}" is not loaded`);
    this.name = 'ModelNotLoadedError';
  }
}

/** The pool is shutting down and takes no new work: 503. */
export class PoolClosedError extends Error {
  constructor() {
    super('the inference pool is shutting down');
    this.name = 'PoolClosedError';
  }
}

/** The session failed to run (bad shapes for this model, a worker crash): a server fault, 500. */
export class InferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InferenceError';
  }
}

/** The reason an aborted signal carries, as an Error. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the request was aborted');
}
