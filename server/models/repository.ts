/**
 * The model repository: every `MODELS_DIR/<name>/model.json` with its ONNX file. Each model is
 * checked on its own (manifest schema, name = folder, ONNX file inside the folder, session loads,
 * declared tensor names exist in the graph), so one broken model is listed as `unavailable` with
 * its reason while the others serve.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DeviceSetting, InputTensor, SessionInfo } from '../inference/contract.ts';
import { parseManifest, type Manifest } from './manifest.ts';

export const MANIFEST_FILE = 'model.json';

export type ModelStatus = 'loading' | 'ready' | 'unavailable';

export interface ModelEntry {
  /** The folder name (equal to manifest.name when the manifest is valid). */
  name: string;
  /** Absolute path of the model folder. */
  dir: string;
  /** The validated manifest, or null when model.json is missing or invalid. */
  manifest: Manifest | null;
  /** Absolute path of the ONNX file, once the manifest is valid. */
  onnxPath: string | null;
  status: ModelStatus;
  /** Why the model is unavailable. */
  reason?: string;
  /** Execution provider of the loaded sessions ('cpu', 'cuda', 'webgpu'), or the DEVICE setting until loaded. */
  provider: DeviceSetting | string;
  /** Input and output names of the loaded graph. */
  session?: SessionInfo;
  /**
   * The name of this version's sessions in the inference pool: the model name, then
   * `<name>@<n>` after the n-th reload, so a new version loads beside the old one.
   */
  poolKey: string;
  /** Why the last reload failed (the version listed here kept serving); cleared by a good reload. */
  lastReloadError?: { reason: string; at: string };
}

/** Loads ONNX files into sessions (the inference pool in the server). */
export interface SessionLoader {
  loadModel(model: string, onnxPath: string, options?: { queueLimit?: number; solo?: boolean }): Promise<SessionInfo>;
  warmup(model: string, feeds: Record<string, InputTensor>): Promise<void>;
}

/** A loader that can also retire a version (the inference pool), which reloads need. */
export interface VersionedLoader extends SessionLoader {
  /** Frees a model's sessions once its queued and running requests are done; later requests go to `successor`. */
  unloadModel(model: string, successor?: string): Promise<void>;
}

/** The outcome of a reload: the entry now served, and the failure if the new version was refused. */
export interface ReloadResult {
  entry: ModelEntry;
  error?: string;
}

export class ModelRepository {
  private readonly entries = new Map<string, ModelEntry>();
  /** Reloads done per model (for pool keys), and the reload in progress, so reloads of one model queue. */
  private readonly reloads = new Map<string, { count: number; chain: Promise<unknown> }>();

  private constructor(
    readonly dir: string,
    private readonly device: DeviceSetting,
  ) {}

  /** Reads every model folder's manifest. Never throws for a bad model; a missing MODELS_DIR is empty. */
  static async scan(dir: string, device: DeviceSetting): Promise<ModelRepository> {
    const repository = new ModelRepository(path.resolve(dir), device);
    let folders: string[];
    try {
      const dirents = await fs.readdir(repository.dir, { withFileTypes: true });
      folders = dirents.filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
    } catch {
      folders = [];
    }
    for (const folder of folders.sort()) {
      const entry = await readEntry(path.join(repository.dir, folder), folder, device);
      if (entry) repository.entries.set(folder, entry);
    }
    return repository;
  }

  list(): ModelEntry[] {
    return [...this.entries.values()];
  }

  get(name: string): ModelEntry | undefined {
    return this.entries.get(name);
  }

  /** True once no model is still loading (a repository with no valid model is ready at once). */
  isReady(): boolean {
    return this.list().every((entry) => entry.status !== 'loading');
  }

  /**
   * Loads every model with a valid manifest, one after another (loading is memory- and
   * CPU-heavy), and records ready/unavailable. Calls onLoaded after each model.
   */
  async loadAll(loader: SessionLoader, onLoaded?: (entry: ModelEntry) => void): Promise<void> {
    for (const entry of this.list()) {
      if (entry.status !== 'loading') continue;
      await loadEntry(entry, loader);
      onLoaded?.(entry);
    }
  }

  /**
   * Reads the model's folder again and loads the new version beside the running one, then swaps
   * the entry in one step: requests that already hold the old entry finish on the old sessions,
   * which are freed once idle. A new version that fails (bad manifest, unloadable ONNX, missing
   * tensors, failed warm-up) leaves the old one serving, with the reason in `lastReloadError`.
   * Unknown names whose folder holds no model.json give null.
   */
  reload(name: string, loader: VersionedLoader): Promise<ReloadResult | null> {
    const state = this.reloads.get(name) ?? { count: 0, chain: Promise.resolve() };
    this.reloads.set(name, state);
    const run = state.chain.then(() => this.reloadNow(name, loader, state));
    state.chain = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(name: string, loader: VersionedLoader, state: { count: number }): Promise<ReloadResult | null> {
    const current = this.entries.get(name);
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) return null;
    const fresh = await readEntry(path.join(this.dir, name), name, this.device);
    if (!fresh) return null;
    state.count += 1;
    fresh.poolKey = `${name}@${state.count}`;
    if (fresh.status === 'loading') await loadEntry(fresh, loader);
    const servingBefore = current?.status === 'ready';
    if (fresh.status !== 'ready') {
      if (fresh.session) await loader.unloadModel(fresh.poolKey).catch(() => undefined);
      if (servingBefore) {
        current.lastReloadError = { reason: fresh.reason ?? 'unknown reason', at: new Date().toISOString() };
        return { entry: current, error: current.lastReloadError.reason };
      }
      this.entries.set(name, fresh);
      if (current?.session) void loader.unloadModel(current.poolKey).catch(() => undefined);
      return { entry: fresh, error: fresh.reason };
    }
    this.entries.set(name, fresh);
    if (current?.session) void loader.unloadModel(current.poolKey, fresh.poolKey).catch(() => undefined);
    return { entry: fresh };
  }
}

/** Loads one entry's sessions, checks its tensors and warms it up; marks it ready or unavailable. */
async function loadEntry(entry: ModelEntry, loader: SessionLoader): Promise<void> {
  const manifest = entry.manifest!;
  try {
    // A translation runs for hundreds of milliseconds, so a lone one gains from every core; a
    // generator's run is too short for that (see LoadOptions.solo).
    const session = await loader.loadModel(entry.poolKey, entry.onnxPath!, { queueLimit: manifest.batching?.maxQueue, solo: manifest.task === 'image-to-image' });
    entry.session = session;
    const missing = missingTensorNames(manifest, session);
    const sized = missing.length > 0 ? null : withGraphSize(manifest, session);
    if (sized === null) {
      const graph = `inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`;
      markUnavailable(entry, `the ONNX graph lacks ${missing.join(', ')} (it has ${graph})`);
    } else if (typeof sized === 'string') {
      markUnavailable(entry, sized);
    } else {
      entry.manifest = sized;
      const warmup = warmupFeeds(sized);
      if (warmup) await loader.warmup(entry.poolKey, warmup);
      Object.assign(entry, { status: 'ready', provider: session.provider });
    }
  } catch (err) {
    markUnavailable(entry, `the ONNX model could not be loaded or run: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function markUnavailable(entry: ModelEntry, reason: string): void {
  entry.status = 'unavailable';
  entry.reason = reason;
}

/** One folder → an entry, or null when the folder has no model.json at all (not a model). */
async function readEntry(dir: string, folder: string, device: DeviceSetting): Promise<ModelEntry | null> {
  const entry: ModelEntry = { name: folder, dir, manifest: null, onnxPath: null, status: 'loading', provider: device, poolKey: folder };
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return null;
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(JSON.parse(text));
  } catch (err) {
    markUnavailable(entry, err instanceof SyntaxError ? `model.json is not valid JSON: ${err.message}` : (err as Error).message);
    return entry;
  }
  entry.manifest = manifest;
  if (manifest.name !== folder) {
    markUnavailable(entry, `model.json name "${manifest.name}" does not match its folder "${folder}"`);
    return entry;
  }
  const onnxPath = path.resolve(dir, manifest.onnx);
  const relative = path.relative(dir, onnxPath);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    markUnavailable(entry, `onnx "${manifest.onnx}" is outside the model folder`);
    return entry;
  }
  // Resolve symlinks too: the real file must still live inside the real folder.
  try {
    const [realDir, realFile] = await Promise.all([fs.realpath(dir), fs.realpath(onnxPath)]);
    const realRelative = path.relative(realDir, realFile);
    if (realRelative.startsWith('..') || path.isAbsolute(realRelative)) {
      markUnavailable(entry, `onnx "${manifest.onnx}" links outside the model folder`);
      return entry;
    }
    if (!(await fs.stat(realFile)).isFile()) throw new Error('not a file');
  } catch {
    markUnavailable(entry, `onnx file "${manifest.onnx}" does not exist in the model folder`);
    return entry;
  }
  if (manifest.task === 'conditional-generation' && manifest.text) {
    try {
      await fs.access(path.resolve(dir, manifest.text.vocab));
    } catch {
      markUnavailable(entry, `text.vocab file "${manifest.text.vocab}" does not exist in the model folder`);
      return entry;
    }
  }
  entry.onnxPath = onnxPath;
  return entry;
}

/**
 * An image model whose graph takes one fixed size gets that size in its manifest (input.size), so
 * the pipeline fits images to it; a declared size the graph contradicts is an error (a string).
 */
export function withGraphSize(manifest: Manifest, session: SessionInfo): Manifest | string {
  if (manifest.task !== 'image-to-image') return manifest;
  const { input } = manifest;
  const shape = session.inputShapes[input.name] ?? [];
  const [height, width] = input.layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  const fixed = typeof width === 'number' && typeof height === 'number' && width > 0 && height > 0 ? { width, height } : null;
  if (fixed && input.size && (input.size.width !== fixed.width || input.size.height !== fixed.height)) {
    return `input.size ${input.size.width}×${input.size.height} contradicts the ONNX graph, which takes only ${fixed.width}×${fixed.height} (input "${input.name}" [${shape.join(', ')}])`;
  }
  if (!fixed || input.size) return manifest;
  return { ...manifest, input: { ...input, size: fixed } };
}

/** Tensor names the manifest declares that the graph does not have. */
function missingTensorNames(manifest: Manifest, session: SessionInfo): string[] {
  const inputs =
    manifest.task === 'image-to-image'
      ? [manifest.input.name]
      : [manifest.noise.name, manifest.label?.name, manifest.text?.name].filter((n): n is string => n !== undefined);
  return [
    ...inputs.filter((n) => !session.inputNames.includes(n)).map((n) => `input "${n}"`),
    ...[manifest.output.name].filter((n) => !session.outputNames.includes(n)).map((n) => `output "${n}"`),
  ];
}

/**
 * A batch-of-one input of zeros for the warm-up run: image models at their fixed size, or when the
 * manifest names a warmupSide (a graph may accept only some sizes); generators always.
 */
export function warmupFeeds(manifest: Manifest): Record<string, InputTensor> | null {
  if (manifest.task === 'image-to-image') {
    const { warmupSide, multipleOf, layout, channels, name, size } = manifest.input;
    if (warmupSide === undefined && size === undefined) return null;
    const side = Math.ceil((warmupSide ?? 0) / multipleOf) * multipleOf;
    const [width, height] = size ? [size.width, size.height] : [side, side];
    const dims = layout === 'NCHW' ? [1, channels, height, width] : [1, height, width, channels];
    return { [name]: { type: 'float32', data: new Float32Array(channels * width * height), dims } };
  }
  const feeds: Record<string, InputTensor> = {
    [manifest.noise.name]: { type: 'float32', data: new Float32Array(manifest.noise.dim), dims: [1, manifest.noise.dim] },
  };
  if (manifest.label) feeds[manifest.label.name] = { type: 'int64', data: new BigInt64Array(1), dims: [1] };
  if (manifest.text) {
    const { name, maxTokens } = manifest.text;
    feeds[name] = { type: 'int64', data: new BigInt64Array(maxTokens), dims: [1, maxTokens] };
  }
  return feeds;
}
