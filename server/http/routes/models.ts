/** Model listing, one model's description, and reloads. */
import { Router } from 'express';
import type { ModelEntry } from '../../models/repository.ts';
import type { AppDeps } from '../deps.ts';
import { TASK_ENDPOINTS } from '../endpoints.ts';
import { ProblemError, problems } from '../problem.ts';

/** The public view of a model: what it does, its status, and its tensors in summary. */
function describeModel(entry: ModelEntry): Record<string, unknown> {
  const { manifest } = entry;
  const base = {
    name: entry.name,
    task: manifest?.task ?? null,
    description: manifest?.description ?? '',
    status: entry.status,
    ...(entry.reason === undefined ? {} : { reason: entry.reason }),
    provider: entry.provider,
    ...(entry.lastReloadError === undefined ? {} : { lastReloadError: entry.lastReloadError }),
  };
  if (!manifest) return base;
  const endpoint = `/v1/models/${entry.name}/${TASK_ENDPOINTS[manifest.task]}`;
  if (manifest.task === 'image-to-image') {
    return { ...base, endpoint, input: manifest.input, output: manifest.output };
  }
  return {
    ...base,
    endpoint,
    noise: manifest.noise,
    ...(manifest.label ? { label: manifest.label } : {}),
    ...(manifest.text ? { text: { name: manifest.text.name, maxTokens: manifest.text.maxTokens } } : {}),
    output: manifest.output,
    ...(manifest.batching ? { batching: manifest.batching } : {}),
  };
}

export function modelsRoutes({ repository, pool, logger }: AppDeps): Router {
  const router = Router();
  /**
   * Reloads the model from its folder and swaps it in atomically. 200 with the new version; 422
   * when the new version is broken (the old one keeps serving; the reason is in the body and in
   * lastReloadError); 404 when the folder holds no model.
   */
  router.post('/v1/models/:name/reload', async (req, res) => {
    const name = req.params.name;
    const result = await repository.reload(name, pool);
    if (!result) throw problems.notFound(`no model folder "${name}" with a model.json`);
    if (result.error !== undefined) {
      logger.warn({ model: name, reason: result.error, serving: result.entry.status }, 'model reload failed');
      throw new ProblemError(
        422,
        'reload-failed',
        'Model reload failed',
        `model "${name}" was not reloaded: ${result.error}`,
        {},
        { model: describeModel(result.entry) },
      );
    }
    logger.info({ model: name, provider: result.entry.provider }, 'model reloaded');
    res.json({ reloaded: true, model: describeModel(result.entry) });
  });
  router.get('/v1/models', (_req, res) => {
    res.json({ models: repository.list().map(describeModel) });
  });
  router.get('/v1/models/:name', (req, res) => {
    const entry = repository.get(req.params.name);
    if (!entry) throw problems.notFound(`no model named "${req.params.name}"`);
    res.json(describeModel(entry));
  });
  return router;
}
