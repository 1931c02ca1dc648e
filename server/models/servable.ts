/** The lookup every per-model request starts with: the model, ready to run, or the reason it is not. */
import { ModelNotFoundError, ModelUnavailableError, WrongTaskError } from '../errors.ts';
import type { Manifest } from './manifest.ts';
import type { ModelEntry, ModelRepository } from './repository.ts';

/** Seconds a client is told to wait for a model that is still loading. */
const LOADING_RETRY_AFTER_SECONDS = 5;

/**
 * The model `name`, ready to run a `task` request. Throws ModelNotFoundError for an unknown name,
 * WrongTaskError when the model does another task, and ModelUnavailableError (with a retry delay
 * while loading) when it cannot serve.
 */
export function servableModel<T extends Manifest['task']>(
  repository: ModelRepository,
  name: string,
  task: T,
): ModelEntry & { manifest: Extract<Manifest, { task: T }> } {
  const entry = repository.get(name);
  if (!entry) throw new ModelNotFoundError(`no model named "${name}"`);
  if (entry.manifest && entry.manifest.task !== task) throw new WrongTaskError(name, entry.manifest.task);
  if (entry.status === 'loading') throw new ModelUnavailableError(`model "${name}" is still loading`, LOADING_RETRY_AFTER_SECONDS);
  if (entry.status === 'unavailable' || !entry.manifest) {
    throw new ModelUnavailableError(`model "${name}" is unavailable: ${entry.reason ?? 'unknown reason'}`);
  }
  return entry as ModelEntry & { manifest: Extract<Manifest, { task: T }> };
}
