/**
 * POST and GET /v1/models/{name}/generate: conditional generation. Both forms share one request
 * schema; the response is JSON (every image as base64) when the client asks for
 * application/json, otherwise one picture: the image itself, or a row-major grid for count > 1.
 * Seeded GET responses are byte-for-byte reproducible, so they carry a strong ETag and may be
 * cached; every response names its seed in X-Seed.
 */
import { createHash, randomInt } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { AppDeps } from '../deps.ts';
import type { ConditionalGenerationManifest } from '../../models/manifest.ts';
import type { ModelEntry, ModelRepository } from '../../models/repository.ts';
import { servableModel } from '../../models/servable.ts';
import { DynamicBatcher } from '../../inference/batcher.ts';
import { checkBatchingEnv, DEFAULT_BATCHING, resolveBatching, type BatchingSettings } from '../../inference/batching-settings.ts';
import type { Inference } from '../../inference/contract.ts';
import { composeGrid, upscaleNearest } from '../../imaging/grid.ts';
import { Generator, type Generation } from '../../generation/generator.ts';
import { MAX_SEED } from '../../generation/noise.ts';
import { parseGenerateBody, parseGenerateQuery, type GenerateRequest, type ParseResult } from '../../generation/request.ts';
import { encodeGenerated, encodeRaw, MIME_TYPES } from '../../generation/render.ts';
import { problems } from '../problem.ts';
import { disconnectSignal, serverTiming } from '../request-life.ts';
import type { ServerMetrics } from '../../observability/metrics.ts';

/** How long a seeded GET response may be reused before revalidating with its ETag. */
const SEEDED_MAX_AGE_SECONDS = 86_400;

export function generateRoutes({ config, repository, pool, metrics }: AppDeps): Router {
  checkBatchingEnv(process.env);
  const generators = new GeneratorCache(repository, pool, { ...DEFAULT_BATCHING, maxQueue: config.queueLimit }, process.env);
  const router = Router();
  const handle = (parse: (req: Request) => ParseResult) => async (req: Request<{ name: string }>, res: Response) => {
    const generator = await generators.get(req.params.name);
    const parsed = parse(req);
    if (!parsed.ok) throw problems.badRequest(parsed.problems.join('; '), { errors: parsed.problems });
    await respond(req, res, generator, parsed.request, metrics);
  };
  router.post(
    '/v1/models/:name/generate',
    express.json({ limit: '64kb' }),
    handle((req) => parseGenerateBody(req.body)),
  );
  router.get(
    '/v1/models/:name/generate',
    handle((req) => parseGenerateQuery(req.query as Record<string, unknown>)),
  );
  return router;
}

async function respond(req: Request, res: Response, generator: Generator, request: GenerateRequest, metrics: ServerMetrics): Promise<void> {
  const seed = request.seed ?? randomInt(0, MAX_SEED + 1);
  const mime = MIME_TYPES[request.format];
  const wantsJson = req.accepts([mime, 'application/json']) === 'application/json';
  // Every image its own PNG (not a grid): the inference worker encodes them.
  const pngScale = request.format === 'png' && (wantsJson || request.count === 1) ? request.scale : undefined;
  const generation = await generator.generate(request.conditioning, request.count, seed, { signal: disconnectSignal(res), pngScale });
  const model = generator.manifest.name;
  metrics.batchWaitDuration.observe({ model }, generation.timing.batchWaitMs / 1000);
  res.setHeader('X-Seed', String(seed));
  res.vary('Accept');
  if (generation.ignoredWords && generation.ignoredWords.length > 0) {
    // Percent-encoded: prompt words may hold any Unicode letter, header values may not.
    res.setHeader('X-Ignored-Words', generation.ignoredWords.map(encodeURIComponent).join(','));
  }
  const encodeStarted = performance.now();
  const body = wantsJson ? Buffer.from(JSON.stringify(await jsonBody(generation, request))) : await pictureBody(generation, request);
  const { queueMs, inferenceMs, batchRows } = generation.timing;
  // Here, plus the worker's share for PNGs it made (see pngScale).
  const encodeMs = performance.now() - encodeStarted + generation.timing.encodeMs;
  metrics.encodeDuration.observe({ model }, encodeMs / 1000);
  res.setHeader(
    'Server-Timing',
    serverTiming({ queue: queueMs, inference: inferenceMs, encode: encodeMs }, { inference: `batch of ${batchRows}` }),
  );
  res.type(wantsJson ? 'application/json' : mime);
  if ((req.method === 'GET' || req.method === 'HEAD') && request.seed !== undefined) {
    res.setHeader('Cache-Control', `public, max-age=${SEEDED_MAX_AGE_SECONDS}`);
    res.setHeader('ETag', `"${createHash('sha256').update(body).digest('base64url')}"`);
    if (req.fresh) {
      res.status(304).end();
      return;
    }
  } else {
    res.setHeader('Cache-Control', 'no-store');
  }
  res.send(body);
}

async function jsonBody(generation: Generation, request: GenerateRequest): Promise<Record<string, unknown>> {
  const mime = MIME_TYPES[request.format];
  const images = await Promise.all(
    generation.images.map(async (generated) => ({
      ...(generated.label === undefined ? {} : { label: generated.label, class: generated.className }),
      seed: generated.seed,
      mime,
      data: (await encodeGenerated(generated, request.format, request.scale)).toString('base64'),
    })),
  );
  return {
    images,
    ...(generation.ignoredWords === undefined ? {} : { ignoredWords: generation.ignoredWords }),
    ...(generation.truncatedWords && generation.truncatedWords.length > 0 ? { truncatedWords: generation.truncatedWords } : {}),
  };
}

/** One image as is, or all of them in a grid; then scaled. */
async function pictureBody(generation: Generation, request: GenerateRequest): Promise<Buffer> {
  if (generation.images.length === 1) return encodeGenerated(generation.images[0]!, request.format, request.scale);
  // A grid is generated without pngScale, so every image came back as pixels.
  const grid = composeGrid(generation.images.map((generated) => generated.image!));
  return encodeRaw(upscaleNearest(grid, request.scale), request.format);
}

/**
 * One Generator (and batcher) per loaded model, rebuilt when the repository's entry for the name
 * changes (a reload), so batching always targets the sessions that are live.
 */
class GeneratorCache {
  private readonly cache = new Map<string, { entry: ModelEntry; manifest: ConditionalGenerationManifest; generator: Promise<Generator> }>();

  constructor(
    private readonly repository: ModelRepository,
    private readonly inference: Inference,
    private readonly batchingDefaults: BatchingSettings,
    private readonly env: Record<string, string | undefined>,
  ) {}

  /** The model's generator; 404, 400 (wrong task) or 503 (loading, unavailable) otherwise. */
  async get(name: string): Promise<Generator> {
    const entry = servableModel(this.repository, name, 'conditional-generation');
    const manifest = entry.manifest;
    const cached = this.cache.get(name);
    if (cached && cached.entry === entry && cached.manifest === manifest) return cached.generator;
    const settings = resolveBatching(name, manifest.batching, this.env, this.batchingDefaults);
    const batcher = new DynamicBatcher(this.inference, entry.poolKey, manifest.output, settings);
    const generator = Generator.create(manifest, entry.dir, batcher).catch((error: Error) => {
      this.cache.delete(name);
      throw problems.unavailable(`model "${name}" is unavailable: ${error.message}`);
    });
    this.cache.set(name, { entry, manifest, generator });
    return generator;
  }
}
