/**
 * Per-request helpers shared by the endpoints: noticing a client that went away, and telling the
 * client where the time went.
 */
import type { Response } from 'express';

/** Aborts when the client goes away before the answer is written, so queued work is dropped. */
export function disconnectSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}

/**
 * `decode;dur=5.1, inference;dur=262.0;desc="batch of 4", …`: the W3C Server-Timing header (shown by
 * browsers' dev tools), milliseconds in the order given, with an optional description per entry.
 */
export function serverTiming<K extends string>(timings: Record<K, number>, descriptions: Partial<Record<K, string>> = {}): string {
  return (Object.entries(timings) as Array<[K, number]>)
    .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}${descriptions[name] === undefined ? '' : `;desc="${descriptions[name]}"`}`)
    .join(', ');
}
