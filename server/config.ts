/**
 * Environment → one typed, validated Config. Every knob the server reads lives here, so a typo in
 * a deployment (PORT=80a, MAX_BODY_MB=-1) stops the process at start with a clear message instead
 * of misbehaving later.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { availableCores } from './cores.ts';
import { DeviceSetting } from './inference/contract.ts';

const positiveInt = z.coerce.number().int().positive();

/** A comma-separated list, blanks dropped. */
const commaList = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const ConfigSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('0.0.0.0'),
  modelsDir: z.string().min(1).default('./models'),
  /** Largest accepted request body (multipart or raw), in bytes. */
  maxBodyBytes: positiveInt.default(20 * 1024 * 1024),
  /** Largest accepted image, in pixels, checked from the header before decoding. */
  maxInputPixels: positiveInt.default(40_000_000),
  /** Inference worker threads; each holds one onnxruntime session per model. */
  workers: positiveInt.max(64),
  /** onnxruntime intra-op threads per session; workers × threads ≈ cores. */
  threadsPerWorker: positiveInt.max(256),
  /**
   * Intra-op threads for a run that starts while every other worker is idle (CPU only; see the
   * pool's soloThreads). Default: workers × threadsPerWorker, the whole pool's share of the cores.
   * 0 turns it off.
   */
  soloThreads: z.coerce.number().int().min(0).max(256),
  /** Requests waiting per model beyond the running ones; more get 503 + Retry-After. */
  queueLimit: positiveInt.default(64),
  device: DeviceSetting.default('auto'),
  /** The GPU the CUDA provider uses (the only CUDA option onnxruntime-node passes on). */
  cudaDeviceId: z.coerce.number().int().min(0).max(255).default(0),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Longest a SIGTERM drain waits for in-flight requests before exiting anyway. */
  shutdownTimeoutMs: positiveInt.default(10_000),
  /**
   * On SIGTERM, how long /readyz answers 503 while new requests are still accepted, so a load
   * balancer (a Kubernetes Service) stops routing here before the listener closes.
   */
  shutdownDelayMs: z.coerce.number().int().min(0).default(0),
  /** Reload a model when its folder changes (MODELS_WATCH=1). */
  modelsWatch: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  /** Quiet time after the last change in a model folder before the watcher reloads it. */
  modelsWatchDebounceMs: z.coerce.number().int().min(0).max(60_000).default(500),
  /** Bearer keys accepted on /v1/*; none means the API is open. API_KEYS_FILE's keys are added. */
  apiKeys: commaList,
  /** A file with one API key per line (blank lines and # comments ignored). */
  apiKeysFile: z.string().min(1).optional(),
  /** Origins allowed by CORS: `*`, or a comma-separated list; none turns CORS off. */
  corsOrigins: commaList,
});
export type Config = z.infer<typeof ConfigSchema>;

/** Environment variable → Config field. docs/configuration.md documents exactly this table. */
export const ENV_VARS = {
  PORT: 'port',
  HOST: 'host',
  MODELS_DIR: 'modelsDir',
  MAX_BODY_BYTES: 'maxBodyBytes',
  MAX_INPUT_PIXELS: 'maxInputPixels',
  INFERENCE_WORKERS: 'workers',
  INFERENCE_THREADS: 'threadsPerWorker',
  INFERENCE_SOLO_THREADS: 'soloThreads',
  QUEUE_LIMIT: 'queueLimit',
  DEVICE: 'device',
  CUDA_DEVICE_ID: 'cudaDeviceId',
  LOG_LEVEL: 'logLevel',
  SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  SHUTDOWN_DELAY_MS: 'shutdownDelayMs',
  MODELS_WATCH: 'modelsWatch',
  MODELS_WATCH_DEBOUNCE_MS: 'modelsWatchDebounceMs',
  API_KEYS: 'apiKeys',
  API_KEYS_FILE: 'apiKeysFile',
  CORS_ORIGINS: 'corsOrigins',
} as const satisfies Record<string, keyof Config>;

/**
 * Default pool shape for `cores` CPUs: up to 4 workers (parallel requests scale better than
 * intra-op threads on small images), then the remaining cores split as intra-op threads.
 */
export function defaultPoolShape(cores: number): { workers: number; threadsPerWorker: number } {
  const workers = Math.max(1, Math.min(4, cores));
  return { workers, threadsPerWorker: Math.max(1, Math.floor(cores / workers)) };
}

/** Builds the Config from environment variables (unset or empty ones take defaults); throws on bad values. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cores = availableCores(), argv: string[] = []): Config {
  const raw: Record<string, string> = {};
  for (const [variable, field] of Object.entries(ENV_VARS)) {
    const value = env[variable];
    if (value !== undefined && value.trim() !== '') raw[field] = value.trim();
  }
  // `--device X` / `--device=X` on the command line wins over DEVICE.
  const flag = argv.findIndex((arg) => arg === '--device' || arg.startsWith('--device='));
  if (flag >= 0) raw.device = argv[flag]!.includes('=') ? argv[flag]!.slice('--device='.length) : (argv[flag + 1] ?? '');
  const shape = defaultPoolShape(cores);
  const workers = raw.workers === undefined ? shape.workers : Number(raw.workers);
  raw.workers ??= String(shape.workers);
  raw.threadsPerWorker ??= String(Number.isInteger(workers) && workers > 0 ? Math.max(1, Math.floor(cores / workers)) : 1);
  raw.soloThreads ??= String(Number(raw.workers) * Number(raw.threadsPerWorker));
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const fieldToVar = Object.fromEntries(Object.entries(ENV_VARS).map(([k, v]) => [v, k]));
    const problems = result.error.issues.map((i) => `${fieldToVar[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = { ...result.data, modelsDir: path.resolve(result.data.modelsDir) };
  if (config.apiKeysFile !== undefined) config.apiKeys = [...config.apiKeys, ...readKeyFile(config.apiKeysFile)];
  return config;
}

/** One key per line; blank lines and `#` comments are skipped. An unreadable file stops the start. */
function readKeyFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`invalid configuration: API_KEYS_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (keys.length === 0) throw new Error(`invalid configuration: API_KEYS_FILE: ${file} holds no key`);
  return keys;
}
