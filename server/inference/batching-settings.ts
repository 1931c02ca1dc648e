/**
 * A generator's dynamic batching settings: the defaults, the manifest's `batching`, and the
 * BATCH_* environment variables that override them (globally, or for one model with a suffix).
 * The batcher (batcher.ts) only ever sees the resolved settings.
 */

export interface BatchingSettings {
  /** Most rows in one run; 1 turns batching off. */
  maxBatch: number;
  /**
   * Longest the oldest waiting request holds a partial batch back while a worker is free. It buys
   * bigger batches under moderate load at the price of that much latency on a lone request. The
   * default, 0, is work-conserving: a batch leaves at the end of the event-loop turn its first
   * request arrived in, holding what arrived in that turn and what queued while every worker was busy.
   */
  maxWaitMs: number;
  /** Most requests waiting (not yet fully dispatched); more are refused. */
  maxQueue: number;
}

export const DEFAULT_BATCHING: BatchingSettings = { maxBatch: 32, maxWaitMs: 0, maxQueue: 256 };

/** Environment variables overriding a model's batching; `<VAR>_<MODEL>` applies to one model only. */
export const BATCHING_ENV_VARS = {
  BATCH_MAX_SIZE: 'maxBatch',
  BATCH_MAX_WAIT_MS: 'maxWaitMs',
  BATCH_MAX_QUEUE: 'maxQueue',
} as const satisfies Record<string, keyof BatchingSettings>;

/** `digits-text` → `DIGITS_TEXT`: the suffix of a per-model batching variable. */
export function modelEnvSuffix(model: string): string {
  return model.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * A model's batching: per-model env var, else global env var, else the manifest's `batching`,
 * else the defaults. Throws on a malformed env value.
 */
export function resolveBatching(
  model: string,
  manifest: Partial<BatchingSettings> | undefined,
  env: Record<string, string | undefined> = process.env,
  defaults: BatchingSettings = DEFAULT_BATCHING,
): BatchingSettings {
  const settings: BatchingSettings = { ...defaults, ...definedOnly(manifest ?? {}) };
  for (const [variable, field] of Object.entries(BATCHING_ENV_VARS)) {
    for (const name of [variable, `${variable}_${modelEnvSuffix(model)}`]) {
      const value = envValue(env, name, field);
      if (value !== undefined) settings[field] = value;
    }
  }
  return settings;
}

/**
 * Checks every BATCH_* variable, global or per model, so that a deployment typo stops the server
 * at start instead of failing the first request of that model.
 */
export function checkBatchingEnv(env: Record<string, string | undefined> = process.env): void {
  const variables = Object.entries(BATCHING_ENV_VARS);
  for (const name of Object.keys(env)) {
    const match = variables.find(([variable]) => name === variable || name.startsWith(`${variable}_`));
    if (match) envValue(env, name, match[1]);
  }
}

function envValue(env: Record<string, string | undefined>, name: string, field: keyof BatchingSettings): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  const valid = field === 'maxWaitMs' ? Number.isFinite(value) && value >= 0 && value <= 1000 : Number.isInteger(value) && value >= 1;
  if (!valid) throw new Error(`invalid ${name}=${raw}: expected ${field === 'maxWaitMs' ? 'milliseconds 0..1000' : 'an integer ≥ 1'}`);
  return value;
}

function definedOnly(partial: Partial<BatchingSettings>): Partial<BatchingSettings> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
}
