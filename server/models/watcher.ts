/**
 * MODELS_WATCH=1: watches MODELS_DIR and reloads a model when files in its folder change. Changes
 * are debounced per model (an export writes model.onnx and model.json in several steps), and a
 * reload of one model waits for the previous one, so the last state on disk is what gets served.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.ts';
import type { ModelRepository, VersionedLoader } from './repository.ts';

export interface ModelWatcher {
  close(): void;
}

export function watchModels(repository: ModelRepository, loader: VersionedLoader, logger: Logger, debounceMs: number): ModelWatcher {
  const timers = new Map<string, NodeJS.Timeout>();
  const reload = (name: string) => {
    timers.delete(name);
    repository.reload(name, loader).then(
      (result) => {
        if (!result) return; // not a model folder (or it was removed): nothing to serve
        if (result.error === undefined) logger.info({ model: name, provider: result.entry.provider }, 'model reloaded (folder changed)');
        else logger.warn({ model: name, reason: result.error, serving: result.entry.status }, 'model reload failed (folder changed)');
      },
      (err: unknown) => logger.error({ err, model: name }, 'model reload failed'),
    );
  };
  let watcher: FSWatcher;
  try {
    watcher = watch(repository.dir, { recursive: true }, (_event, filename) => {
      if (!filename) return;
      const name = filename.toString().split(path.sep)[0];
      if (!name || name.startsWith('.')) return;
      clearTimeout(timers.get(name));
      timers.set(name, setTimeout(() => reload(name), debounceMs));
    });
  } catch (err) {
    logger.error({ err, dir: repository.dir }, 'MODELS_WATCH: cannot watch the models folder');
    return { close: () => undefined };
  }
  watcher.on('error', (err) => logger.error({ err }, 'MODELS_WATCH: watcher failed'));
  logger.info({ dir: repository.dir, debounceMs }, 'watching the models folder for changes');
  return {
    close() {
      watcher.close();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
