/**
 * Conversion on one or more running servers (`--server URL`, repeatable). Each file goes to a
 * healthy server with the fewest requests in flight. A connection error, a timeout or a 502/503/504/429
 * is the server's problem, not the file's: that server cools down (exponential backoff with
 * jitter, at least its Retry-After) and the file is retried on another one. Any other 4xx is the
 * file's problem (corrupt, unsupported) and fails it at once with the server's problem detail.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { sniffFormat } from '../../server/shared.ts';
import { promises as fs } from 'node:fs';
import type { BatchCommand } from './args.ts';
import { UsageError } from './args.ts';
import { errorMessage, type Converted, type Converter, type PreparedRunner } from './converter.ts';
import type { GeneratorSummary, Task } from './plan.ts';

export interface RetryPolicy {
  /** Tries per file and server (so maxAttempts × servers in all) before the file is reported failed. */
  maxAttempts: number;
  /** First cool-down of a failing server; doubles with each further failure in a row. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest one request may take (inference of a large image included). */
  requestTimeoutMs: number;
  /**
   * When every server is failing and none has converted a file for this long, files fail at once
   * instead of each waiting out its attempts (a total outage ends the run in minutes, not hours).
   */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  requestTimeoutMs: 300_000,
  giveUpAfterMs: 60_000,
};

/** Files in flight per server by default. */
const CONCURRENCY_PER_SERVER = 4;

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** The server answered, but could not take the request now. */
class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

interface ServerState {
  url: string;
  inFlight: number;
  /** Failures in a row; 0 after a success. */
  failures: number;
  /** Not used before this time (ms since epoch). */
  coolUntil: number;
}

/** GET /v1/models/{name} on one server: its description, a 404, or why it could not be asked. */
async function describeModel(
  url: string,
  model: string,
): Promise<{ url: string; model: ModelDescription } | { url: string; missing: true } | { url: string; problem: string }> {
  let response: Response;
  try {
    response = await fetch(`${url}/v1/models/${encodeURIComponent(model)}`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    return { url, problem: describeFetchError(err) };
  }
  if (response.status === 404) return { url, missing: true };
  if (!response.ok) return { url, problem: `HTTP ${response.status}` };
  try {
    return { url, model: (await response.json()) as ModelDescription };
  } catch {
    return { url, problem: 'the model description is not JSON' };
  }
}

/** What GET /v1/models/{name} tells about a model. */
interface ModelDescription {
  task?: string | null;
  status?: string;
  reason?: string;
  label?: { classes?: string[] };
  text?: unknown;
}

export class RemoteConverter implements Converter {
  private readonly servers: ServerState[];
  /** Last time any server converted a file (start time until then). */
  private lastSuccessAt = Date.now();
  private lastError = '';

  private constructor(
    urls: string[],
    private readonly command: BatchCommand,
    private readonly retry: RetryPolicy,
    /** What the model takes, as the first server that answered described it. */
    readonly summary: GeneratorSummary,
  ) {
    this.servers = urls.map((url) => ({ url, inFlight: 0, failures: 0, coolUntil: 0 }));
  }

  /**
   * Asks every server about the model: unknown model or wrong task → UsageError; no server
   * answering, or every one that answers reporting the model unavailable → Error with the reasons.
   */
  static async create(command: BatchCommand, retry: RetryPolicy = DEFAULT_RETRY): Promise<RemoteConverter> {
    const wantedTask = command.kind === 'translate' ? 'image-to-image' : 'conditional-generation';
    const answers = await Promise.all(command.servers.map((url) => describeModel(url, command.model)));
    const described = answers.filter((answer): answer is { url: string; model: ModelDescription } => 'model' in answer);
    const problems = answers.flatMap((answer) => ('problem' in answer ? [`${answer.url}: ${answer.problem}`] : []));
    const missing = answers.find((answer) => 'missing' in answer);
    if (missing) throw new UsageError(`server ${missing.url} has no model "${command.model}"`);
    if (described.length === 0) throw new Error(`no server answered for model "${command.model}": ${problems.join('; ')}`);
    const { model } = described[0]!;
    if (model.task && model.task !== wantedTask) {
      throw new UsageError(
        `model "${command.model}" is a ${model.task} model: use ${command.kind === 'translate' ? 'generate' : 'translate'}`,
      );
    }
    if (described.every((answer) => answer.model.status === 'unavailable')) {
      throw new Error(
        `model "${command.model}" is unavailable on every server: ${described.map((a) => `${a.url}: ${a.model.reason ?? 'no reason given'}`).join('; ')}`,
      );
    }
    return new RemoteConverter(command.servers, command, retry, { classes: model.label?.classes, text: model.text !== undefined });
  }

  get description(): string {
    return `remote: ${this.servers.map((s) => s.url).join(', ')}`;
  }

  get defaultConcurrency(): number {
    return this.servers.length * CONCURRENCY_PER_SERVER;
  }

  async convert(task: Task): Promise<Converted> {
    const request = await this.requestFor(task);
    let lastError = '';
    const attempts = this.retry.maxAttempts * this.servers.length;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (this.servers.every((s) => s.failures > 0) && Date.now() - this.lastSuccessAt > this.retry.giveUpAfterMs) {
        const seconds = Math.round((Date.now() - this.lastSuccessAt) / 1000);
        throw new Error(`every server is failing and none has converted a file for ${seconds} s; last: ${this.lastError}`);
      }
      const server = await this.pickServer();
      server.inFlight += 1;
      try {
        const body = await this.send(server.url, request);
        server.failures = 0;
        this.lastSuccessAt = Date.now();
        return attempt > 1 ? { body, server: server.url, retries: attempt - 1 } : { body, server: server.url };
      } catch (err) {
        if (!(err instanceof RetryableError)) throw err;
        lastError = `${server.url}: ${err.message}`;
        this.lastError = lastError;
        server.failures += 1;
        const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (server.failures - 1));
        const jittered = backoff * (0.5 + Math.random() / 2);
        server.coolUntil = Math.max(server.coolUntil, Date.now() + Math.max(jittered, err.retryAfterMs));
      } finally {
        server.inFlight -= 1;
      }
    }
    throw new Error(`gave up after ${attempts} attempts; last: ${lastError}`);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Among the servers not cooling down, the one with the fewest failures in a row, then the fewest
   * requests in flight; when all are cooling down, waits for the first to be usable again.
   */
  private async pickServer(): Promise<ServerState> {
    const now = Date.now();
    const ready = this.servers.filter((s) => s.coolUntil <= now);
    if (ready.length > 0) {
      return ready.reduce((best, s) =>
        s.failures < best.failures || (s.failures === best.failures && s.inFlight < best.inFlight) ? s : best,
      );
    }
    const soonest = this.servers.reduce((best, s) => (s.coolUntil < best.coolUntil ? s : best));
    await sleep(soonest.coolUntil - now);
    return soonest;
  }

  private async requestFor(task: Task): Promise<{ path: string; init: RequestInit }> {
    const model = encodeURIComponent(this.command.model);
    if (task.kind === 'translate') {
      const command = this.command as Extract<BatchCommand, { kind: 'translate' }>;
      const bytes = await fs.readFile(task.inputPath);
      const query = new URLSearchParams({ format: command.format });
      if (command.quality !== undefined) query.set('quality', String(command.quality));
      if (command.maxSide !== undefined) query.set('max_side', String(command.maxSide));
      return {
        path: `/v1/models/${model}/translate?${query}`,
        init: { method: 'POST', body: bytes, headers: { 'Content-Type': contentTypeOf(bytes, task.inputPath) } },
      };
    }
    const conditioning = 'label' in task.conditioning ? { label: task.conditioning.label } : { prompt: task.conditioning.prompt };
    return {
      path: `/v1/models/${model}/generate`,
      init: {
        method: 'POST',
        body: JSON.stringify({ ...conditioning, count: 1, seed: task.seed, format: 'png' }),
        headers: { 'Content-Type': 'application/json', Accept: 'image/png' },
      },
    };
  }

  private async send(server: string, request: { path: string; init: RequestInit }): Promise<Buffer> {
    let response: Response;
    try {
      response = await fetch(server + request.path, { ...request.init, signal: AbortSignal.timeout(this.retry.requestTimeoutMs) });
    } catch (err) {
      throw new RetryableError(describeFetchError(err));
    }
    let body: Buffer;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (err) {
      throw new RetryableError(`the response broke off: ${describeFetchError(err)}`);
    }
    if (response.ok) return body;
    const detail = problemDetail(body) ?? response.statusText;
    if (RETRYABLE_STATUS.has(response.status)) {
      throw new RetryableError(`HTTP ${response.status}: ${detail}`, retryAfterMs(response.headers.get('retry-after')));
    }
    throw new Error(`HTTP ${response.status}: ${detail}`);
  }
}

/** The Content-Type to send: from the leading bytes, else the extension, else octet-stream. */
function contentTypeOf(bytes: Buffer, file: string): string {
  const sniffed = sniffFormat(bytes);
  if (sniffed) return `image/${sniffed}`;
  const extension = path.extname(file).slice(1).toLowerCase();
  return extension === '' ? 'application/octet-stream' : `image/${extension === 'jpg' ? 'jpeg' : extension}`;
}

/** A problem+json body's detail, if that is what the body is. */
function problemDetail(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { detail?: unknown };
    return typeof parsed.detail === 'string' ? parsed.detail : undefined;
  } catch {
    return undefined;
  }
}

function retryAfterMs(header: string | null): number {
  if (header === null) return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now());
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ECONNRESET, a timeout). */
function describeFetchError(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? errorMessage(err);
}

/** The servers' view of the model, checked against the command; nothing more to start. */
export async function prepareRemote(command: BatchCommand, retry: RetryPolicy = DEFAULT_RETRY): Promise<PreparedRunner> {
  const converter = await RemoteConverter.create(command, retry);
  return { summary: converter.summary, start: () => Promise.resolve(converter) };
}
