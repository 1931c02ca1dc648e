/**
 * In-process conversion with the server's own parts: the Config from the environment (MODELS_DIR,
 * INFERENCE_WORKERS, INFERENCE_THREADS, MAX_INPUT_PIXELS), the model repository's validation, the
 * worker pool, the translate pipeline, and for generators the Generator over a dynamic batcher.
 * Only the model the batch asks for is loaded.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type Manifest, tokenize, Vocabulary } from '../../server/shared.ts';
import {
  type Config,
  DEFAULT_BATCHING,
  DynamicBatcher,
  encodeGenerated,
  Generator,
  InferencePool,
  type InputTensor,
  loadConfig,
  ModelRepository,
  resolveBatching,
  servableModel,
  type SessionInfo,
  type SessionLoader,
  settleDeviceSetting,
  translateImage,
  type TranslateModel,
} from '../../server/embedding.ts';
import type { BatchCommand } from './args.ts';
import { UsageError } from './args.ts';
import type { Converted, Converter, PreparedRunner } from './converter.ts';
import type { Task } from './plan.ts';

/** Generated images in flight by default: enough rows for the batcher to fill real batches. */
const GENERATE_CONCURRENCY = 64;

/**
 * Reads the config and the models folder and checks the command against the model's manifest
 * (unknown model, wrong task, a prompt without a known word → UsageError), all before any worker
 * starts, so a mistake is reported in a moment.
 */
export async function prepareLocal(command: BatchCommand, env: NodeJS.ProcessEnv = process.env): Promise<PreparedRunner> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const task: Manifest['task'] = command.kind === 'translate' ? 'image-to-image' : 'conditional-generation';
  // DEVICE=auto without an NVIDIA driver is the CPU, decided once for the repository and the pool.
  config = { ...config, device: settleDeviceSetting(config.device) };
  const repository = await ModelRepository.scan(config.modelsDir, config.device);
  const entry = repository.get(command.model);
  if (!entry) {
    const names = repository.list().map((e) => e.name);
    throw new UsageError(`no model "${command.model}" in MODELS_DIR ${config.modelsDir} (it has: ${names.join(', ') || 'no models'})`);
  }
  const manifest = entry.manifest;
  if (manifest && manifest.task !== task) {
    throw new UsageError(
      `model "${command.model}" is a ${manifest.task} model: use ${command.kind === 'translate' ? 'generate' : 'translate'}`,
    );
  }
  if (
    manifest?.task === 'conditional-generation' &&
    command.kind === 'generate' &&
    command.conditioning.kind === 'prompt' &&
    manifest.text
  ) {
    await checkPrompt(command.conditioning.prompt, path.resolve(entry.dir, manifest.text.vocab), manifest.text.maxTokens);
  }
  return {
    summary:
      manifest?.task === 'conditional-generation'
        ? { classes: manifest.label?.classes, text: manifest.text !== undefined }
        : { text: false },
    start: () => LocalConverter.start(command, config, repository, task, env),
  };
}

/** A prompt with no word of the model's vocabulary would fail every image: refuse it up front. */
async function checkPrompt(prompt: string, vocabPath: string, maxTokens: number): Promise<void> {
  const vocabulary = await Vocabulary.load(vocabPath);
  const { known, ignored } = tokenize(prompt, vocabulary, maxTokens);
  if (known.length === 0) {
    throw new UsageError(
      `--prompt has no word the model knows (${ignored.join(', ')}); known words include: ${vocabulary.words.slice(0, 30).join(', ')}`,
    );
  }
}

/** Loads only `wanted` into the pool; the repository marks every other model as not loaded. */
function loaderFor(wanted: string, pool: InferencePool): SessionLoader {
  return {
    loadModel(model, onnxPath, options): Promise<SessionInfo> {
      if (model !== wanted) return Promise.reject(new Error('not loaded by this batch run'));
      return pool.loadModel(model, onnxPath, options);
    },
    warmup: (model: string, feeds: Record<string, InputTensor>) => pool.warmup(model, feeds),
  };
}

export class LocalConverter implements Converter {
  private constructor(
    private readonly config: Config,
    private readonly pool: InferencePool,
    private readonly command: BatchCommand,
    private readonly model: TranslateModel | null,
    private readonly generator: Generator | null,
  ) {}

  /** Starts the worker pool and loads the model; a model that fails to load → Error with the reason. */
  static async start(
    command: BatchCommand,
    config: Config,
    repository: ModelRepository,
    task: Manifest['task'],
    env: NodeJS.ProcessEnv,
  ): Promise<LocalConverter> {
    // No solo sessions (PoolOptions.soloThreads): a batch keeps every worker busy, so a run that
    // borrowed the idle cores would mostly end up sharing them with the next one.
    const pool = new InferencePool({
      workers: config.workers,
      threadsPerWorker: config.threadsPerWorker,
      device: config.device,
      // The scheduler bounds what is in flight; the queue only has to hold that.
      queueLimit: Math.max(config.queueLimit, command.concurrency ?? 0, GENERATE_CONCURRENCY),
    });
    try {
      await repository.loadAll(loaderFor(command.model, pool));
      // A model that failed to load throws ModelUnavailableError, whose message gives the reason.
      const servable = servableModel(repository, command.model, task);
      if (servable.manifest.task === 'image-to-image') {
        return new LocalConverter(config, pool, command, { name: servable.name, manifest: servable.manifest }, null);
      }
      const batching = resolveBatching(servable.name, servable.manifest.batching, env, {
        ...DEFAULT_BATCHING,
        maxQueue: Number.MAX_SAFE_INTEGER,
      });
      const batcher = new DynamicBatcher(pool, servable.name, servable.manifest.output, batching);
      const generator = await Generator.create(servable.manifest, servable.dir, batcher);
      return new LocalConverter(config, pool, command, null, generator);
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  get description(): string {
    return `in-process (MODELS_DIR ${this.config.modelsDir}): ${this.config.workers} workers × ${this.config.threadsPerWorker} intra-op threads`;
  }

  get defaultConcurrency(): number {
    // One file decoding or encoding on the main thread per busy worker keeps every worker fed.
    return this.generator ? GENERATE_CONCURRENCY : this.pool.concurrency * 2;
  }

  async convert(task: Task): Promise<Converted> {
    if (task.kind === 'translate') {
      const command = this.command as Extract<BatchCommand, { kind: 'translate' }>;
      const bytes = await fs.readFile(task.inputPath);
      const translated = await translateImage(bytes, this.model!, this.pool, {
        format: command.format,
        quality: command.quality,
        maxSide: command.maxSide,
        maxPixels: this.config.maxInputPixels,
      });
      return { body: translated.body };
    }
    const conditioning =
      'label' in task.conditioning
        ? { kind: 'labels' as const, labels: [task.conditioning.label] }
        : { kind: 'prompt' as const, prompt: task.conditioning.prompt };
    const generation = await this.generator!.generate(conditioning, 1, task.seed, { pngScale: 1 });
    return { body: await encodeGenerated(generation.images[0]!, 'png', 1) };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
