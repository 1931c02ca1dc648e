/**
 * What runs a job: in-process (the server's worker pool) or on remote servers. Both turn one Task
 * into the bytes of one output file, so the scheduler, writer and report do not care which.
 */
import type { GeneratorSummary, Task } from './plan.ts';

export interface Converted {
  body: Buffer;
  /** The server that produced it (remote runs). */
  server?: string;
  /** Failed tries on other servers (or the same one) before this one worked. */
  retries?: number;
}

export interface Converter {
  /** One line for the run's header, e.g. "in-process: 2 workers × 1 thread". */
  readonly description: string;
  /** Files in flight at once when --concurrency is not given. */
  readonly defaultConcurrency: number;
  /** Throws with a message fit for the report when the file cannot be converted. */
  convert(task: Task): Promise<Converted>;
  /** Frees workers and connections. */
  close(): Promise<void>;
}

/** The first line of an error's message (sharp and onnxruntime append long native traces). */
export function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** A runner whose model was checked against the command, not started yet. */
export interface PreparedRunner {
  /** What the model takes (label classes, text), for planning a generate run. */
  summary: GeneratorSummary;
  /** Starts workers or connections; throws when the model cannot be loaded. */
  start(): Promise<Converter>;
}
